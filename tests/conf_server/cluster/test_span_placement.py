"""Where a newcomer to a room that spans nodes goes (``NodeAgent.host_for``,
issue 17.3), and the directory's mirrors of other nodes' participants."""

from __future__ import annotations

from typing import Any

from conf_server.cluster.cluster import MemoryCluster, NodeInfo
from conf_server.cluster.node import NodeAgent
from conf_server.meeting.rooms import RoomDirectory
from conf_server.settings import Settings


class NoRooms:
    def load(self) -> tuple[int, int, int]:
        return 0, 0, 0


def agent(name: str = "a", span_load: int = 2) -> NodeAgent:
    settings = Settings(node_name=name, room_span_load=span_load)
    return NodeAgent(settings, MemoryCluster(), NoRooms())  # type: ignore[arg-type]


def node(name: str, participants: int = 0, relay: bool = True, **extra: Any) -> NodeInfo:
    return NodeInfo(
        name=name,
        url=f"http://{name}",
        participants=participants,
        relay=f"10.0.0.{ord(name[0])}:4000" if relay else None,
        relay_epoch="e" if relay else "",
        **extra,
    )


def live(*nodes: NodeInfo) -> dict[str, NodeInfo]:
    return {n.name: n for n in nodes}


def test_a_room_below_the_threshold_stays_where_it_is():
    here = agent("b")
    assert here.host_for(["a"], live(node("a", 1), node("b", 0))).name == "a"


def test_a_full_owner_sends_newcomers_to_the_least_loaded_other_node_with_a_relay():
    here = agent("a")
    nodes = live(node("a", 2), node("b", 5), node("c", 1), node("d", 0, relay=False))
    assert here.host_for(["a"], nodes).name == "c"


def test_the_least_loaded_hosting_node_under_the_threshold_wins():
    here = agent("c", span_load=4)
    nodes = live(node("a", 3), node("b", 1), node("c", 0))
    assert here.host_for(["a", "b"], nodes).name == "b"


def test_this_node_keeps_a_join_within_one_participant_of_the_best():
    # The registry lags a heartbeat: no ping-pong over one participant.
    here = agent("a", span_load=4)
    assert here.host_for(["a", "b"], live(node("a", 2), node("b", 1))).name == "a"
    assert here.host_for(["a", "b"], live(node("a", 3), node("b", 1))).name == "b"


def test_with_every_node_full_a_hosting_node_keeps_the_join():
    # Else two full nodes, each seeing the other's load a heartbeat late,
    # could send concurrent joins back and forth.
    nodes = live(node("a", 3), node("b", 2), node("c", 1))
    assert agent("a").host_for(["a", "b"], {**nodes, "c": node("c", 1, relay=False)}).name == "a"
    assert agent("b").host_for(["a", "b"], nodes).name == "c"  # another node is free
    # A node that does not host the room sends it to the least-loaded one that does.
    assert agent("d").host_for(["a", "b"], live(node("a", 3), node("b", 2))).name == "b"


def test_no_other_node_when_the_owner_has_no_relay():
    here = agent("a")
    nodes = live(node("a", 2, relay=False), node("b", 0))
    assert here.host_for(["a"], nodes).name == "a"


def test_draining_nodes_take_no_newcomers():
    here = agent("c")
    nodes = live(node("a", 0, draining=True), node("b", 1), node("c", 1))
    assert here.host_for(["a", "b"], nodes).name == "b"


def test_rooms_span_only_with_a_relay_and_a_span_load():
    assert not agent(span_load=2).spans_rooms  # no relay yet
    assert not agent(span_load=0).spans_rooms


def test_mirrors_follow_their_nodes_snapshots_and_never_replace_local_people():
    directory = RoomDirectory(max_participants=3)
    ada = directory.join("r", "Ada", "sid-ada")
    entry = {"id": "p_bob", "name": "Bob", "sid": "sid-bob", "resume_token": "tok", "zone": "x"}
    changed, gone = directory.set_mirrors("r", "b", [entry, {**ada.to_wire(), "name": "Fake"}])
    assert [p.id for p in changed] == ["p_bob"] and gone == []
    room = directory.rooms["r"]
    assert [p.name for p in room.local()] == ["Ada"]
    bob = room.participants["p_bob"]
    assert (bob.node, bob.sid, bob.zone) == ("b", "sid-bob", "x")
    assert directory.by_sid("sid-bob") is None  # not a socket of this node
    assert len(room.roster()) == 2
    assert directory.has_space("r")  # mirrors count: 2 of 3
    # The same snapshot again changes nothing; an empty one takes Bob away.
    assert directory.set_mirrors("r", "b", [entry]) == ([], [])
    changed, gone = directory.set_mirrors("r", "b", [])
    assert changed == [] and [p.id for p in gone] == ["p_bob"]
    # A mirror's token resumes only through take_over.
    directory.set_mirrors("r", "b", [entry])
    assert directory.resume("r", "Bob", "sid-new", "tok") is None
    mirror = directory.find_mirror("r", "tok")
    assert mirror is not None
    directory.take_over(mirror, "sid-new")
    assert mirror.node is None and directory.by_sid("sid-new") is mirror
    # A room is here while it has a participant of this node: mirrors go with it.
    directory.set_mirrors("r", "c", [{"id": "p_cy", "name": "Cy"}])
    directory.remove(ada)
    assert directory.remove(mirror) is None
    assert "r" not in directory.rooms
    assert directory.set_mirrors("r", "b", [entry]) == ([], [])  # nothing to mirror into
