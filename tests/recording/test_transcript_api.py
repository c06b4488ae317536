"""Transcripts through the REST API: a meeting's transcript and language
settings (an unsupported language refused), the recording's transcript
status, ``GET /api/v1/recordings/{id}/transcript`` in its three formats under
the files' access rules, deletion and retention taking the transcript along,
and transcripts an earlier run left unfinished made at the next start."""

from __future__ import annotations

import asyncio
import json

import pytest
from api_client import call
from openapi_schemas import OpenApiSchemas
from running_server import running
from server_keys import ADMIN_KEY
from signaling_client import SignalingClient
from spoken_media import ALICE_VOICE, make_spoken_recording, needs_espeak, synthesize

import recording.transcript_worker as transcript_worker
from conf_server.http.openapi import openapi_document
from recording.transcript_worker import TranscriptOptions, initial_status

PENDING = initial_status(True, "pocketsphinx", "en-US")


async def new_meeting(server, **fields) -> tuple[int, dict]:
    return await call(server, "POST", "/meetings", ADMIN_KEY, json={"title": "t", **fields})


async def test_a_meeting_language_the_engine_does_not_speak_is_refused(server):
    status, body = await new_meeting(server, language="de-DE")
    assert status == 400
    assert body["error"]["code"] == "transcript_language_unsupported"
    assert "en-US" in body["error"]["message"]
    status, body = await new_meeting(server, language="not a tag!")
    assert status == 400 and body["error"]["code"] == "invalid_request"


async def test_a_meetings_transcript_and_language_settings_are_kept(server):
    status, created = await new_meeting(server, language="en_us")
    assert status == 201
    status, meeting = await call(server, "GET", f"/meetings/{created['meeting_id']}", ADMIN_KEY)
    assert status == 200 and meeting["language"] == "en-US" and meeting["transcript"] is None
    # Not transcribed: any language may be named.
    status, created = await new_meeting(server, transcript=False, language="de-DE")
    assert status == 201
    status, meeting = await call(server, "GET", f"/meetings/{created['meeting_id']}", ADMIN_KEY)
    assert meeting["transcript"] is False and meeting["language"] == "de-DE"
    status, _ = await new_meeting(server, transcript="yes")
    assert status == 400


async def test_transcripts_off_on_the_server_refuse_a_meeting_that_asks(settings):
    async with running(settings, transcript_enabled=False) as server:
        status, body = await new_meeting(server, transcript=True)
        assert status == 400 and body["error"]["code"] == "transcript_disabled"
        status, _ = await new_meeting(server, language="de")  # nothing to transcribe
        assert status == 201


async def record_briefly(server, room: str, **join) -> dict:
    host = SignalingClient(server.url, "Hana")
    await host.connect()
    try:
        await host.join(room, **join)
        await host.call("recording", {"action": "start"})
        await host.call("recording", {"action": "stop"})
    finally:
        await host.close()
    (record,) = [r for r in server.service.recording.library.recordings() if r.get("room") == room]
    return record


async def test_a_meeting_with_transcripts_off_records_without_one(server):
    status, created = await new_meeting(server, room="quiet", transcript=False)
    assert status == 201
    record = await record_briefly(server, "quiet", host_key=created["host_key"])
    assert record["transcript"]["state"] == "disabled"
    status, body = await call(server, "GET", f"/recordings/{record['id']}/transcript", ADMIN_KEY)
    assert status == 404 and body["error"]["code"] == "transcript_disabled"


async def test_a_recording_starts_with_the_meetings_language_pending(server):
    record = await record_briefly(server, "plain")
    status = record["transcript"]
    assert status["language"] == "en-US" and status["engine"] == "pocketsphinx"
    assert status["state"] in ("pending", "transcribing", "ready")


@needs_espeak
async def test_the_transcript_route_serves_three_formats_under_the_files_rules(server, tmp_path):
    library = server.service.recording.library
    speech = synthesize("Thank you for joining the meeting today.", ALICE_VOICE, tmp_path)
    record = make_spoken_recording(library, [("a", "Ada", [(0.5, speech)])], 4.0, PENDING)
    path = f"/recordings/{record['id']}/transcript"
    status, body = await call(server, "GET", path, ADMIN_KEY)
    assert status == 409 and body["error"]["code"] == "transcript_not_ready"
    await asyncio.to_thread(
        transcript_worker.run, str(library.root), record["id"], TranscriptOptions()
    )

    schemas = OpenApiSchemas(openapi_document(server.service.settings))
    status, document = await call(server, "GET", path, ADMIN_KEY)
    assert status == 200 and document["segments"][0]["speaker_name"] == "Ada"
    schemas.check(document, {"$ref": "#/components/schemas/Transcript"})
    status, vtt = await call(server, "GET", path + "?format=vtt", ADMIN_KEY)
    assert status == 200 and vtt.startswith("WEBVTT") and "Ada: " in vtt
    status, text = await call(server, "GET", path + "?format=txt", ADMIN_KEY)
    assert status == 200 and text.startswith("[00:00:00] Ada: ")
    status, meta = await call(server, "GET", f"/recordings/{record['id']}", ADMIN_KEY)
    schemas.check(meta, {"$ref": "#/components/schemas/Recording"})
    assert meta["transcript"]["state"] == "ready" and meta["transcript"]["segments"] == 1

    assert (await call(server, "GET", path))[0] == 401
    assert (await call(server, "GET", path + "?format=srt", ADMIN_KEY))[0] == 400
    assert (await call(server, "GET", "/recordings/" + "x" * 22 + "/transcript", ADMIN_KEY))[
        0
    ] == 404
    # Deleting the recording deletes its transcript with it.
    status, _ = await call(server, "DELETE", f"/recordings/{record['id']}", ADMIN_KEY)
    assert status == 200 and not (library.root / record["id"]).exists()
    assert (await call(server, "GET", path, ADMIN_KEY))[0] == 404


async def test_a_hosts_signed_link_opens_the_transcript_file_it_names(settings):
    async with running(settings, recording_host_download=True) as server:
        library = server.service.recording.library
        record = make_spoken_recording(library, [], 1.0, {**PENDING, "state": "ready"})
        (library.root / record["id"] / "transcript.vtt").write_text("WEBVTT\n")
        token = server.service.download_links.token(record["id"], "transcript.vtt")
        path = f"/recordings/{record['id']}/transcript?download_token={token}"
        status, body = await call(server, "GET", path + "&format=vtt")
        assert status == 200 and body == "WEBVTT\n"
        assert (await call(server, "GET", path + "&format=txt"))[0] == 401
        assert (await call(server, "GET", path.replace(token, "1.x") + "&format=vtt"))[0] == 401


@pytest.mark.parametrize(
    ("transcript", "code"),
    [
        (
            {**PENDING, "state": "failed", "error": "no model", "error_code": "x"},
            "transcript_failed",
        ),
        (None, "no_transcript"),
    ],
)
async def test_a_missing_transcript_says_why(server, transcript, code):
    library = server.service.recording.library
    record = make_spoken_recording(library, [], 1.0, transcript)
    status, body = await call(server, "GET", f"/recordings/{record['id']}/transcript", ADMIN_KEY)
    assert status == 404 and body["error"]["code"] == code


def test_retention_deletes_the_transcript_with_the_recording(tmp_path):
    from recording.library import RecordingLibrary

    library = RecordingLibrary(tmp_path, retention_days=1)
    record = make_spoken_recording(library, [], 1.0, {**PENDING, "state": "ready"})
    (tmp_path / record["id"] / "transcript.vtt").write_text("WEBVTT\n")
    assert library.purge_expired(now=record["started_at"] + 2 * 86400) == [record["id"]]
    assert not (tmp_path / record["id"]).exists()


@needs_espeak
@pytest.mark.timeout(120)
async def test_a_transcript_left_unfinished_is_made_at_the_next_start(settings, tmp_path):
    from recording.library import RecordingLibrary

    library = RecordingLibrary(settings.recordings_dir)
    speech = synthesize("Good morning everyone.", ALICE_VOICE, tmp_path)
    record = make_spoken_recording(
        library, [("a", "Ada", [(0.5, speech)])], 3.0, {**PENDING, "state": "transcribing"}
    )
    record["node"] = settings.node_name
    library.save(record)
    async with running(settings) as server:
        for _ in range(600):
            status = server.service.recording.library.get(record["id"])["transcript"]
            if status["state"] in ("ready", "failed"):
                break
            await asyncio.sleep(0.1)
    assert status["state"] == "ready", status
    document = json.loads((library.root / record["id"] / "transcript.json").read_text())
    assert [s["speaker_name"] for s in document["segments"]] == ["Ada"]
