"""The store contract, run against every backend (memory now; Redis joins here)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from conf_server.cluster.redis_connection import MAX_CONNECTIONS
from conf_server.cluster.redis_store import RedisStore
from conf_server.cluster.store import MeetingStore, MemoryStore, NoMeeting
from conf_server.domain import InvalidAction, PollSpec, Role
from conf_server.domain.meeting_state import MeetingState, Member


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[MeetingStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    server = request.getfixturevalue("redis_server")
    redis_store = RedisStore.from_url(server.url, prefix=f"t{secrets.token_hex(4)}:")
    yield redis_store
    await redis_store.close()


async def test_create_is_create_if_absent_even_concurrently(store):
    attempts = [MeetingState("r", title=f"try {i}") for i in range(10)]
    results = await asyncio.gather(*(store.create(s) for s in attempts))
    created = [state for state, was_created in results if was_created]
    assert len(created) == 1
    assert {state.meeting_id for state, _ in results} == {created[0].meeting_id}
    assert (await store.get("r")).title == created[0].title


async def test_readers_get_copies_and_updates_are_saved(store):
    await store.create(MeetingState("r"))
    copy = await store.get("r")
    copy.title = "changed outside a transaction"
    assert (await store.get("r")).title == ""
    async with store.update("r") as state:
        state.title = "Weekly"
        state.roles.set_role("p_1", Role.HOST)
        state.members["p_1"] = Member("p_1", "Ada", "client:x", 1.0)
        state.hands.raise_hand("p_1", 2.0)
        state.chat.post("p_1", "Ada", "hello", 3.0)
        await store.append("r", "chat", {"id": 1, "text": "hello"}, keep=2)
    saved = await store.get("r")
    assert saved.title == "Weekly"
    assert saved.roles.role_of("p_1") is Role.HOST
    assert saved.hands.order() == ["p_1"]
    # Chat messages live in the log, not in the meeting's JSON; the id counter does.
    assert saved.chat.history() == [] and saved.chat.post("p_1", "Ada", "next", 9.0).id == 2
    assert await store.read("r", "chat") == [{"id": 1, "text": "hello"}]
    assert saved.is_member("p_1")
    assert (await store.find(saved.meeting_id)).room == "r"


async def test_a_failed_update_changes_nothing(store):
    await store.create(MeetingState("r"))
    with pytest.raises(InvalidAction):
        async with store.update("r") as state:
            state.title = "half done"
            state.polls.create(PollSpec("Q?", ["only one"]))  # refused: needs two options
    assert (await store.get("r")).title == ""


async def test_updates_of_one_meeting_never_lose_each_other(store):
    await store.create(MeetingState("r"))

    async def vote(i: int) -> None:
        async with store.update("r") as state:
            await asyncio.sleep(0)  # let the others try to interleave
            state.hands.raise_hand(f"p_{i}", float(i))

    await asyncio.gather(*(vote(i) for i in range(50)))
    assert len((await store.get("r")).hands) == 50


async def test_missing_meetings_and_expiry(store):
    assert await store.get("none") is None
    with pytest.raises(NoMeeting):
        async with store.update("none"):
            pass
    state, _ = await store.create(MeetingState("r"))
    # Long enough that a loaded machine still asks before it expires.
    await store.expire("r", 0.5)
    assert await store.rooms() == ["r"]
    await asyncio.sleep(0.7)
    assert await store.get("r") is None
    assert await store.find(state.meeting_id) is None
    # Kept for good again after expire(None).
    await store.create(MeetingState("s"))
    await store.expire("s", 0.05)
    await store.expire("s", None)
    await asyncio.sleep(0.1)
    assert await store.get("s") is not None
    await store.delete("s")
    assert await store.rooms() == []


async def test_logs_keep_the_newest_items_and_go_with_their_meeting(store):
    await store.create(MeetingState("r"))
    for i in range(5):
        await store.append("r", "chat", {"id": i}, keep=3)
    assert [item["id"] for item in await store.read("r", "chat")] == [2, 3, 4]
    assert await store.read("r", "other") == []
    with pytest.raises(NoMeeting):
        await store.append("none", "chat", {"id": 0}, keep=3)
    await store.delete("r")
    assert await store.read("r", "chat") == []
    await store.create(MeetingState("r"))
    assert await store.read("r", "chat") == []


async def test_two_nodes_on_one_redis_count_every_vote_exactly_once(redis_server):
    prefix = f"t{secrets.token_hex(4)}:"
    node_a = RedisStore.from_url(redis_server.url, prefix=prefix)
    node_b = RedisStore.from_url(redis_server.url, prefix=prefix)
    try:
        await node_a.create(MeetingState("r"))
        async with node_a.update("r") as state:
            poll = state.polls.create(PollSpec("Q?", ["yes", "no"]))
            state.polls.launch(poll.id, 1.0)

        async def vote(node: RedisStore, voter: str, choice: str) -> None:
            async with node.update("r") as state:
                await asyncio.sleep(0)  # let the other node try to interleave
                state.polls.vote(poll.id, voter, [choice], True)

        votes = [
            vote(node_a if i % 2 else node_b, f"p{i}", "o1" if i % 3 else "o2") for i in range(60)
        ]
        await asyncio.gather(*votes)
        tally = (await node_b.get("r")).polls.get(poll.id).tally()
        assert sum(tally.values()) == 60
        assert tally == {"o1": 40, "o2": 20}
    finally:
        await node_a.close()
        await node_b.close()


async def test_a_lock_left_by_a_dead_node_expires(redis_server):
    prefix = f"t{secrets.token_hex(4)}:"
    store = RedisStore.from_url(redis_server.url, prefix=prefix, lock_ttl=0.3)
    try:
        await store.create(MeetingState("r"))
        # A node took the lock and died without releasing it.
        await store._redis.set(f"{prefix}lock:r", "dead-node", px=300)
        async with store.update("r") as state:
            state.title = "after the dead node"
        assert (await store.get("r")).title == "after the dead node"
    finally:
        await store.close()


async def test_a_crowd_of_transactions_queues_in_the_process_not_on_redis(redis_server):
    """200 transactions of one meeting at once in one process (a crowd voting):
    every one is applied exactly once and none is refused as store_unavailable,
    and they wait for their turn in the process: Redis sees about one lock
    request per transaction instead of a herd polling ``SET NX``."""
    store = RedisStore.from_url(redis_server.url, prefix=f"t{secrets.token_hex(4)}:")
    try:
        await store.create(MeetingState("r"))
        before = await _set_calls(store)

        async def one(index: int) -> None:
            async with store.update("r") as state:
                await asyncio.sleep(0)  # others get to queue meanwhile
                state.title = f"{state.title}|{index}" if state.title else str(index)

        await asyncio.gather(*(one(i) for i in range(200)))
        titles = (await store.get("r")).title.split("|")
        assert sorted(map(int, titles)) == list(range(200))
        # Per transaction: one SET NX for the lock and one SET for the state.
        assert await _set_calls(store) - before <= 2 * 200 + 20
    finally:
        await store.close()


async def test_a_burst_beyond_the_connection_pool_waits_for_a_connection(redis_server):
    """More Redis calls at once than the client keeps connections (a burst of
    joins across many rooms): they wait their turn for a connection instead of
    failing with store_unavailable while Redis is fine."""
    store = RedisStore.from_url(redis_server.url, prefix=f"t{secrets.token_hex(4)}:")
    try:
        rooms = [f"r{i}" for i in range(3 * MAX_CONNECTIONS)]
        await asyncio.gather(*(store.create(MeetingState(room)) for room in rooms))
        states = await asyncio.gather(*(store.get(room) for room in rooms))
        assert [state.room for state in states] == rooms
    finally:
        await store.close()


async def _set_calls(store: RedisStore) -> int:
    stats = await store._redis.info("commandstats")
    return int(stats.get("cmdstat_set", {}).get("calls", 0))
