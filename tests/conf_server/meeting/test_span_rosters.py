"""What a node of a room that spans nodes believes about the others' people
(conf_server/meeting/room_span.py) when a room moved twice, b to a, then a
to c (tests/cluster/test_spanning_faults.py, where it went wrong under load):
a saved roster is older than any snapshot, so it only fills gaps; a client
that takes its mirror's place gets the place the room holds; a node that
sends its people away says nothing more of the room to the others; and a
node's first person of the room enters it as one that spans nodes though a
heartbeat let go of the peers while the join was on its way.

The real ``RoomSpans``, ``RoomDirectory`` and in-memory cluster; the meeting
service around them is reduced to what they use of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from conf_server.cluster.cluster import MemoryCluster, NodeInfo
from conf_server.meeting.room_span import RoomSpans
from conf_server.meeting.rooms import RoomDirectory
from sfu.tasks import TaskGroup

ROOM = "moving"


def entry(name: str, node: str = "a") -> dict[str, Any]:
    """A participant as a snapshot or a saved roster lists it."""
    return {
        "id": f"p_{name.lower()}",
        "name": name,
        "joined_at": 1.0,
        "resume_token": f"token-{name}",
        "sid": f"sid-{name}-on-{node}",
    }


class Cluster(MemoryCluster):
    """The in-memory cluster, where something may happen while a call waits
    (as other coroutines run while a Redis call is on its way)."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: Callable[[], Awaitable[None]] | None = None

    async def _pending(self) -> None:
        if self.meanwhile is not None:
            run, self.meanwhile = self.meanwhile, None
            await run()

    async def rosters(self, room: str) -> dict[str, list[dict[str, Any]]]:
        found = await super().rosters(room)
        await self._pending()
        return found

    async def nodes(self) -> list[NodeInfo]:
        found = await super().nodes()
        await self._pending()
        return found


@dataclass
class Events:
    spanning: set[str] = field(default_factory=set)

    def set_spanning(self, room: str, spanning: bool) -> None:
        (self.spanning.add if spanning else self.spanning.discard)(room)


@dataclass
class Bus:
    """The node bus as the node under test uses it: what it sent, to whom."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def send(self, node: str, message: dict[str, Any]) -> None:
        self.sent.append((node, message))


async def nothing(*args: Any) -> None:
    return None


def spans_of(
    name: str, cluster: MemoryCluster, tasks: TaskGroup
) -> tuple[RoomSpans, RoomDirectory, Bus]:
    """Node ``name``'s spans, its directory and its bus."""
    directory = RoomDirectory()
    context = SimpleNamespace(
        node=SimpleNamespace(name=name, spans_rooms=True, relay=None, satellite_rooms=set()),
        directory=directory,
        cluster=cluster,
        media={},
        events=Events(),
        tasks=tasks,
        settings=SimpleNamespace(heartbeat_seconds=0.5),
        start_grace=lambda participant: None,
        broadcast_update=nothing,
        save_roster=nothing,
    )
    spans = RoomSpans(context)  # type: ignore[arg-type]
    spans.bus = bus = Bus()  # type: ignore[assignment]
    return spans, directory, bus


@pytest.fixture
async def tasks() -> AsyncIterator[TaskGroup]:
    made = TaskGroup("test")
    yield made
    await made.cancel_all()


@pytest.fixture
async def node_c(tasks: TaskGroup) -> AsyncIterator[tuple[RoomSpans, RoomDirectory, Cluster]]:
    """Node c after the satellite b drained onto the owner a: Eve is on c;
    a's roster was saved before Cy and Dee came over from b, and b's roster is
    still listed (b is gone, a has not unspanned it yet)."""
    cluster = Cluster()
    assert await cluster.claim(ROOM, "a", None) == "a"
    for satellite in ("b", "c"):
        assert await cluster.span(ROOM, satellite)
    await cluster.save_roster(ROOM, [entry("Ada"), entry("Bob")], "a")
    await cluster.save_roster(ROOM, [entry("Cy", "b"), entry("Dee", "b")], "b")
    await cluster.heartbeat(NodeInfo("a", "http://a"), 60)
    await cluster.heartbeat(NodeInfo("c", "http://c"), 60)
    spans, directory, _ = spans_of("c", cluster, tasks)
    directory.join(ROOM, "Eve", "sid-eve")
    spans.placed(ROOM, await cluster.hosts(ROOM))
    yield spans, directory, cluster
    await spans.close()


async def snapshot(spans: RoomSpans, node: str, people: list[dict[str, Any]]) -> None:
    await spans.received(
        {"type": "room", "room": ROOM, "from": node, "participants": people, "tracks": []}
    )


def nodes_of(directory: RoomDirectory) -> dict[str, str | None]:
    return {p.name: p.node for p in directory.rooms[ROOM].participants.values()}


EVERYBODY_ON_A = {"Eve": None, "Ada": "a", "Bob": "a", "Cy": "a", "Dee": "a"}


async def a_shows_everybody(spans: RoomSpans) -> None:
    """a's snapshot: Ada and Bob, and Cy and Dee, who came over from b."""
    await snapshot(spans, "a", [entry(n) for n in ("Ada", "Bob", "Cy", "Dee")])


@pytest.mark.parametrize("when", ["before", "while the rosters are read"])
async def test_a_saved_roster_never_takes_a_person_from_the_node_whose_snapshot_shows_them(
    node_c: tuple[RoomSpans, RoomDirectory, Cluster], when: str
) -> None:
    spans, directory, cluster = node_c
    if when == "before":
        await a_shows_everybody(spans)
    else:
        cluster.meanwhile = lambda: a_shows_everybody(spans)
    # Before: b's roster (nobody of b had a mirror here) made Cy and Dee b's,
    # a node that is gone; a snapshot that came while the rosters were read
    # was undone by a's saved roster (Ada and Bob only) too.
    await spans.entered(ROOM)
    assert nodes_of(directory) == EVERYBODY_ON_A


async def test_a_saved_roster_still_shows_the_people_no_snapshot_told_of(
    node_c: tuple[RoomSpans, RoomDirectory, Cluster],
) -> None:
    spans, directory, _ = node_c
    await spans.entered(ROOM)
    assert nodes_of(directory) == {"Eve": None, "Ada": "a", "Bob": "a", "Cy": "b", "Dee": "b"}
    # a's first snapshot puts them where they are.
    await a_shows_everybody(spans)
    assert nodes_of(directory) == EVERYBODY_ON_A


async def test_a_client_taking_its_mirrors_place_gets_the_place_the_room_holds(
    node_c: tuple[RoomSpans, RoomDirectory, Cluster],
) -> None:
    spans, directory, cluster = node_c
    await a_shows_everybody(spans)
    # a drains: it cedes the room to c and sends its people here.
    await cluster.heartbeat(NodeInfo("a", "http://a", draining=True), 60)
    assert await cluster.cede(ROOM, "a", "c") == "c"

    async def a_reports_cy_muted() -> None:
        muted = [{**entry(n), "audio_muted": n == "Cy"} for n in ("Ada", "Bob", "Cy", "Dee")]
        await snapshot(spans, "a", muted)

    # A snapshot of a (Cy muted just before the move) comes while Cy's
    # take-over reads the registry: the room's mirror of Cy is a new one.
    cluster.meanwhile = a_reports_cy_muted
    cy = await spans.take_over(ROOM, "token-Cy", "sid-cy-on-c")
    assert cy is not None and cy.node is None and cy.sid == "sid-cy-on-c"
    # Before: the mirror found first was made c's, but the room held the
    # new one, still a's (c adopted it disconnected once a was gone, and the
    # grace removed Cy: Ada never saw Cy again).
    assert directory.rooms[ROOM].participants["p_cy"] is cy
    assert directory.by_sid("sid-cy-on-c") is cy
    assert cy.audio_muted


async def test_a_mirror_adopted_while_its_client_takes_it_over_is_no_mirror_any_more(
    node_c: tuple[RoomSpans, RoomDirectory, Cluster],
) -> None:
    spans, directory, cluster = node_c
    await snapshot(spans, "a", [entry("Cy")])
    assert await cluster.cede(ROOM, "a", "c") == "c"
    await cluster.leave("a")

    async def adopted() -> None:
        # This node's sweep finds a gone and adopts its people (the owner now).
        await spans.sync({ROOM: ["c", "b"]}, {"c"})
        assert directory.rooms[ROOM].participants["p_cy"].node is None

    cluster.meanwhile = adopted
    # No mirror to take: the join resumes it as one of this node's
    # (Membership._join_here; before, take_over made the adopted one c's
    # itself, which was right too, by luck: it was the same object).
    assert await spans.take_over(ROOM, "token-Cy", "sid-cy-on-c") is None
    resumed = directory.resume(ROOM, "Cy", "sid-cy-on-c", "token-Cy")
    assert resumed is not None and resumed[0] is directory.rooms[ROOM].participants["p_cy"]


async def test_a_node_that_sends_its_people_away_leaves_the_peers_snapshots_unanswered(
    tasks: TaskGroup,
) -> None:
    cluster = Cluster()
    assert await cluster.claim(ROOM, "a", None) == "a" and await cluster.span(ROOM, "c")
    spans, directory, bus = spans_of("a", cluster, tasks)
    ada = directory.join(ROOM, "Ada", "sid-ada")
    spans.placed(ROOM, ["a", "c"])
    # a drains and hands the room to c: room_moved goes out, then its people
    # are let go. c's heartbeat snapshot comes in between.
    spans.moved(ROOM)
    await snapshot(spans, "c", [entry("Eve", "c")])
    directory.remove(ada)
    for _ in range(3):
        await asyncio.sleep(0)  # the snapshot sender's turns
    # Before: a answered with a snapshot of the room without Ada (its people
    # were gone by then), c dropped the mirror of Ada, and Ada, resuming on c
    # a moment later, matched nobody and joined anew.
    assert bus.sent == []
    await spans.close()


async def test_the_first_person_here_enters_a_room_whose_peers_a_heartbeat_let_go_meanwhile(
    tasks: TaskGroup,
) -> None:
    """Cy's join (or his admission from the lobby) is placed on the satellite
    b, which then reads and writes the meeting in the store. A heartbeat round
    in between finds nobody of the room on b and lets go of a (a CI run of
    tests/cluster/test_spanning_features.py saw it under load)."""
    cluster = Cluster()
    assert await cluster.claim(ROOM, "a", None) == "a" and await cluster.span(ROOM, "b")
    await cluster.save_roster(ROOM, [entry("Ada"), entry("Bob")], "a")
    spans, directory, bus = spans_of("b", cluster, tasks)
    spans.placed(ROOM, await cluster.hosts(ROOM))
    await spans.sync({ROOM: ["a", "b"]}, {"a", "b"})
    assert not spans.spanning(ROOM)  # nobody of the room here: b let go of a
    directory.join(ROOM, "Cy", "sid-cy")
    await spans.entered(ROOM)
    # The room spans nodes again before Cy's participant_joined goes out:
    # it reaches Ada and Bob on a. Before, it stayed on b, and a mirrored Cy
    # from b's next snapshot without a word: Ada and Bob never saw him.
    assert spans.spanning(ROOM) and ROOM in spans._context.events.spanning
    assert nodes_of(directory) == {"Cy": None, "Ada": "a", "Bob": "a"}
    for _ in range(3):
        await asyncio.sleep(0)  # the snapshot sender's turns
    sent = [message for node, message in bus.sent if node == "a"]
    assert [p["name"] for p in sent[-1]["participants"]] == ["Cy"]
    await spans.close()
