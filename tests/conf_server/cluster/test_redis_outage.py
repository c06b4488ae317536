"""When Redis is gone, the Redis store and cluster say so (``store_unavailable``)
within seconds instead of hanging, and work again with their data when it is back.

The hard case is a frozen server (SIGSTOP): its TCP connections stay open and
new ones are even accepted by the kernel, but nothing is ever answered, so only
the client's timeouts can end a call. The outage is played once per module (it
costs seconds) and the tests below judge what was recorded.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from redis_server import RedisServer

from conf_server.cluster.cluster import NodeInfo
from conf_server.cluster.redis_cluster import RedisCluster
from conf_server.cluster.redis_store import RedisStore
from conf_server.cluster.store import StoreUnavailable
from conf_server.domain.meeting_state import MeetingState

#: The promise: a Redis call fails within this many seconds when Redis is down.
PROMISED_SECONDS = 5.0
#: Beyond this a call counts as hanging (and is cancelled by the test).
HANG_SECONDS = 15.0

OPERATIONS = (
    "cluster.heartbeat",
    "cluster.nodes",
    "cluster.claim",
    "store.get",
    "store.update",
    "store.append",
)


@dataclass
class Outcome:
    seconds: float
    error: BaseException | None  # None: the call returned


@dataclass
class Outage:
    during: dict[str, Outcome] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


async def _timed(call: Callable[[], Awaitable[Any]]) -> Outcome:
    start = time.monotonic()
    try:
        await asyncio.wait_for(call(), HANG_SECONDS)
    except Exception as exc:  # asyncio.TimeoutError included: a hang
        return Outcome(time.monotonic() - start, exc)
    return Outcome(time.monotonic() - start, None)


async def _play_outage(server: RedisServer) -> Outage:
    prefix = f"t{secrets.token_hex(4)}:"
    cluster = RedisCluster.from_url(server.url, prefix=prefix)
    # A short lock TTL: a lock request sent while frozen may still be run after.
    store = RedisStore.from_url(server.url, prefix=prefix, lock_ttl=1.0)
    outage = Outage()
    try:
        # Before: a live node hosting a room with a roster, a meeting with a chat.
        await cluster.heartbeat(NodeInfo("a", "http://a.test", rooms=1, participants=2), 60)
        await cluster.claim("r", "a", None)
        await cluster.save_roster("r", [{"id": "p_1", "resume_token": "tok"}], "a")
        await store.create(MeetingState("r"))
        async with store.update("r") as state:
            state.title = "before the outage"
        await store.append("r", "chat", {"id": 1, "text": "hello"}, keep=10)

        async def update() -> None:
            async with store.update("r") as state:
                state.title = "during the outage"

        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "cluster.heartbeat": lambda: cluster.heartbeat(NodeInfo("b", "http://b.test"), 60),
            "cluster.nodes": cluster.nodes,
            "cluster.claim": lambda: cluster.claim("s", "a", None),
            "store.get": lambda: store.get("r"),
            "store.update": update,
            "store.append": lambda: store.append("r", "chat", {"id": 2}, keep=10),
        }
        assert tuple(calls) == OPERATIONS
        server.pause()
        try:
            outcomes = await asyncio.gather(*(_timed(call) for call in calls.values()))
        finally:
            server.resume()
        outage.during = dict(zip(calls, outcomes, strict=True))

        # After: the data of before is there and every operation works again.
        after = outage.after
        after["nodes"] = await cluster.nodes()
        after["owner"] = await cluster.owner("r")
        after["roster"] = await cluster.roster("r")
        after["title"] = (await store.get("r")).title
        after["chat"] = await store.read("r", "chat")
        await cluster.heartbeat(NodeInfo("c", "http://c.test"), 60)
        after["heartbeat_after"] = "c" in {n.name for n in await cluster.nodes()}
        after["claim_after"] = await cluster.claim("t", "c", None)
        async with store.update("r") as state:
            state.title = "after the outage"
        after["update_after"] = (await store.get("r")).title
        await store.append("r", "chat", {"id": 3}, keep=10)
        after["append_after"] = (await store.read("r", "chat"))[-1]
    finally:
        await cluster.close()
        await store.close()
    return outage


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    server = RedisServer(tmp_path_factory.mktemp("redis-outage"))
    try:
        yield asyncio.run(_play_outage(server))
    finally:
        server.resume()  # harmless if running; stop() could not end a frozen server
        server.stop()


def _timings(outage: Outage) -> dict[str, float]:
    return {name: round(outcome.seconds, 2) for name, outcome in outage.during.items()}


def test_every_call_to_a_frozen_redis_fails_with_store_unavailable(outage):
    assert set(outage.during) == set(OPERATIONS)
    for name, outcome in outage.during.items():
        assert isinstance(outcome.error, StoreUnavailable), (name, outcome)
        assert outcome.error.code == "store_unavailable"
        assert outcome.error.status == 503
        assert "unavailable" in outcome.error.message


def test_no_call_to_a_frozen_redis_hangs(outage):
    # Bounded by the client's timeouts (COMMAND_TIMEOUT and one retry), not by luck.
    slowest = max(outcome.seconds for outcome in outage.during.values())
    assert slowest < HANG_SECONDS * 0.7, _timings(outage)


def test_every_call_to_a_frozen_redis_fails_within_five_seconds(outage):
    timings = _timings(outage)
    assert all(seconds < PROMISED_SECONDS for seconds in timings.values()), timings


def test_after_the_outage_the_data_is_intact_and_everything_works(outage):
    after = outage.after
    assert "a" in {n.name for n in after["nodes"]}
    node_a = next(n for n in after["nodes"] if n.name == "a")
    assert (node_a.rooms, node_a.participants) == (1, 2)
    assert after["owner"] == "a"
    assert after["roster"] == [{"id": "p_1", "resume_token": "tok"}]
    assert after["title"] == "before the outage"
    assert after["chat"] == [{"id": 1, "text": "hello"}]
    assert after["heartbeat_after"] is True
    assert after["claim_after"] == "c"
    assert after["update_after"] == "after the outage"
    assert after["append_after"] == {"id": 3}


async def test_a_redis_that_is_gone_is_reported_at_once(tmp_path: Path):
    server = RedisServer(tmp_path)
    cluster = RedisCluster.from_url(server.url, prefix="gone:")
    store = RedisStore.from_url(server.url, prefix="gone:")
    try:
        await store.create(MeetingState("r"))
        await cluster.heartbeat(NodeInfo("a", "http://a.test"), 60)
        server.stop()  # connections are refused: no timeout needed

        async def update() -> None:
            async with store.update("r"):
                pass

        calls = {
            "cluster.heartbeat": lambda: cluster.heartbeat(NodeInfo("a", "http://a.test"), 60),
            "cluster.nodes": cluster.nodes,
            "cluster.claim": lambda: cluster.claim("r", "a", None),
            "cluster.ping": cluster.ping,
            "store.get": lambda: store.get("r"),
            "store.update": update,
            "store.append": lambda: store.append("r", "chat", {"id": 1}, keep=10),
        }
        for name, call in calls.items():
            outcome = await _timed(call)
            assert isinstance(outcome.error, StoreUnavailable), (name, outcome)
            assert outcome.error.code == "store_unavailable"
            assert outcome.seconds < 2.0, (name, outcome.seconds)
    finally:
        await cluster.close()
        await store.close()
        server.stop()
