"""A node with the Redis store stops, however busy its background work is
with Redis at that moment.

On Python 3.11, ``asyncio.wait_for`` loses a cancellation that arrives while
the operation it waits for completes (fixed in 3.12), and redis-py sends
every command under ``wait_for``: a task cancelled in the middle of a Redis
call may simply go on. The node's heartbeat agent did, and the server's
shutdown then waited for it for good (a CI run hung for 180 s in a test's
``server.close()``). Real server, real redis-server; the agent is made to
beat without pause, so nearly every stop lands in a Redis call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from pathlib import Path

import pytest
from redis_server import RedisServer
from running_server import running

from conf_server import Settings

#: A bound for a hang, not a speed.
STOP_WITHIN_SECONDS = 20


@pytest.fixture
def redis(tmp_path: Path):
    server = RedisServer(tmp_path)
    yield server
    server.stop()


async def test_the_server_stops_while_its_node_agent_talks_to_redis(
    settings: Settings, redis: RedisServer
) -> None:
    busy = dataclasses.replace(
        settings, redis_url=redis.url, heartbeat_seconds=0.0005, node_ttl_seconds=5.0
    )
    for attempt in range(15):

        async def start_and_stop() -> None:
            async with running(busy):
                await asyncio.sleep(random.uniform(0.05, 0.15))

        try:
            await asyncio.wait_for(start_and_stop(), STOP_WITHIN_SECONDS)
        except TimeoutError:
            pytest.fail(f"stop {attempt + 1} did not finish within {STOP_WITHIN_SECONDS} s")
