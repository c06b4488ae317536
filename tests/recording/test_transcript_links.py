"""Where people find a transcript: the meeting report (JSON and the
``recordings`` CSV table) and every Recording name its route and state, the
hosts' "Recordings of this meeting" list signs links to a ready one, and a
finished transcript is announced by the ``recording.transcribed`` webhook."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from api_client import call
from openapi_schemas import OpenApiSchemas
from running_server import running
from server_keys import ADMIN_KEY
from signaling_client import SignalingClient
from spoken_media import make_spoken_recording
from webhook_receiver import Receiver

from conf_server.http.openapi import openapi_document
from recording.library import RecordingLibrary
from recording.transcript_worker import initial_status

PENDING = initial_status(True, "pocketsphinx", "en-US")
READY = {**PENDING, "state": "ready", "progress": 1.0, "segments": 1}


def recording_of(library: RecordingLibrary, meeting_id: str, transcript: Any) -> dict[str, Any]:
    """A finished recording of ``meeting_id`` whose transcript is ``transcript``."""
    record = make_spoken_recording(library, [], 1.0, transcript)
    record["meeting_id"] = meeting_id
    if transcript and transcript["state"] == "ready":
        directory = library.root / record["id"]
        (directory / "transcript.vtt").write_text("WEBVTT\n\n1\n00:00.5 --> 00:01.0\nAda: hi\n")
        (directory / "transcript.txt").write_text("[00:00:00] Ada: hi\n")
        (directory / "transcript.json").write_text('{"segments": []}\n')
        record["transcript"] = {**transcript, "files": ["transcript.json"]}
    library.save(record)
    return record


async def test_the_meeting_report_links_each_recordings_transcript_with_its_state(server):
    status, meeting = await call(server, "POST", "/meetings", ADMIN_KEY, json={"title": "t"})
    assert status == 201, meeting
    meeting_id = meeting["meeting_id"]
    library = server.service.recording.library
    ready = recording_of(library, meeting_id, READY)
    pending = recording_of(library, meeting_id, {**PENDING, "progress": 0.25})
    untranscribed = recording_of(library, meeting_id, None)  # made before transcripts

    status, report = await call(server, "GET", f"/meetings/{meeting_id}/report", ADMIN_KEY)
    assert status == 200
    OpenApiSchemas(openapi_document(server.service.settings)).check(
        report, {"$ref": "#/components/schemas/Report"}
    )
    found = {r["id"]: r["transcript"] for r in report["recordings"]}
    route = f"/api/v1/recordings/{ready['id']}/transcript"
    assert found[ready["id"]]["state"] == "ready" and found[ready["id"]]["url"] == route
    assert found[pending["id"]]["state"] == "pending"
    assert found[untranscribed["id"]] is None
    # The route it names is the transcript, under the files' rules.
    status, vtt = await call(
        server, "GET", route.removeprefix("/api/v1") + "?format=vtt", ADMIN_KEY
    )
    assert status == 200 and "Ada: hi" in vtt
    assert (await call(server, "GET", route.removeprefix("/api/v1")))[0] == 401

    path = f"/meetings/{meeting_id}/report?format=csv&table=recordings"
    status, text = await call(server, "GET", path, ADMIN_KEY)
    assert status == 200
    rows = {row["recording_id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows[ready["id"]]["transcript_state"] == "ready"
    assert rows[ready["id"]]["transcript_url"] == route
    assert rows[pending["id"]]["transcript_progress"] == "0.25"
    assert rows[untranscribed["id"]]["transcript_url"] == ""
    status, body = await call(server, "GET", path.replace("recordings", "speakers"), ADMIN_KEY)
    assert status == 400 and body["error"]["code"] == "invalid_request"


async def test_hosts_get_signed_links_to_a_ready_transcript_only(settings):
    async with running(settings, recording_host_download=True) as server:
        host = SignalingClient(server.url, "Hana")
        await host.connect()
        try:
            await host.join("minutes")
            meeting_id = host.meeting["meeting_id"]
            library = server.service.recording.library
            ready = recording_of(library, meeting_id, READY)
            pending = recording_of(library, meeting_id, PENDING)
            ack = await host.call("recording_links")
        finally:
            await host.close()
        found = {r["id"]: r["transcript"] for r in ack["recordings"]}
        schemas = OpenApiSchemas(openapi_document(settings))
        for recording in ack["recordings"]:
            schemas.check(
                recording["transcript"], {"$ref": "#/components/schemas/TranscriptStatus"}
            )
        assert found[pending["id"]]["links"] == {}
        links = found[ready["id"]]["links"]
        assert sorted(links) == ["json", "txt", "vtt"]
        status, vtt = await call(server, "GET", links["vtt"].removeprefix("/api/v1"))
        assert status == 200 and "Ada: hi" in vtt
        # A link opens its own format only.
        txt_with_vtt_token = links["vtt"].replace("format=vtt", "format=txt")
        assert (await call(server, "GET", txt_with_vtt_token.removeprefix("/api/v1")))[0] == 401


async def test_a_ready_transcript_is_announced_by_the_recording_transcribed_webhook(settings):
    receiver = await Receiver().start()
    try:
        async with running(settings, webhook_allowed_networks=("127.0.0.0/8",)) as server:
            status, _ = await call(
                server,
                "POST",
                "/admin/webhooks",
                ADMIN_KEY,
                json={"url": receiver.url, "events": ["recording.transcribed"]},
            )
            assert status == 201
            library = server.service.recording.library
            # A language the engine does not speak: the transcript fails, unannounced.
            failing = recording_of(library, "m-1", {**PENDING, "language": "xx-XX"})
            silent = recording_of(library, "m-1", PENDING)  # nobody spoke: ready, empty
            transcripts = server.service.recording.transcripts
            transcripts.start(failing["id"])
            transcripts.start(silent["id"])  # one worker: made after the failing one
            (event,) = await receiver.wait_for(1, timeout=30)
            await asyncio.sleep(0.5)
            assert len(receiver.requests) == 1
            failed = library.get(failing["id"])["transcript"]
            assert failed["state"] == "failed"
    finally:
        await receiver.stop()
    body = event.body
    assert body["type"] == "recording.transcribed"
    schemas = OpenApiSchemas(openapi_document(settings))
    schemas.check(body, {"$ref": "#/components/schemas/WebhookEvent"})
    schemas.check(body["data"], {"$ref": "#/components/schemas/RecordingTranscribedData"})
    data = body["data"]
    assert data["recording_id"] == silent["id"] and data["meeting_id"] == "m-1"
    assert data["transcript"]["state"] == "ready" and data["transcript"]["segments"] == 0
    assert data["transcript"]["url"] == f"/api/v1/recordings/{silent['id']}/transcript"
    assert data["recording"]["transcript"] == data["transcript"]
