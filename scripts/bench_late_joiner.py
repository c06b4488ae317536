#!/usr/bin/env python3
"""How long a late joiner waits for video: the figure the tests do not assert.

Someone joins a room whose publisher has been sending for a while, so the last
keyframe is long gone and the SFU must have the publisher make one. The tests
check that the late joiner gets video (tests/integration/test_media_forwarding.py,
tests/e2e/test_meeting_in_browsers.py) with bounds a loaded machine cannot
break; this prints how fast, per run and as median / p90 / max:

- default: a real server in this process and aiortc participants (the
  integration test's scenario). Per run: from sending ``join`` to the first
  decoded frame, and from the subscriber's track appearing to that frame.
- ``--browser``: the real ``conf-server`` process and headless Chromium pages
  (the end-to-end test's scenario): two pages publish, a third joins, and the
  time from its "joined" state until both remote tiles have decoded a frame.

``--load N`` runs N busy loops meanwhile (a loaded CI machine). Runs itself
inside a private network namespace (needs root). Not a test:
``.venv/bin/python scripts/bench_late_joiner.py [--runs 10] [--browser] [--load 2]``.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web
from bench_support import (
    RoomPages,
    machine,
    run_timing_benchmark,
    sees_remote_videos,
    server_and_chromium,
    summary,
    timing_arguments,
    use_test_helpers,
)

from conf_server import Settings, create_app

use_test_helpers("", "e2e")
from media_peers import CounterVideoTrack, collect_counters  # noqa: E402
from meeting_client import MeetingClient  # noqa: E402

#: The publisher sends this long before the late joiner comes.
HEAD_START = 2.0


async def aiortc_run(url: str, room: str) -> tuple[float, float]:
    """One late joiner: (join → first frame, track → first frame) in seconds."""
    alice, bob = MeetingClient(url, "Alice"), MeetingClient(url, "Bob")
    try:
        await alice.connect()
        publisher = (await alice.join(room))["participant_id"]
        await alice.publish({"camera": CounterVideoTrack()})
        await asyncio.sleep(HEAD_START)
        await bob.connect()
        loop = asyncio.get_running_loop()
        joining = loop.time()
        await bob.join(room)
        await bob.wait_for(lambda: bob.track_of(publisher, "camera") is not None, 30)
        track_at = loop.time()
        await collect_counters(bob.track_of(publisher, "camera"), 1, timeout=30)
        frame_at = loop.time()
    finally:
        bob.auto_answer = False  # no answer to the offers Alice's leaving causes
        await bob.close()
        await alice.close()
    return frame_at - joining, frame_at - track_at


async def aiortc_bench(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", ice_addresses=("127.0.0.1",))
        runner = web.AppRunner(create_app(settings))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        from_join, from_track = [], []
        try:
            for run in range(runs):
                joined, tracked = await aiortc_run(url, f"late-{run}")
                from_join.append(joined)
                from_track.append(tracked)
                print(
                    f"run {run + 1}: join → first frame {joined * 1000:5.0f} ms,"
                    f" track → first frame {tracked * 1000:5.0f} ms",
                    flush=True,
                )
            print(machine())
        finally:
            await runner.cleanup()
    print(summary("aiortc late joiner, join → first frame", from_join))
    print(summary("aiortc late joiner, track → first frame", from_track))


async def browser_run(browser: Any, url: str, room: str) -> float:
    """One late joiner in Chromium: seconds from its "joined" state until both
    remote tiles have decoded a frame."""
    from e2e_helpers import wait_until

    pages = RoomPages(browser, url, room)

    try:
        first, _second = await pages.open("One"), await pages.open("Two")
        await wait_until(lambda: sees_remote_videos(first, 1), timeout=30)
        await asyncio.sleep(HEAD_START)
        late = await pages.open("Late")
        return await wait_until(lambda: sees_remote_videos(late, 2), timeout=30, step=0.02)
    finally:
        await pages.close()


async def browser_bench(runs: int) -> None:
    took: list[float] = []
    async with server_and_chromium() as (browser, url):
        for run in range(runs):
            took.append(await browser_run(browser, url, f"late-{run}"))
            print(f"run {run + 1}: joined → both videos {took[-1] * 1000:5.0f} ms", flush=True)
    print(machine())
    print(summary("browser late joiner, joined → both videos", took))


if __name__ == "__main__":
    options = timing_arguments(__doc__ or "", 10, "late joiners")
    options.add_argument("--browser", action="store_true", help="Chromium pages instead of aiortc")
    run_timing_benchmark(
        options,
        lambda args: browser_bench(args.runs) if args.browser else aiortc_bench(args.runs),
    )
