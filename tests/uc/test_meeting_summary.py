"""meeting.summary end to end: a real server, a real signed-webhook receiver,
real aiortc peers whose media is recorded, rendered and transcribed; exactly
one summary with attendance, the poll (aggregates only), the decisions, and
the recording with its links, after the recording is done (or at the
summary_wait_max_seconds deadline, saying what is still processing)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

from api_client import call
from media_peers import CounterVideoTrack, ToneAudioTrack
from meeting_client import MeetingClient, ProtocolError
from running_server import RunningServer, running
from server_keys import ADMIN_KEY
from webhook_receiver import Receiver

from conf_server import Settings

ESCALATION = {
    "chat_id": "ops-room-7",
    "title": "Checkout is down",
    "initiator": {"user_id": "u-ada", "name": "Ada"},
    "participants": [{"user_id": "u-bob", "name": "Bob"}],
}


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def summaries(receiver: Receiver) -> list[dict[str, Any]]:
    return [r.body for r in receiver.requests if r.body["type"] == "meeting.summary"]


async def wait_for_summary(receiver: Receiver, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not summaries(receiver):
        assert time.monotonic() < deadline, f"no meeting.summary in {timeout} s"
        await asyncio.sleep(0.1)
    return summaries(receiver)[0]


async def recorded_meeting(server: RunningServer, receiver: Receiver) -> tuple[str, str]:
    """An escalated meeting with two people, a poll, decisions and a short
    recording of real media, ended by its host; returns (meeting id, secret)."""
    status, hook = await call(
        server, "POST", "/admin/webhooks", ADMIN_KEY, json={"url": receiver.url}
    )
    assert status == 201, hook
    status, answer = await call(server, "POST", "/escalations", ADMIN_KEY, json=ESCALATION)
    assert status in (200, 201), answer
    ada, bob = MeetingClient(server.url, "x"), MeetingClient(server.url, "y")
    try:
        for client, url in ((ada, answer["host_url"]), (bob, answer["invites"][0]["join_url"])):
            await client.connect()
            await client.join(answer["room"], token=token_of(url))
        await ada.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(440)})
        await ada.call("recording", {"action": "start"})
        poll = await ada.call(
            "poll_create", {"question": "Roll back?", "options": ["Yes", "No"], "anonymous": True}
        )
        poll_id = poll["poll"]["poll_id"]
        await ada.call("poll_launch", {"poll_id": poll_id})
        await bob.call("poll_vote", {"poll_id": poll_id, "option_ids": ["o1"]})
        await ada.call("poll_close", {"poll_id": poll_id})
        kept = await ada.call("mark_decision", {"text": "Roll back to v41 now"})
        dropped = await ada.call("mark_decision", {"text": "Page the DB team"})
        await ada.call("remove_decision", {"id": dropped["decision"]["id"]})
        try:
            await bob.call("mark_decision", {"text": "I decide too"})
            raise AssertionError("a participant marked a decision")
        except ProtocolError as exc:
            assert exc.code == "forbidden"
        await bob.wait_for(
            lambda: any(
                e == "decisions"
                and [d["text"] for d in d_["decisions"]] == ["Roll back to v41 now"]
                for e, d_ in bob.events
            )
        )
        assert kept["decision"]["by_name"] == "Ada"
        await asyncio.sleep(1.5)  # a second or so of media on the record
        await ada.call("end_meeting")
    finally:
        await bob.close()
        await ada.close()
    return answer["meeting_id"], hook["secret"]


async def test_one_summary_after_the_recording_is_ready_and_transcribed(settings: Settings):
    receiver = await Receiver().start()
    try:
        async with running(
            settings, webhook_allowed_networks=("127.0.0.0/8",), recording_host_download=True
        ) as server:
            meeting_id, secret = await recorded_meeting(server, receiver)
            status, report = await call(server, "GET", f"/meetings/{meeting_id}/report", ADMIN_KEY)
            assert status == 200
            assert [d["text"] for d in report["decisions"]] == ["Roll back to v41 now"]
            event = await wait_for_summary(receiver)
            await asyncio.sleep(3 * 1.0 + 2.0)  # more than a check interval: no second one
            assert len(summaries(receiver)) == 1
            (request,) = [r for r in receiver.requests if r.body["type"] == "meeting.summary"]
            assert request.verifies(secret) and not request.verifies("whsec_other")
    finally:
        await receiver.stop()

    by_type = {r.body["type"]: r.body for r in receiver.requests}
    # After meeting.ended and after the recording's own events.
    for earlier in ("meeting.ended", "recording.ready"):
        assert by_type[earlier]["created_at"] <= event["created_at"], earlier
    data = event["data"]
    assert (data["meeting_id"], data["chat_id"], data["title"]) == (
        meeting_id,
        "ops-room-7",
        "Checkout is down",
    )
    assert data["end_reason"] == "ended_by_host" and data["duration"] > 1.0
    people = {p["name"]: p for p in data["attendance"]["participants"]}
    assert set(people) == {"Ada", "Bob"} and people["Bob"]["user_id"] == "u-bob"
    assert all(p["left_at"] is not None and p["seconds"] > 0 for p in people.values())
    (poll,) = data["polls"]
    assert poll["question"] == "Roll back?" and poll["anonymous"] is True
    assert [o["votes"] for o in poll["options"]] == [1, 0]
    assert "ballots" not in str(data["polls"])
    assert [d["text"] for d in data["decisions"]] == ["Roll back to v41 now"]
    assert data["complete"] is True and data["still_processing"] == []
    (recording,) = data["recordings"]
    assert recording["state"] == "ready" and recording["processing"] is False
    assert recording["transcript"]["state"] in ("ready", "failed", "disabled")
    links = recording["links"]
    assert links["recording"] == f"/api/v1/recordings/{recording['id']}"
    assert links["transcript"] == f"/api/v1/recordings/{recording['id']}/transcript"
    assert any("download_token=" in url for url in links["signed"]["files"].values())


async def test_at_the_deadline_the_summary_says_what_is_still_processing(settings: Settings):
    receiver = await Receiver().start()
    try:
        async with running(
            settings, webhook_allowed_networks=("127.0.0.0/8",), summary_wait_max_seconds=0.0
        ) as server:
            await recorded_meeting(server, receiver)
            event = await wait_for_summary(receiver, timeout=30)
            # The recording goes on to be ready; the summary is not sent again.
            deadline = time.monotonic() + 120
            while not any(r.body["type"] == "recording.ready" for r in receiver.requests):
                assert time.monotonic() < deadline, "the recording never became ready"
                await asyncio.sleep(0.2)
            await asyncio.sleep(6.0)
            assert len(summaries(receiver)) == 1
    finally:
        await receiver.stop()
    data = event["data"]
    (recording,) = data["recordings"]
    assert data["complete"] is False and data["still_processing"] == [recording["id"]]
    assert recording["processing"] is True and "signed" not in recording["links"]


async def test_meetings_without_an_end_get_no_summary_and_bad_decisions_are_refused(
    settings: Settings,
):
    settings = dataclasses.replace(settings, webhook_allowed_networks=("127.0.0.0/8",))
    receiver = await Receiver().start()
    try:
        async with running(settings) as server:
            await call(server, "POST", "/admin/webhooks", ADMIN_KEY, json={"url": receiver.url})
            host = MeetingClient(server.url, "Hana")
            await host.connect()
            await host.join("plain")
            errors = {}
            for payload in ({"text": ""}, {"text": "x" * 2001}, {"text": 5}, {"id": "1"}, {}):
                event = "remove_decision" if "id" in payload else "mark_decision"
                ack = await host.call(event, payload, raw=True)
                errors[str(payload)[:20]] = ack["error"]["code"]
            assert set(errors.values()) == {
                "invalid_message",
                "message_too_long",
                "invalid_payload",
            }
            ack = await host.call("remove_decision", {"id": 7}, raw=True)
            assert ack["error"]["code"] == "unknown_decision"
            await asyncio.sleep(1.0)
            assert summaries(receiver) == []
            await host.close()
    finally:
        await receiver.stop()
