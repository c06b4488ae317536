"""Nodes that no longer host a room that spans nodes stop being listed as
its hosts (issue 17, point 3): a draining owner unspans the satellites that
left the registry before it hands the room over, and a satellite with
nobody of the room left stops hosting it.

The real ``NodeAgent`` and in-memory cluster; the meeting service around
the agent is reduced to the rooms it hosts (tests/cluster/ has the same
with real nodes where it can be shown there without racing a sweep)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from conf_server.cluster import node as node_module
from conf_server.cluster.cluster import MemoryCluster, NodeInfo
from conf_server.cluster.node import NodeAgent
from conf_server.settings import Settings

ROOM = "leftovers"


class Rooms:
    """The meeting service as the agent sees it: the rooms it hosts, and
    what the cluster said of a room when it was handed over."""

    def __init__(self, cluster: MemoryCluster, rooms: set[str]) -> None:
        self.cluster = cluster
        self.rooms = rooms
        #: (room, target, the room's hosts, its saved rosters) per hand-over.
        self.handed: list[tuple[str, str | None, list[str], list[str]]] = []

    def load(self) -> tuple[int, int, int]:
        return len(self.rooms), 0, 0

    async def adopt(self, room: str) -> int | None:
        return None

    async def save_roster(self, room: str) -> None:
        return None

    async def hand_over(self, room: str, target: NodeInfo | None) -> None:
        hosts = await self.cluster.hosts(room)
        rosters = sorted(await self.cluster.rosters(room))
        self.handed.append((room, target.name if target else None, hosts, rosters))
        self.rooms.discard(room)

    def hosted(self) -> list[str]:
        return sorted(self.rooms)

    async def moves_done(self) -> None:
        return None

    async def sync_spans(self, hosts: dict[str, list[str]], live: set[str] | None) -> None:
        return None

    async def recordings(self) -> list[dict[str, Any]]:
        return []


def info(name: str) -> NodeInfo:
    return NodeInfo(name=name, url=f"http://{name}", relay=f"10.0.0.{ord(name[0])}:4000")


async def agent(name: str, cluster: MemoryCluster, rooms: set[str]) -> tuple[NodeAgent, Rooms]:
    """Node ``name``'s agent, with a relay, registered, and judging deaths
    (its own heartbeats succeeded for a TTL)."""
    settings = Settings(
        node_name=name, room_span_load=2, heartbeat_seconds=0.01, node_ttl_seconds=0.02
    )
    hosted = Rooms(cluster, rooms)
    here = NodeAgent(settings, cluster, hosted)  # type: ignore[arg-type]
    here.relay = SimpleNamespace(  # type: ignore[assignment]
        address=f"10.0.0.{ord(name[0])}:4000", epoch="e", sync=lambda live: None
    )
    assert await here.beat()
    await asyncio.sleep(0.05)
    return here, hosted


def entry(name: str) -> dict[str, Any]:
    return {"id": f"p_{name.lower()}", "name": name, "resume_token": f"token-{name}"}


async def test_a_draining_owner_unspans_the_satellites_that_left_before_handing_the_room_over():
    cluster = MemoryCluster()
    # The room: owner a (Ada), satellites b (Bob, drained: gone from the
    # registry, its roster still saved) and c (Cy).
    assert await cluster.claim(ROOM, "a", None) == "a"
    for satellite, person in (("b", "Bob"), ("c", "Cy")):
        assert await cluster.span(ROOM, satellite)
        await cluster.save_roster(ROOM, [entry(person)], satellite)
    await cluster.save_roster(ROOM, [entry("Ada")], "a")
    await cluster.heartbeat(info("c"), 60)
    a, rooms = await agent("a", cluster, {ROOM})

    await a.drain(0)

    # c got the room, and b was no longer among its hosts when it did.
    assert rooms.handed == [(ROOM, "c", ["c"], ["c"])]
    assert await cluster.hosts(ROOM) == ["c"]
    assert list(await cluster.rosters(ROOM)) == ["c"]


async def satellite_b(hosted: set[str]) -> tuple[MemoryCluster, NodeAgent]:
    """The room owned by node a (alive) and node b, which hosts ``hosted``,
    listed as its satellite (a guest was placed on b, to wait in its lobby)."""
    cluster = MemoryCluster()
    assert await cluster.claim(ROOM, "a", None) == "a"
    await cluster.heartbeat(info("a"), 60)
    assert await cluster.span(ROOM, "b")
    b, _ = await agent("b", cluster, hosted)
    b.satellite_rooms.add(ROOM)
    return cluster, b


async def test_a_satellite_with_nobody_of_the_room_stops_hosting_it(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(node_module, "STRAY_SPAN_SECONDS", 0.2, raising=False)
    # The guest on b was turned away: b has nobody of the room.
    cluster, b = await satellite_b(set())

    await b._check_rooms()  # one heartbeat round, as _run does it
    assert await cluster.hosts(ROOM) == ["a", "b"]  # a join placed here may be on its way
    await asyncio.sleep(0.25)
    await b._check_rooms()

    assert await cluster.hosts(ROOM) == ["a"]
    assert ROOM not in b.satellite_rooms


async def test_a_satellite_keeps_a_room_whose_guest_still_waits_there(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(node_module, "STRAY_SPAN_SECONDS", 0.0, raising=False)
    cluster, b = await satellite_b({ROOM})  # the guest still waits in b's lobby

    await b._check_rooms()
    await b._check_rooms()

    assert await cluster.hosts(ROOM) == ["a", "b"]
