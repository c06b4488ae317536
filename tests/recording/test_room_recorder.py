"""RoomRecorder with real aiortc participants: record, pause, resume, stop, decode back."""

from __future__ import annotations

import asyncio
import time

from av_alignment import av_errors
from media_peers import CounterVideoTrack, is_increasing
from recorded_media import BeepAudioTrack, audio_samples, video_frames

from recording.library import RecordingLibrary
from recording.room_recorder import RoomRecorder

#: How far a track's length may be from the recording's on a loaded machine.
EDGE_S = 0.75


async def test_tracks_are_recorded_aligned_and_nothing_while_paused(server, make_client, tmp_path):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("rec")
    await bob.join("rec")
    video, audio = CounterVideoTrack(), BeepAudioTrack(660)
    t0 = time.monotonic() + 0.5  # one clock for both tracks: frame n at t0 + n/30
    video._start = audio._start = t0
    await alice.publish({"camera": video, "microphone": audio})
    await asyncio.sleep(2.5)  # sender reports have come by now

    library = RecordingLibrary(tmp_path / "recordings")
    router = server.service.media["rec"].router
    recorder = RoomRecorder(library, router, {"room": "rec"}, lambda pid: f"name-{pid}")
    recorder.start()
    await asyncio.sleep(3.0)
    recorder.pause()
    await asyncio.sleep(1.5)
    recorder.resume()
    await asyncio.sleep(2.0)
    record = recorder.stop()

    assert record["state"] == "ready"
    assert [p["id"] for p in record["participants"]] == [alice.participant_id]
    tracks = {t["source"]: t for t in record["tracks"]}
    assert set(tracks) == {"camera", "microphone"}
    directory = library.directory(record["id"])
    wall = record["ended_at"] - record["started_at"]
    ((pause_start, pause_end),) = record["pauses"]
    assert abs(record["duration"] - (wall - (pause_end - pause_start))) < 0.1

    frames = video_frames(directory / tracks["camera"]["name"])
    times = [t for t, _ in frames]
    assert is_increasing([c for _, c in frames])
    # Each track spans the recording, pause included (a dropped pause would be
    # 1.5 s short, a wrong clock rate seconds off). Its edges move with load:
    # frames on their way at the start go at its beginning, those on their way
    # at the stop are not in it, and this test's aiortc publisher stamps its
    # sender reports late when busy. Hence EDGE_S, not a percentage.
    assert abs((times[-1] - times[0]) - wall) < EDGE_S, (times[0], times[-1], wall)
    paused = [t for t in times if pause_start + 0.2 < t < pause_end - 0.2]
    assert not paused, (pause_start, pause_end, paused)
    assert [t for t in times if t < pause_start] and [t for t in times if t > pause_end]

    start, samples = audio_samples(directory / tracks["microphone"]["name"])
    assert abs(samples.size / 48000 - wall) < EDGE_S, (start, samples.size / 48000, wall)
    quiet_from, quiet_to = (int((t - start) * 48000) for t in (pause_start + 0.2, pause_end - 0.2))
    in_pause = samples[quiet_from:quiet_to]
    assert in_pause.size > 0 and abs(in_pause).max() == 0

    # Alignment: where each track puts a moment of the shared clock t0. Audio
    # and video sit together within 0.1 s (well inside ITU-R BT.1359's
    # detectability window); idle they are ~10 ms apart. Only an extreme load
    # (10 busy loops on 2 cores) moved them ~0.13 s apart, through this test's
    # aiortc publisher, whose sender reports stamp a packet's send time rather
    # than its capture time. The timeline is the capture clock's: a wrong
    # anchor (e.g. the 2.5 s before recording started) would be off by seconds.
    # How late both sit (tens of ms idle, up to ~0.8 s seen on a loaded machine:
    # the clock offset is measured once, on arrival) is a speed, not checked
    # here: scripts/bench_av_alignment.py measures it.
    video_error, audio_error = av_errors(frames, start, samples, t0 - recorder._started_mono)
    assert abs(video_error - audio_error) < 0.1, (video_error, audio_error)
    assert abs(video_error) < 2.0, (video_error, audio_error)
    print(f"A/V: video {video_error * 1000:.1f} ms, audio {audio_error * 1000:.1f} ms late")
