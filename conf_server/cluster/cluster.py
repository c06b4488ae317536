"""The deployment's shared picture of itself: which nodes are alive and how
busy they are (the node registry), which node hosts which room (the room
directory: each room's owner, and the satellites of a room that spans
nodes), each hosting node's roster of the room (so another node can take
the room over when its node dies, and a resume finds its node), and an
index of every node's recordings (their files stay on the disk of the node
that made them).

:class:`Cluster` is the interface; :class:`MemoryCluster` is the embedded
default (one node: itself), :class:`conf_server.cluster.redis_cluster.RedisCluster`
the shared one (``--redis-url``). One contract test suite runs against both.

Semantics every backend keeps:

- A node is alive while its last heartbeat is younger than the ``ttl`` it gave;
  :meth:`Cluster.nodes` lists only live nodes.
- :meth:`Cluster.claim` is compare-and-set: the room's owner becomes ``node``
  only if it still is ``expected`` (None: nobody), so two nodes placing or
  taking over one room at once agree on one owner.
- :meth:`Cluster.release` forgets a room's owner only if it is still ``node``
  (and its satellites with it).
- A room that spans nodes (issue 17) has one owner (its coordinator) and
  satellites: :meth:`Cluster.span` adds one only while the room has an owner
  that is another node; the owner is never also a satellite (a claim takes
  the new owner out of the satellites); :meth:`Cluster.cede` hands the room
  from its owner to one of its satellites.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

#: A node whose processor is busier than this counts as full when placing rooms.
BUSY_CPU_PERCENT = 85.0


@dataclass(frozen=True)
class NodeInfo:
    """One node as its heartbeat describes it."""

    name: str
    url: str
    rooms: int = 0
    participants: int = 0
    packets_per_second: float = 0.0
    cpu_percent: float = 0.0
    draining: bool = False
    started_at: float = 0.0
    #: Its media relay, "host:port" (None: it has none), and the relay's
    #: epoch (new at each start: a peer that restarted gets new keys).
    relay: str | None = None
    relay_epoch: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeInfo:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)


def least_loaded(nodes: list[NodeInfo]) -> NodeInfo | None:
    """The node a new room should go to: not draining, not CPU-bound if any other
    is free, then the fewest participants, rooms and forwarded packets. Every
    node computes the same answer from the same registry (ties go by name)."""
    candidates = [node for node in nodes if not node.draining]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda n: (
            n.cpu_percent >= BUSY_CPU_PERCENT,
            n.participants,
            n.rooms,
            n.packets_per_second,
            n.name,
        ),
    )


class Cluster(Protocol):
    """Node registry, room directory and hosted rooms' rosters."""

    async def heartbeat(self, node: NodeInfo, ttl: float) -> None:
        """Say that ``node`` is alive (with its load) for the next ``ttl`` seconds."""
        ...

    async def leave(self, name: str) -> None:
        """Take a node out of the registry at once (clean shutdown)."""
        ...

    async def nodes(self) -> list[NodeInfo]:
        """Live nodes, by name."""
        ...

    async def owner(self, room: str) -> str | None:
        """The node that hosts ``room``, or None."""
        ...

    async def claim(self, room: str, node: str, expected: str | None) -> str | None:
        """Make ``node`` the room's owner if the owner is still ``expected``;
        returns the owner after the call."""
        ...

    async def release(self, room: str, node: str) -> None:
        """Forget the room's owner if it is ``node``."""
        ...

    async def placements(self) -> dict[str, str]:
        """Every hosted room and its node."""
        ...

    async def hosts(self, room: str) -> list[str]:
        """The nodes hosting ``room``: its owner first, then its satellites by
        name; empty if the room is placed nowhere."""
        ...

    async def span(self, room: str, node: str) -> bool:
        """Make ``node`` a satellite of ``room`` if the room has an owner; True
        if ``node`` hosts the room after the call (as owner or satellite)."""
        ...

    async def unspan(self, room: str, node: str) -> None:
        """``node`` no longer hosts ``room`` as a satellite; its roster of the
        room goes with it."""
        ...

    async def cede(self, room: str, node: str, successor: str) -> str | None:
        """The owner ``node`` hands ``room`` to its satellite ``successor``, if
        ``node`` still owns it and ``successor`` is still a satellite; returns
        the owner after the call. The successor's satellite roster becomes the
        room's roster."""
        ...

    async def spans(self) -> dict[str, list[str]]:
        """Every room that has satellites, and its satellites by name."""
        ...

    async def save_roster(self, room: str, roster: list[dict[str, Any]], node: str) -> bool:
        """Keep ``node``'s roster of ``room`` (resume tokens included), only if
        ``node`` owns the room or is one of its satellites (a node that lost
        it must not overwrite the others'); returns whether it was saved."""
        ...

    async def roster(self, room: str) -> list[dict[str, Any]]:
        """The last roster the room's owner saved for ``room`` (empty if none)."""
        ...

    async def rosters(self, room: str) -> dict[str, list[dict[str, Any]]]:
        """The rosters of every node hosting ``room`` (owner and satellites) that
        saved one, by node."""
        ...

    async def drop_roster(self, room: str, node: str) -> None:
        """Forget the owner's roster of ``room`` if ``node`` owns the room or
        nobody does."""
        ...

    async def publish_recordings(self, node: str, records: list[dict[str, Any]]) -> None:
        """Make ``records`` the index entries of the recordings whose files are
        on ``node`` (each has an ``id``; entries of that node not listed go)."""
        ...

    async def recordings(self) -> list[dict[str, Any]]:
        """Every indexed recording of the deployment, each with its ``node``."""
        ...

    async def ping(self) -> None:
        """Raise if the backend cannot be reached."""
        ...


class MemoryCluster:
    """The embedded cluster of one node: nothing is shared with anybody."""

    def __init__(self) -> None:
        self._nodes: dict[str, tuple[NodeInfo, float]] = {}
        self._owners: dict[str, str] = {}
        self._satellites: dict[str, set[str]] = {}
        self._rosters: dict[str, list[dict[str, Any]]] = {}
        #: Satellites' rosters: (room, node) -> roster.
        self._satellite_rosters: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._recordings: dict[str, dict[str, Any]] = {}

    async def heartbeat(self, node: NodeInfo, ttl: float) -> None:
        self._nodes[node.name] = (node, time.monotonic() + ttl)

    async def leave(self, name: str) -> None:
        self._nodes.pop(name, None)

    async def nodes(self) -> list[NodeInfo]:
        now = time.monotonic()
        return sorted(
            (info for info, deadline in self._nodes.values() if deadline > now),
            key=lambda n: n.name,
        )

    async def owner(self, room: str) -> str | None:
        return self._owners.get(room)

    async def claim(self, room: str, node: str, expected: str | None) -> str | None:
        if self._owners.get(room) == expected:
            self._owners[room] = node
            self._drop_satellite(room, node)
        return self._owners.get(room)

    async def release(self, room: str, node: str) -> None:
        if self._owners.get(room) == node:
            del self._owners[room]
            for satellite in self._satellites.pop(room, set()):
                self._satellite_rosters.pop((room, satellite), None)

    async def placements(self) -> dict[str, str]:
        return dict(self._owners)

    async def hosts(self, room: str) -> list[str]:
        owner = self._owners.get(room)
        if owner is None:
            return []
        return [owner, *sorted(self._satellites.get(room, ()))]

    async def span(self, room: str, node: str) -> bool:
        owner = self._owners.get(room)
        if owner is None:
            return False
        if owner != node:
            self._satellites.setdefault(room, set()).add(node)
        return True

    async def unspan(self, room: str, node: str) -> None:
        self._drop_satellite(room, node)

    def _drop_satellite(self, room: str, node: str) -> None:
        satellites = self._satellites.get(room)
        if satellites is not None:
            satellites.discard(node)
            if not satellites:
                del self._satellites[room]
        self._satellite_rosters.pop((room, node), None)

    async def cede(self, room: str, node: str, successor: str) -> str | None:
        if self._owners.get(room) == node and successor in self._satellites.get(room, ()):
            roster = self._satellite_rosters.pop((room, successor), [])
            self._drop_satellite(room, successor)
            self._owners[room] = successor
            self._rosters[room] = roster
        return self._owners.get(room)

    async def spans(self) -> dict[str, list[str]]:
        return {room: sorted(nodes) for room, nodes in self._satellites.items()}

    async def save_roster(self, room: str, roster: list[dict[str, Any]], node: str) -> bool:
        copy = [dict(entry) for entry in roster]
        if self._owners.get(room) == node:
            self._rosters[room] = copy
            return True
        if node in self._satellites.get(room, ()):
            self._satellite_rosters[(room, node)] = copy
            return True
        return False

    async def roster(self, room: str) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self._rosters.get(room, [])]

    async def rosters(self, room: str) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        owner = self._owners.get(room)
        if owner is not None and room in self._rosters:
            found[owner] = await self.roster(room)
        for node in sorted(self._satellites.get(room, ())):
            roster = self._satellite_rosters.get((room, node))
            if roster is not None:
                found[node] = [dict(entry) for entry in roster]
        return found

    async def drop_roster(self, room: str, node: str) -> None:
        if self._owners.get(room) in (None, node):
            self._rosters.pop(room, None)

    async def publish_recordings(self, node: str, records: list[dict[str, Any]]) -> None:
        for recording_id, record in list(self._recordings.items()):
            if record["node"] == node:
                del self._recordings[recording_id]
        for record in records:
            self._recordings[record["id"]] = {**record, "node": node}

    async def recordings(self) -> list[dict[str, Any]]:
        return [dict(record) for record in self._recordings.values()]

    async def ping(self) -> None:
        return None
