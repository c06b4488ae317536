"""The recording's event timeline: joins and leaves, hands, polls, chat and
pauses, on the recording's clock, in timeline.jsonl beside the media."""

from __future__ import annotations

import asyncio

from api_client import call
from server_keys import ADMIN_KEY

from recording.timeline import TIMELINE_FILE, read_timeline


async def test_meeting_events_land_on_the_recording_timeline(server, make_member):
    host = await make_member("Hana", room="tl")
    ada = await make_member("Ada", room="tl")
    ack = await host.call("recording", {"action": "start"})
    assert ack["recording"]["state"] == "recording"
    recording_id = next(iter(server.service.recording.recorders.values())).id
    await asyncio.sleep(0.05)
    bob = await make_member("Bob", room="tl")
    await ada.call("raise_hand")
    await bob.call("chat_send", {"text": "hello, recorded world"})
    poll = await host.call("poll_create", {"question": "Ship it?", "options": ["Yes", "No"]})
    await host.call("poll_launch", {"poll_id": poll["poll"]["poll_id"]})
    await ada.call("poll_vote", {"poll_id": poll["poll"]["poll_id"], "option_ids": ["o1"]})
    await host.call("poll_close", {"poll_id": poll["poll"]["poll_id"]})
    await host.call("recording", {"action": "pause"})
    await host.call("recording", {"action": "resume"})
    await bob.call("leave")
    await host.call("recording", {"action": "stop"})

    directory = server.service.recording.library.directory(recording_id)
    events = read_timeline(directory / TIMELINE_FILE)
    kinds = [event["type"] for event in events]
    assert kinds[0] == "recording.started" and kinds[-1] == "recording.stopped"
    for kind in (
        "participant.present",
        "participant.joined",
        "hands",
        "chat.message",
        "poll.launched",
        "poll.closed",
        "recording.paused",
        "recording.resumed",
        "participant.left",
    ):
        assert kind in kinds, kind
    times = [event["t"] for event in events]
    assert times == sorted(times) and times[0] >= 0
    present = {e["name"] for e in events if e["type"] == "participant.present"}
    assert present == {"Hana", "Ada"}
    joined = next(e for e in events if e["type"] == "participant.joined")
    assert joined["name"] == "Bob"
    chat = next(e for e in events if e["type"] == "chat.message")
    assert chat["message"]["text"] == "hello, recorded world"
    closed = next(e for e in events if e["type"] == "poll.closed")
    assert [o["votes"] for o in closed["poll"]["options"]] == [1, 0]
    # Listed with the recording and downloadable like its media.
    status, record = await call(server, "GET", f"/recordings/{recording_id}", ADMIN_KEY)
    assert status == 200 and TIMELINE_FILE in {f["name"] for f in record["files"]}
