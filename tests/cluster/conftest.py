"""Fixtures of the multi-node tests: a real redis-server and real conf-server
nodes sharing it (tests/deployment.py)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from deployment import NodeProcess, Workers, registry
from redis_server import RedisServer

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def prefix() -> str:
    return f"t{secrets.token_hex(3)}:"


@pytest.fixture
async def start_nodes(tmp_path: Path, redis: RedisServer, prefix: str) -> AsyncIterator[StartNodes]:
    """``await start_nodes("node-a", "node-b", CONF_X="1")``: nodes that are ready
    and see each other in the registry; all killed after the test."""
    nodes: list[NodeProcess] = []

    async def start(*names: str, **env: str) -> list[NodeProcess]:
        started = [NodeProcess(tmp_path, name, redis.url, prefix, env=env) for name in names]
        nodes.extend(started)
        await asyncio.gather(*(node.wait_ready() for node in started))
        # Every node is in the registry before anybody places a room.
        deadline = time.monotonic() + 10
        while not set(await registry(started[0])) >= {n.name for n in nodes}:
            assert time.monotonic() < deadline, "nodes did not register"
            await asyncio.sleep(0.1)
        return started

    yield start
    for node in nodes:
        node.stop()


@pytest.fixture
async def clients() -> AsyncIterator[list[Any]]:
    """Every client a test makes goes in here and is closed afterwards."""
    made: list[Any] = []
    yield made
    for client in made:
        with contextlib.suppress(Exception):
            await client.close()


@pytest.fixture
async def spanning_workers(
    tmp_path: Path, redis: RedisServer, prefix: str
) -> AsyncIterator[Workers]:
    """``conf-server --workers 2`` whose rooms span the workers from a
    node's third participant on (``room_span_load`` 2)."""
    started = Workers(tmp_path, redis.url, prefix, env={"CONF_ROOM_SPAN_LOAD": "2"})
    try:
        await started.wait_ready()
        yield started
    finally:
        started.stop()
