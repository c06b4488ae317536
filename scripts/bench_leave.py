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

import asyncio
from typing import Any

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

use_test_helpers("e2e")


async def leave_run(browser: Any, url: str, room: str, how: str) -> float:
    """One leaver: seconds from Leave (or closing its tab) until Stay shows one tile."""
    from e2e_helpers import wait_until

    pages = RoomPages(browser, url, room)

    async def one_tile() -> bool:
        return bool(await stay.locator('[data-testid="tile"]').count() == 1)

    try:
        stay, leaver = await pages.open("Stay"), await pages.open("Leaver")
        await wait_until(lambda: sees_remote_videos(stay, 1), timeout=30)
        loop = asyncio.get_running_loop()
        started = loop.time()
        if how == "button":
            await leaver.click('[data-testid="leave-button"]')
        else:
            await leaver.close()
        await wait_until(one_tile, timeout=30, step=0.02)
        return loop.time() - started
    finally:
        await pages.close()


async def bench(runs: int) -> None:
    took: dict[str, list[float]] = {"button": [], "close": []}
    async with server_and_chromium() as (browser, url):
        for run in range(runs):
            for how, seconds in took.items():
                seconds.append(await leave_run(browser, url, f"leave-{how}-{run}", how))
                print(
                    f"run {run + 1}, {how}: tile gone after {seconds[-1] * 1000:5.0f} ms",
                    flush=True,
                )
    print(machine())
    for how, seconds in took.items():
        print(summary(f"leave by {how}, action → tile gone", seconds))


if __name__ == "__main__":
    run_timing_benchmark(
        timing_arguments(__doc__ or "", 10, "leavers of each kind"), lambda args: bench(args.runs)
    )
