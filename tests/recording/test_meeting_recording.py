"""A meeting recorded end to end: a host starts it over Socket.IO, people publish
real media, someone joins and leaves mid-way, the room empties, and the
recording is ready with one file per track and a ``recording.ready`` event."""

from __future__ import annotations

import asyncio
from typing import Any

from media_peers import CounterVideoTrack, ToneAudioTrack, is_increasing
from recorded_media import audio_samples, video_frames


class Events:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, event_type: str, data: dict[str, Any]) -> None:
        self.published.append((event_type, data))


async def test_a_recorded_meeting_ends_ready_with_every_track(server, make_client):
    events = Events()
    server.service.publisher = events
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("recorded")
    await bob.join("recorded")
    await alice.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(440)})
    ack = await alice.call("recording", {"action": "start"})
    assert ack["recording"]["state"] == "recording"
    await asyncio.sleep(1.5)
    # Bob publishes later: his tracks join the recording as they appear.
    await bob.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(660)})
    await asyncio.sleep(2.0)
    running = server.service.recording.library_now().recordings()[0]
    assert running["state"] == "recording" and running["duration"] > 3.0
    await bob.close()
    await alice.close()
    for _ in range(300):  # the composite is rendered first, in a worker process
        if any(kind == "recording.ready" for kind, _ in events.published):
            break
        await asyncio.sleep(0.1)

    (data,) = [d for k, d in events.published if k == "recording.ready"]
    record = data["recording"]
    assert data["room"] == "recorded" and data["recording_id"] == record["id"]
    assert record["state"] == "ready"
    names = {p["name"] for p in record["participants"]}
    assert names == {"Alice", "Bob"}
    assert sorted(
        (t["participant_id"] == alice.participant_id, t["kind"]) for t in record["tracks"]
    ) == [
        (False, "audio"),
        (False, "video"),
        (True, "audio"),
        (True, "video"),
    ]
    directory = server.service.recording.library.directory(record["id"])
    for track in record["tracks"]:
        path = directory / track["name"]
        if track["kind"] == "video":
            frames = video_frames(path)
            assert is_increasing([c for _, c in frames])
            assert abs(frames[0][0] - track["start"]) < 0.05
        else:
            _start, samples = audio_samples(path)
            assert samples.size > 48000
    bob_video = next(
        t
        for t in record["tracks"]
        if t["participant_id"] == bob.participant_id and t["kind"] == "video"
    )
    assert 1.0 < bob_video["start"] < 3.0
