#!/usr/bin/env python3
"""Where a recording puts one person's video and audio: how late, how far apart.

The scenario of tests/recording/test_room_recorder.py, repeated and measured
instead of bounded: a real server in this process, two aiortc participants,
one publishing a counter video and a beeping microphone from one capture clock
(frame n at t0 + n/30, a beep at t0 + every whole second), a RoomRecorder
attached for ``--seconds``, the files decoded back. Per run it prints how much
later than their capture time the video frames and the beeps sit in the
recording (median; delivery latency plus the publisher's sender-report error)
and the A/V difference (lip sync). The test asserts A/V within 0.1 s and the
timeline within 1 s, bounds a loaded machine cannot break; the figures here are
what to compare between versions. ``--load N`` runs N busy loops meanwhile.

Runs itself inside a private network namespace (needs root).
Not a test: ``.venv/bin/python scripts/bench_av_alignment.py [--runs 5] [--load 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from aiohttp import web
from bench_support import busy_loops, enter_private_network, machine, summary, use_test_helpers

from conf_server import Settings, create_app
from conf_server.http.keys import MEETINGS
from recording.library import RecordingLibrary
from recording.room_recorder import RoomRecorder

use_test_helpers("", "recording")
from av_alignment import av_errors  # noqa: E402
from media_peers import CounterVideoTrack  # noqa: E402
from meeting_client import MeetingClient  # noqa: E402
from recorded_media import BeepAudioTrack, audio_samples, video_frames  # noqa: E402


async def one_run(
    app: web.Application, url: str, room: str, seconds: float, tmp: Path
) -> tuple[float, float]:
    """Record ``seconds`` of one publisher; returns (video, audio) lateness in seconds."""
    alice, bob = MeetingClient(url, "Alice"), MeetingClient(url, "Bob")
    try:
        for client in (alice, bob):
            await client.connect()
            await client.join(room)
        video, audio = CounterVideoTrack(), BeepAudioTrack(660)
        t0 = time.monotonic() + 0.5  # one capture clock for both tracks
        video._start = audio._start = t0
        await alice.publish({"camera": video, "microphone": audio})
        await asyncio.sleep(2.5)  # sender reports have come by now

        library = RecordingLibrary(tmp / room)
        router = app[MEETINGS].media[room].router
        recorder = RoomRecorder(library, router, {"room": room}, lambda pid: pid)
        recorder.start()
        await asyncio.sleep(seconds)
        record = recorder.stop()
    finally:
        bob.auto_answer = False  # no answer to the offers Alice's leaving causes
        await bob.close()
        await alice.close()
    tracks = {t["source"]: t for t in record["tracks"]}
    directory = library.directory(record["id"])
    frames = video_frames(directory / tracks["camera"]["name"])
    start, samples = audio_samples(directory / tracks["microphone"]["name"])
    return av_errors(frames, start, samples, t0 - recorder._started_mono)


async def main(runs: int, seconds: float, load: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", ice_addresses=("127.0.0.1",))
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        videos, audios, apart = [], [], []
        try:
            with busy_loops(load):
                for run in range(runs):
                    video, audio = await one_run(app, url, f"align-{run}", seconds, Path(tmp))
                    videos.append(video)
                    audios.append(audio)
                    apart.append(abs(video - audio))
                    print(
                        f"run {run + 1}: video {video * 1000:6.1f} ms, audio {audio * 1000:6.1f} ms"
                        f" late, A/V apart {abs(video - audio) * 1000:5.1f} ms",
                        flush=True,
                    )
                print(machine())
        finally:
            await runner.cleanup()
    print(f"{runs} runs of {seconds:g} s, {load} busy loops")
    print(summary("video late", videos))
    print(summary("audio late", audios))
    print(summary("A/V apart", apart))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="recordings to make (default 5)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each (default 5)")
    parser.add_argument("--load", type=int, default=0, help="busy-loop processes meanwhile")
    args = parser.parse_args()
    if args.runs < 1 or args.seconds < 3:
        parser.error("--runs must be at least 1 and --seconds at least 3 (three beeps)")
    enter_private_network()
    asyncio.run(main(args.runs, args.seconds, args.load))
