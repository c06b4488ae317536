#!/usr/bin/env python3
"""How fast a leaver's tile disappears for the others: the figure the tests do not assert.

tests/e2e/test_meeting_in_browsers.py checks that a leaver's tile goes well
before the server's reconnect grace would remove it, with a bound a loaded
machine cannot break; this prints how fast, per run and as median / p90 / max.

The real ``conf-server`` process and headless Chromium pages: "Stay" and a
leaver are in a room with video flowing; the leaver either presses Leave
(``button``) or its tab is closed (``close``, the ``pagehide`` path). Timed from
that action until Stay's page shows one tile.

``--load N`` runs N busy loops meanwhile (a loaded CI machine). Runs itself
inside a private network namespace (needs root). Not a test:
``.venv/bin/python scripts/bench_leave.py [--runs 10] [--load 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_support import busy_loops, enter_private_network, machine, summary, use_test_helpers

use_test_helpers("e2e")


async def leave_run(browser: Any, url: str, room: str, how: str) -> float:
    """One leaver: seconds from Leave (or closing its tab) until Stay shows one tile."""
    from e2e_helpers import tile_frames, wait_joined, wait_until

    contexts = []

    async def open_page(name: str) -> Any:
        context = await browser.new_context(
            permissions=["camera", "microphone"], viewport={"width": 1280, "height": 720}
        )
        contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{url}/r/{room}?name={name}&autojoin=1")
        await wait_joined(page, 30)
        return page

    async def sees_video(page: Any) -> bool:
        frames = await tile_frames(page)
        return len(frames) == 1 and all(n > 0 for n in frames.values())

    async def one_tile() -> bool:
        return bool(await stay.locator('[data-testid="tile"]').count() == 1)

    try:
        stay, leaver = await open_page("Stay"), await open_page("Leaver")
        await wait_until(lambda: sees_video(stay), timeout=30)
        loop = asyncio.get_running_loop()
        started = loop.time()
        if how == "button":
            await leaver.click('[data-testid="leave-button"]')
        else:
            await leaver.close()
        await wait_until(one_tile, timeout=30, step=0.02)
        return loop.time() - started
    finally:
        for context in contexts:
            await context.close()


async def bench(runs: int) -> None:
    # Imported here: the namespace must exist before anything opens a socket.
    from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, ServerProcess
    from playwright.async_api import async_playwright

    took: dict[str, list[float]] = {"button": [], "close": []}
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp))
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
                for run in range(runs):
                    for how, seconds in took.items():
                        room = f"leave-{how}-{run}"
                        seconds.append(await leave_run(browser, server.url, room, how))
                        print(
                            f"run {run + 1}, {how}: tile gone after {seconds[-1] * 1000:5.0f} ms",
                            flush=True,
                        )
                await browser.close()
            print(machine())
        finally:
            server.stop()
    for how, seconds in took.items():
        print(summary(f"leave by {how}, action → tile gone", seconds))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="leavers of each kind (default 10)")
    parser.add_argument("--load", type=int, default=0, help="busy-loop processes meanwhile")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    enter_private_network()
    started = time.monotonic()
    with busy_loops(args.load):
        asyncio.run(bench(args.runs))
    print(f"{args.runs} runs, {args.load} busy loops, {time.monotonic() - started:.0f} s")
