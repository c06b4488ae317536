"""Owned background tasks stop when their owner closes, even a task that
goes on after one cancellation (sfu/tasks.py). On Python 3.11
``asyncio.wait_for`` loses a cancellation that meets the completion of what
it waits for, and redis-py sends every command under it; the real case is in
tests/conf_server/cluster/test_stop_during_redis_calls.py."""

from __future__ import annotations

import asyncio
import contextlib

from sfu.tasks import TaskGroup, cancel_and_wait


async def loses_its_first_cancellation() -> None:
    """Goes on after the first cancel, as a loop over Redis may."""
    with contextlib.suppress(asyncio.CancelledError):  # lost
        await asyncio.Event().wait()
    await asyncio.Event().wait()


async def test_cancel_all_stops_a_task_that_lost_a_cancellation() -> None:
    tasks = TaskGroup("test")
    going_on = tasks.spawn(loses_its_first_cancellation())
    await asyncio.sleep(0.01)
    await asyncio.wait_for(tasks.cancel_all(), 10)
    assert going_on.cancelled()
    assert len(tasks) == 0


async def test_cancel_and_wait_returns_for_ended_and_failed_tasks_too() -> None:
    async def fails() -> None:
        raise ValueError("boom")

    async def quick() -> int:
        return 1

    failed = asyncio.create_task(fails())
    done = asyncio.create_task(quick())
    going_on = asyncio.create_task(loses_its_first_cancellation())
    await asyncio.sleep(0.01)
    await asyncio.wait_for(cancel_and_wait(failed, done, going_on), 10)
    assert isinstance(failed.exception(), ValueError)
    assert done.result() == 1
    assert going_on.cancelled()
