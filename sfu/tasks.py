"""Owned background tasks: every task the SFU starts has an owner that cancels it on close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)

#: Seconds between cancellations of a task that went on after the last one.
RECANCEL_SECONDS = 0.5


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel ``tasks`` and wait until every one of them has ended.

    A task that goes on after its cancellation is cancelled again every
    ``RECANCEL_SECONDS``. On Python 3.11 ``asyncio.wait_for`` loses a
    cancellation that arrives as the operation it waits for completes (fixed
    in 3.12), and redis-py sends every command under ``wait_for``: one cancel
    of a task busy with Redis is lost more often than not, and an ``await``
    of that task after it never returned (a server's shutdown hung for good).
    The tasks' exceptions are retrieved, not raised: they are being stopped.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: no "never retrieved" warning


class TaskGroup:
    """A set of fire-and-forget tasks that are all cancelled by ``cancel_all``."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("task of %s failed", self._owner, exc_info=task.exception())

    def __len__(self) -> int:
        return len(self._tasks)

    async def cancel_all(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks.clear()
