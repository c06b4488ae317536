"""The cluster contract (node registry, room directory, rosters), run against
every backend, and the placement rule :func:`least_loaded`."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from conf_server.cluster.cluster import (
    BUSY_CPU_PERCENT,
    Cluster,
    MemoryCluster,
    NodeInfo,
    least_loaded,
)
from conf_server.cluster.redis_cluster import RedisCluster


@pytest.fixture(params=["memory", "redis"])
async def cluster(request: pytest.FixtureRequest) -> AsyncIterator[Cluster]:
    if request.param == "memory":
        yield MemoryCluster()
        return
    server = request.getfixturevalue("redis_server")
    redis_cluster = RedisCluster.from_url(server.url, prefix=f"t{secrets.token_hex(4)}:")
    yield redis_cluster
    await redis_cluster.close()


def node(name: str, **load: object) -> NodeInfo:
    return NodeInfo(name=name, url=f"http://{name}.test:8080", **load)  # type: ignore[arg-type]


# -- node registry -----------------------------------------------------------------------


async def test_a_heartbeat_makes_a_node_live_until_its_ttl_runs_out(cluster):
    assert await cluster.nodes() == []
    await cluster.heartbeat(node("a"), ttl=0.3)
    await cluster.heartbeat(node("b"), ttl=30)
    assert [n.name for n in await cluster.nodes()] == ["a", "b"]
    await asyncio.sleep(0.45)
    assert [n.name for n in await cluster.nodes()] == ["b"]
    # A new heartbeat brings the node back.
    await cluster.heartbeat(node("a"), ttl=0.3)
    assert [n.name for n in await cluster.nodes()] == ["a", "b"]


async def test_a_heartbeat_renews_the_ttl(cluster):
    await cluster.heartbeat(node("a"), ttl=0.3)
    for _ in range(3):
        await asyncio.sleep(0.15)
        await cluster.heartbeat(node("a"), ttl=0.3)
    assert [n.name for n in await cluster.nodes()] == ["a"]


async def test_leave_removes_a_node_at_once(cluster):
    await cluster.heartbeat(node("a"), ttl=30)
    await cluster.heartbeat(node("b"), ttl=30)
    await cluster.leave("a")
    assert [n.name for n in await cluster.nodes()] == ["b"]
    await cluster.leave("never-there")  # no error
    assert [n.name for n in await cluster.nodes()] == ["b"]


async def test_nodes_are_sorted_by_name_and_keep_their_load(cluster):
    loaded = NodeInfo(
        name="m",
        url="http://m.test:9001",
        rooms=3,
        participants=17,
        packets_per_second=1234.5,
        cpu_percent=42.5,
        draining=True,
        started_at=1_700_000_000.25,
    )
    for info in (node("z"), loaded, node("a")):
        await cluster.heartbeat(info, ttl=30)
    nodes = await cluster.nodes()
    assert [n.name for n in nodes] == ["a", "m", "z"]
    assert nodes[1] == loaded
    assert nodes[0] == node("a")


async def test_the_latest_heartbeat_replaces_the_load(cluster):
    await cluster.heartbeat(node("a", rooms=1, participants=2), ttl=30)
    await cluster.heartbeat(node("a", rooms=5, participants=9, draining=True), ttl=30)
    assert await cluster.nodes() == [node("a", rooms=5, participants=9, draining=True)]


# -- room directory ----------------------------------------------------------------------


async def test_claim_is_compare_and_set(cluster):
    assert await cluster.owner("r") is None
    assert await cluster.claim("r", "a", None) == "a"
    assert await cluster.owner("r") == "a"
    # Somebody else thought the room was free: loses, learns the owner.
    assert await cluster.claim("r", "b", None) == "a"
    # A claim expecting the wrong owner loses too.
    assert await cluster.claim("r", "b", "c") == "a"
    assert await cluster.owner("r") == "a"
    # Takeover: expecting the (dead) owner wins.
    assert await cluster.claim("r", "b", "a") == "b"
    assert await cluster.owner("r") == "b"
    # Re-claiming what one already owns is fine.
    assert await cluster.claim("r", "b", "b") == "b"


async def test_a_takeover_claim_of_a_free_room_loses(cluster):
    # The dead node released the room in between: expecting it finds nobody.
    assert await cluster.claim("r", "b", "a") is None
    assert await cluster.owner("r") is None


async def test_release_only_by_the_owner(cluster):
    await cluster.claim("r", "a", None)
    await cluster.release("r", "b")
    assert await cluster.owner("r") == "a"
    await cluster.release("r", "a")
    assert await cluster.owner("r") is None
    await cluster.release("r", "a")  # releasing a free room is harmless
    assert await cluster.claim("r", "b", None) == "b"


async def test_placements_list_every_hosted_room(cluster):
    assert await cluster.placements() == {}
    await cluster.claim("r1", "a", None)
    await cluster.claim("r2", "b", None)
    await cluster.claim("r3", "a", None)
    await cluster.release("r3", "a")
    assert await cluster.placements() == {"r1": "a", "r2": "b"}
    # A copy: changing it changes nothing.
    (await cluster.placements())["r1"] = "x"
    assert await cluster.owner("r1") == "a"


async def test_concurrent_claims_of_one_room_have_one_winner(cluster):
    results = await asyncio.gather(*(cluster.claim("r", f"n{i:02}", None) for i in range(20)))
    assert len(set(results)) == 1
    assert results[0] in {f"n{i:02}" for i in range(20)}
    assert await cluster.owner("r") == results[0]


async def test_twenty_nodes_on_two_redis_clients_agree_on_one_owner(redis_server):
    prefix = f"t{secrets.token_hex(4)}:"
    first = RedisCluster.from_url(redis_server.url, prefix=prefix)
    second = RedisCluster.from_url(redis_server.url, prefix=prefix)
    try:
        names = [f"node-{i:02}" for i in range(20)]
        claims = [
            (first if i % 2 else second).claim("room", name, None) for i, name in enumerate(names)
        ]
        results = await asyncio.gather(*claims)
        assert len(set(results)) == 1, results
        winner = results[0]
        assert winner in names
        assert await first.owner("room") == winner
        assert await second.owner("room") == winner
        assert await second.placements() == {"room": winner}
    finally:
        await first.close()
        await second.close()


async def test_two_deployments_under_different_prefixes_do_not_see_each_other(redis_server):
    one = RedisCluster.from_url(redis_server.url, prefix=f"t{secrets.token_hex(4)}:")
    other = RedisCluster.from_url(redis_server.url, prefix=f"t{secrets.token_hex(4)}:")
    try:
        await one.heartbeat(node("a"), ttl=30)
        await one.claim("r", "a", None)
        assert await one.save_roster("r", [{"id": "p_1"}], "a")
        assert await other.nodes() == []
        assert await other.placements() == {}
        assert await other.roster("r") == []
    finally:
        await one.close()
        await other.close()


# -- rosters -----------------------------------------------------------------------------


async def test_rosters_round_trip(cluster):
    assert await cluster.roster("r") == []
    await cluster.claim("r", "a", None)
    roster = [
        {"id": "p_1", "name": "Ada", "resume_token": "tok-1", "role": "host"},
        {"id": "p_2", "name": "Bob", "resume_token": "tok-2", "role": "participant"},
    ]
    assert await cluster.save_roster("r", roster, "a")
    assert await cluster.roster("r") == roster
    assert await cluster.roster("other") == []
    # The saved roster is a copy: changing what was given or got changes nothing.
    roster[0]["name"] = "changed"
    (await cluster.roster("r"))[1]["name"] = "changed too"
    assert [e["name"] for e in await cluster.roster("r")] == ["Ada", "Bob"]
    # A new save replaces the old one.
    assert await cluster.save_roster("r", [{"id": "p_3"}], "a")
    assert await cluster.roster("r") == [{"id": "p_3"}]
    await cluster.drop_roster("r", "a")
    assert await cluster.roster("r") == []
    await cluster.drop_roster("r", "a")  # dropping twice is harmless


async def test_only_the_owner_writes_or_drops_a_rooms_roster(cluster):
    # A node that lost its room (cut off from Redis, taken over) must not
    # overwrite or delete the new owner's roster.
    await cluster.claim("r", "a", None)
    assert await cluster.save_roster("r", [{"id": "p_1"}], "a")
    assert await cluster.claim("r", "b", "a") == "b"
    assert not await cluster.save_roster("r", [{"id": "stale"}], "a")
    await cluster.drop_roster("r", "a")
    assert await cluster.roster("r") == [{"id": "p_1"}]
    assert await cluster.save_roster("r", [{"id": "p_2"}], "b")
    assert not await cluster.save_roster("free", [{"id": "x"}], "a")  # nobody owns it
    await cluster.release("r", "b")
    await cluster.drop_roster("r", "a")  # an unowned room's roster may go
    assert await cluster.roster("r") == []


# -- rooms across nodes: satellites ------------------------------------------------------


async def test_a_room_gets_satellites_only_while_it_has_an_owner(cluster):
    assert await cluster.hosts("r") == []
    assert not await cluster.span("r", "b")  # placed nowhere: nothing to span
    assert await cluster.hosts("r") == []
    await cluster.claim("r", "a", None)
    assert await cluster.span("r", "c")
    assert await cluster.span("r", "b")
    assert await cluster.span("r", "b")  # twice is once
    assert await cluster.span("r", "a")  # the owner hosts it already: not a satellite
    assert await cluster.hosts("r") == ["a", "b", "c"]
    assert await cluster.spans() == {"r": ["b", "c"]}
    await cluster.unspan("r", "c")
    await cluster.unspan("r", "c")  # harmless
    assert await cluster.hosts("r") == ["a", "b"]
    await cluster.unspan("r", "b")
    assert await cluster.spans() == {}
    assert await cluster.placements() == {"r": "a"}


async def test_satellites_keep_their_own_rosters(cluster):
    await cluster.claim("r", "a", None)
    await cluster.span("r", "b")
    assert await cluster.save_roster("r", [{"id": "p_a"}], "a")
    assert await cluster.save_roster("r", [{"id": "p_b"}], "b")
    assert not await cluster.save_roster("r", [{"id": "p_c"}], "c")  # hosts nothing
    assert await cluster.roster("r") == [{"id": "p_a"}]  # the owner's
    assert await cluster.rosters("r") == {"a": [{"id": "p_a"}], "b": [{"id": "p_b"}]}
    await cluster.unspan("r", "b")  # its roster goes with it
    assert await cluster.rosters("r") == {"a": [{"id": "p_a"}]}
    assert await cluster.rosters("nowhere") == {}


async def test_the_owner_cedes_the_room_to_a_satellite(cluster):
    await cluster.claim("r", "a", None)
    await cluster.span("r", "b")
    await cluster.span("r", "c")
    await cluster.save_roster("r", [{"id": "p_a"}], "a")
    await cluster.save_roster("r", [{"id": "p_b"}], "b")
    assert await cluster.cede("r", "b", "c") == "a"  # only the owner cedes
    assert await cluster.cede("r", "a", "x") == "a"  # only to a satellite
    assert await cluster.cede("r", "a", "b") == "b"
    assert await cluster.hosts("r") == ["b", "c"]
    # The successor's roster is the room's roster now; the old owner's is gone.
    assert await cluster.roster("r") == [{"id": "p_b"}]
    assert await cluster.rosters("r") == {"b": [{"id": "p_b"}]}
    assert await cluster.spans() == {"r": ["c"]}
    assert await cluster.cede("r", "b", "c") == "c"
    assert await cluster.spans() == {}
    assert await cluster.roster("r") == []  # c had saved none


async def test_a_satellite_that_claims_the_room_is_no_longer_a_satellite(cluster):
    await cluster.claim("r", "a", None)
    await cluster.span("r", "b")
    await cluster.span("r", "c")
    await cluster.save_roster("r", [{"id": "p_b"}], "b")
    assert await cluster.claim("r", "b", "a") == "b"  # a died; b takes over
    assert await cluster.hosts("r") == ["b", "c"]
    assert await cluster.rosters("r") == {}  # b saves its roster as the owner next


async def test_release_forgets_the_satellites_too(cluster):
    await cluster.claim("r", "a", None)
    await cluster.span("r", "b")
    await cluster.save_roster("r", [{"id": "p_b"}], "b")
    await cluster.release("r", "b")  # not the owner: nothing happens
    assert await cluster.hosts("r") == ["a", "b"]
    await cluster.release("r", "a")
    assert await cluster.hosts("r") == []
    assert await cluster.spans() == {}
    await cluster.claim("r", "c", None)
    assert await cluster.rosters("r") == {}
    assert await cluster.hosts("r") == ["c"]


async def test_ping_answers_when_the_backend_is_up(cluster):
    assert await cluster.ping() is None


# -- least_loaded ------------------------------------------------------------------------


def names_in_order(nodes: list[NodeInfo]) -> list[str]:
    """The order in which least_loaded would pick the nodes one after the other."""
    order, left = [], list(nodes)
    while (best := least_loaded(left)) is not None:
        order.append(best.name)
        left.remove(best)
    return order


def test_least_loaded_of_nobody_is_none():
    assert least_loaded([]) is None


def test_draining_nodes_are_never_chosen():
    assert least_loaded([node("a", draining=True), node("b", participants=50)]).name == "b"
    assert least_loaded([node("a", draining=True), node("b", draining=True)]) is None


def test_cpu_bound_nodes_only_when_all_are():
    busy = node("a", cpu_percent=BUSY_CPU_PERCENT)
    assert least_loaded([busy, node("b", participants=99, rooms=9)]).name == "b"
    assert least_loaded([node("b", cpu_percent=99.0, participants=1), busy]).name == "a"
    assert least_loaded([node("b", cpu_percent=BUSY_CPU_PERCENT - 0.1), busy]).name == "b"
    # A CPU-bound node is still better than a draining one, which is never chosen.
    assert least_loaded([busy, node("b", draining=True)]).name == "a"


def test_fewest_participants_then_rooms_then_packets_then_name():
    nodes = [
        node("e", participants=1, rooms=1, packets_per_second=1.0),
        node("d", participants=1, rooms=1, packets_per_second=1.0),
        node("c", participants=1, rooms=1, packets_per_second=0.5),
        node("b", participants=1, rooms=0, packets_per_second=900.0),
        node("a", participants=2, rooms=0, packets_per_second=0.0),
    ]
    assert names_in_order(nodes) == ["b", "c", "d", "e", "a"]


def test_every_node_computes_the_same_choice_whatever_the_order():
    nodes = [node("b"), node("a"), node("c", participants=0, rooms=0)]
    assert least_loaded(nodes).name == "a"
    assert least_loaded(list(reversed(nodes))).name == "a"


def test_least_loaded_ignores_cpu_below_the_threshold():
    # Below BUSY_CPU_PERCENT the processor load plays no part: participants decide.
    nodes = [
        node("a", cpu_percent=80.0, participants=1),
        node("b", cpu_percent=1.0, participants=2),
    ]
    assert least_loaded(nodes).name == "a"


async def test_each_node_publishes_its_own_recordings_into_the_index(cluster):
    first = {"id": "rec-1", "state": "ready", "size": 10}
    second = {"id": "rec-2", "state": "recording", "size": 5}
    await cluster.publish_recordings("node-a", [first, second])
    await cluster.publish_recordings("node-b", [{"id": "rec-3", "state": "ready", "size": 7}])
    indexed = {r["id"]: r for r in await cluster.recordings()}
    assert indexed == {
        "rec-1": {**first, "node": "node-a"},
        "rec-2": {**second, "node": "node-a"},
        "rec-3": {"id": "rec-3", "state": "ready", "size": 7, "node": "node-b"},
    }
    # Republishing replaces that node's entries only: rec-2 was deleted on a.
    await cluster.publish_recordings("node-a", [{**first, "state": "processing"}])
    indexed = {r["id"]: r for r in await cluster.recordings()}
    assert set(indexed) == {"rec-1", "rec-3"}
    assert indexed["rec-1"]["state"] == "processing"
    await cluster.publish_recordings("node-b", [])
    assert [r["id"] for r in await cluster.recordings()] == ["rec-1"]
