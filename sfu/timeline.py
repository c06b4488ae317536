"""Where a join's time goes: its steps on the server, each logged with the
wall-clock time in epoch milliseconds (comparable with a browser's
``performance.timeOrigin + performance.now()``), and the event loop's stalls.

Off by default: the ``conf.timeline`` logger logs only at DEBUG, which the
``join_timeline`` setting turns on (docs/configuration.md);
scripts/bench_join.py reads the lines (docs/performance.md, *Joining*). Off, a
step costs one level check, so steps may sit on paths taken once per join or
per negotiation, never per packet.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
import threading
import time
import traceback
from pathlib import Path

LOGGER = logging.getLogger("conf.timeline")

#: How often the stall watchdog wakes (s), and how late a wake-up must be to be logged.
WATCH_PERIOD_S = 0.02
STALL_S = 0.05


def enabled() -> bool:
    """Is the timeline being logged?"""
    return LOGGER.isEnabledFor(logging.DEBUG)


def step(who: str, what: str) -> None:
    """Log that ``who`` (a participant id, or a socket id before the join is
    admitted) reached step ``what`` now."""
    if LOGGER.isEnabledFor(logging.DEBUG):
        LOGGER.debug("timeline %.1f %s %s", time.time() * 1000, who, what)


async def watch_stalls() -> None:
    """Log each time the event loop ran nothing else for more than
    ``STALL_S`` (a long callback, or the process not scheduled): the waits
    a join's steps cannot show. A thread samples where the loop is stuck
    meanwhile (``stuck at: ...``, innermost frame first). Runs until cancelled."""
    loop = asyncio.get_running_loop()
    beat = [time.monotonic()]
    stop = threading.Event()
    sampler = threading.Thread(
        target=_sample_stalls,
        args=(beat, threading.get_ident(), stop),
        name="stall sampler",
        daemon=True,
    )
    sampler.start()
    try:
        while True:
            before = loop.time()
            await asyncio.sleep(WATCH_PERIOD_S)
            beat[0] = time.monotonic()
            late = loop.time() - before - WATCH_PERIOD_S
            if late > STALL_S:
                step("loop", f"stalled {late * 1000:.0f} ms")
    finally:
        stop.set()


def _sample_stalls(beat: list[float], loop_thread: int, stop: threading.Event) -> None:
    """In a thread: while the loop's heartbeat (``beat``) is older than
    ``STALL_S``, log the loop thread's stack, at most twice per stall (early
    and, for a long one, later)."""
    samples = 0
    last = beat[0]
    while not stop.wait(WATCH_PERIOD_S):
        if beat[0] != last:
            last, samples = beat[0], 0
        stuck = time.monotonic() - last
        if samples < 2 and stuck > STALL_S * (1 + 3 * samples):
            samples += 1
            frame = sys._current_frames().get(loop_thread)
            if frame is not None:
                frames = itertools.islice(traceback.walk_stack(frame), 8)
                where = " < ".join(
                    f"{Path(f.f_code.co_filename).name}:{line} {f.f_code.co_name}"
                    for f, line in frames
                )
                step("loop", f"stuck {stuck * 1000:.0f} ms at: {where}")
