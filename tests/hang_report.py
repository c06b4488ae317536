"""What a hung asyncio test was waiting on, printed before pytest-timeout fails it.

pytest-timeout prints every thread's stack; a hung asyncio test shows only
its event loop idling in ``select()``, which says nothing about the await
that never returned. A few seconds before a test's timeout this plugin asks
each running event loop to print its pending tasks: their stacks and what
each waits on. The report lands in the test's captured output.
"""

from __future__ import annotations

import asyncio
import gc
import linecache
import sys
import threading
from collections.abc import Generator
from typing import Any

import pytest

#: Seconds before the timeout at which the tasks are printed.
LEAD_SECONDS = 3.0

_TIMER = pytest.StashKey[threading.Timer]()


@pytest.hookimpl(hookwrapper=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> Generator[None, None, None]:
    yield
    timeout = getattr(settings, "timeout", None)
    if not timeout or timeout <= 2 * LEAD_SECONDS:
        return
    timer = threading.Timer(timeout - LEAD_SECONDS, _ask_running_loops, args=(item.nodeid,))
    timer.daemon = True
    timer.start()
    item.stash[_TIMER] = timer


@pytest.hookimpl(hookwrapper=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> Generator[None, None, None]:
    timer = item.stash.get(_TIMER, None)
    if timer is not None:
        timer.cancel()
        del item.stash[_TIMER]
    yield


def _ask_running_loops(nodeid: str) -> None:
    """From the timer's thread: each running loop prints its own tasks (in
    its own thread, where reading them is safe)."""
    for thing in gc.get_objects():
        if isinstance(thing, asyncio.AbstractEventLoop) and thing.is_running():
            thing.call_soon_threadsafe(print_pending_tasks, thing, nodeid)


def print_pending_tasks(loop: asyncio.AbstractEventLoop, nodeid: str) -> None:
    """Every pending task of ``loop``: what it waits on and where."""
    out = sys.stdout
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    print(f"\n===== {nodeid} is about to time out: {len(tasks)} pending tasks =====", file=out)
    for task in tasks:
        print(f"--- {task!r}", file=out)
        for line in awaited_chain(task.get_coro()):
            print(line, file=out)
    out.flush()


def awaited_chain(awaitable: Any) -> list[str]:
    """The chain of awaits from a task's coroutine down to what it waits on.
    (``Task.print_stack`` shows only the outermost frame of a suspended task.)"""
    lines = []
    for _ in range(100):  # a bound: the chain is short, but never loop forever
        frame = (
            getattr(awaitable, "cr_frame", None)
            or getattr(awaitable, "gi_frame", None)
            or getattr(awaitable, "ag_frame", None)
        )
        if frame is None:
            if awaitable is not None:
                lines.append(f"  waiting on {awaitable!r}"[:500])
            break
        code = frame.f_code
        lines.append(f'  File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}')
        source = linecache.getline(code.co_filename, frame.f_lineno).strip()
        if source:
            lines.append(f"    {source}")
        awaitable = (
            getattr(awaitable, "cr_await", None)
            or getattr(awaitable, "gi_yieldfrom", None)
            or getattr(awaitable, "ag_await", None)
        )
    return lines
