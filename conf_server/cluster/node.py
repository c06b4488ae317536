"""This node's part in a deployment: heartbeat with load, room placement,
takeover of dead nodes' rooms, and draining.

A room has one owner node. ``join`` asks :meth:`NodeAgent.ensure_here`
first: if the room lives elsewhere the client is sent there (``wrong_node``);
if it lives nowhere, or on a node whose heartbeat has expired, it is placed on
the least-loaded live node, which may be this one. Every node also sweeps the
room directory once per heartbeat and takes over the rooms of dead nodes it
is the best place for, so members who never come back are removed after the
reconnect grace (no ghosts).

With relays (``relay_host``) and ``room_span_load`` a room may span nodes
(issue 17): a newcomer goes to the least-loaded node already hosting the
room that carries fewer than ``room_span_load`` participants, else to
another node, which becomes a *satellite* of the room (its own router for
its participants; tracks cross between the nodes once). The owner stays the
room's coordinator; when its last participant leaves it cedes the room to a
satellite.

Without Redis the cluster is a :class:`~conf_server.cluster.cluster.MemoryCluster`
holding just this node, and all of this reduces to "every room is here".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Container, Iterable
from typing import Any, Protocol

from conf_server.domain.resume_tokens import entry_token, holder_of
from conf_server.errors import ConfServerError
from conf_server.settings import Settings
from sfu.tasks import cancel_and_wait

from .cluster import Cluster, NodeInfo, least_loaded
from .node_relay import NodeRelay
from .store import StoreUnavailable

logger = logging.getLogger(__name__)


#: How often a node republishes the index entries of its recordings.
RECORDINGS_PUBLISH_SECONDS = 5.0

#: How long a node stays listed as a satellite of a room it has nobody of
#: (its lobby guests were turned away, or a client sent here never came)
#: before it stops hosting the room: a join placed here may be on its way.
STRAY_SPAN_SECONDS = 10.0


class WrongNode(ConfServerError):
    """The room lives on another node; the client should go there."""

    code = "wrong_node"
    status = 409

    def __init__(self, node: NodeInfo) -> None:
        super().__init__(f"room is hosted by node {node.name}; connect to {node.url}")
        self.details = {"node": node.name, "url": node.url}


class Draining(ConfServerError):
    code = "draining"
    status = 503
    retry_after = 5.0


class HostedRooms(Protocol):
    """What the agent needs from the meeting service."""

    def load(self) -> tuple[int, int, int]:
        """(rooms, participants, packets forwarded since start) on this node."""
        ...

    async def adopt(self, room: str) -> int | None:
        """Take over the room's members from its previous node (they get the
        reconnect grace to come back); returns how many were adopted, or None
        if the room is here already."""
        ...

    async def save_roster(self, room: str) -> None:
        """Write this node's roster of the room to the cluster."""
        ...

    async def hand_over(self, room: str, target: NodeInfo | None) -> None:
        """Move the room to ``target`` (clients are told to go there), or end
        it here when there is no other node."""
        ...

    def hosted(self) -> list[str]:
        """Rooms that live on this node now."""
        ...

    async def moves_done(self) -> None:
        """Wait until the clients of moved rooms were told and let go."""
        ...

    async def sync_spans(self, hosts: dict[str, list[str]], live: set[str] | None) -> None:
        """Once per heartbeat round, when rooms may span nodes: the nodes
        hosting each room of this node (owner first), and the live nodes
        (None: right after a store outage, when nobody can be judged dead)."""
        ...

    async def recordings(self) -> list[dict[str, Any]]:
        """Summaries of the recordings whose files are on this node."""
        ...


def node_url(settings: Settings) -> str:
    """The base URL clients use to reach this node directly."""
    if settings.node_url:
        return settings.node_url.rstrip("/")
    if settings.public_url and settings.node_port is None:
        return settings.public_url.rstrip("/")
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.node_port or settings.port}"


class NodeAgent:
    """Registers this node, places rooms and takes over dead nodes' rooms."""

    def __init__(self, settings: Settings, cluster: Cluster, rooms: HostedRooms) -> None:
        self.name = settings.node_name
        self.url = node_url(settings)
        self.cluster = cluster
        self._rooms = rooms
        self._interval = settings.heartbeat_seconds
        self._ttl = settings.node_ttl_seconds
        self.draining = False
        self._started_at = time.time()
        self._task: asyncio.Task[None] | None = None
        #: Since when heartbeats succeed without a gap (None: the last one failed).
        self._healthy_since: float | None = None
        self._last_sample = (time.monotonic(), time.process_time(), 0)
        self._rates = (0.0, 0.0)  # packets/s, CPU %
        self._adopt_lock = asyncio.Lock()
        #: Base URLs of the live nodes (the Origin check takes their pages).
        self.peer_urls: set[str] = set()
        #: Signs requests this node relays to another (conf_server/http/node_forwarding.py);
        #: create_app sets the deployment's shared one.
        self.forward_key = secrets.token_bytes(32)
        #: When this process last placed each room on itself (see _check_rooms).
        self._placed_at: dict[str, float] = {}
        self._recordings_published = 0.0
        #: The media relay to other nodes (``relay_host``); create_app sets it.
        self.relay: NodeRelay | None = None
        #: Participants a node may carry before a room it hosts spreads to
        #: another node (0: rooms never span).
        self.span_load = settings.room_span_load
        #: Rooms this node hosts as a satellite (another node owns them).
        self.satellite_rooms: set[str] = set()
        #: Rooms listing this node as a satellite with nobody of them here:
        #: since when (see :meth:`_let_go_of_strays`).
        self._strays: dict[str, float] = {}

    @property
    def spans_rooms(self) -> bool:
        """May rooms span this node and others? (relays and a span load)"""
        return self.span_load > 0 and self.relay is not None

    # -- heartbeat -------------------------------------------------------------------

    def info(self) -> NodeInfo:
        rooms, participants, forwarded = self._rooms.load()
        now, cpu = time.monotonic(), time.process_time()
        then, cpu_then, forwarded_then = self._last_sample
        if now - then >= 0.5:
            elapsed = now - then
            self._rates = (
                (forwarded - forwarded_then) / elapsed,
                100.0 * (cpu - cpu_then) / elapsed,
            )
            self._last_sample = (now, cpu, forwarded)
        return NodeInfo(
            name=self.name,
            url=self.url,
            rooms=rooms,
            participants=participants,
            packets_per_second=round(self._rates[0], 1),
            cpu_percent=round(self._rates[1], 1),
            draining=self.draining,
            started_at=self._started_at,
            relay=self.relay.address if self.relay is not None else None,
            relay_epoch=self.relay.epoch if self.relay is not None else "",
        )

    async def beat(self) -> bool:
        """One heartbeat; False if the cluster could not be reached."""
        try:
            await self.cluster.heartbeat(self.info(), self._ttl)
        except ConfServerError as exc:
            if self._healthy_since is not None:
                logger.warning("heartbeat failed: %s", exc.message)
            self._healthy_since = None
            return False
        if self._healthy_since is None:
            self._healthy_since = time.monotonic()
        return True

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="node agent")

    async def _run(self) -> None:
        while True:
            if await self.beat() and not self.draining:
                try:
                    await self._check_rooms()
                except ConfServerError as exc:
                    logger.warning("room check failed: %s", exc.message)
                except Exception:
                    logger.exception("room check failed")
            await asyncio.sleep(self._interval)

    async def publish_recordings(self) -> None:
        """Put this node's recordings into the deployment's index."""
        self._recordings_published = time.monotonic()
        await self.cluster.publish_recordings(self.name, await self._rooms.recordings())

    async def _check_rooms(self) -> None:
        """Once per heartbeat: learn the live nodes, give up rooms another node
        has taken from us, take over dead nodes' rooms, and now and then
        republish this node's recordings."""
        if time.monotonic() - self._recordings_published >= RECORDINGS_PUBLISH_SECONDS:
            await self.publish_recordings()
        live = await self.cluster.nodes()
        if self.relay is not None:
            self.relay.sync(live)
        self.peer_urls.clear()
        self.peer_urls.update(node.url for node in live)
        placements = await self.cluster.placements()
        spans = await self.cluster.spans() if self.spans_rooms else {}
        now = time.monotonic()
        for room, placed in list(self._placed_at.items()):
            if now - placed > 60:
                del self._placed_at[room]
        live_names = {node.name for node in live} | {self.name}
        if self.spans_rooms:
            await self._let_go_of_strays(spans)
        for room in self._rooms.hosted():
            owner = placements.get(room)
            if owner is not None and owner != self.name and self.spans_rooms:
                if self.name in spans.get(room, ()):
                    continue  # a satellite of the room
                # Dropped from the satellites (the owner took us for dead a
                # moment): register again.
                if (
                    room in self.satellite_rooms
                    and owner in live_names
                    and await self.cluster.span(room, self.name)
                ):
                    spans.setdefault(room, []).append(self.name)
                    continue
            if owner is None:
                # Hosted here but in nobody's name (a release raced a join):
                # claim it back, so the next join cannot place it elsewhere.
                owner = await self.cluster.claim(room, self.name, None)
                if owner == self.name:
                    continue
            if owner is not None and owner != self.name:
                # We were cut off from Redis long enough for another node to
                # take the room over: its members belong there now.
                target = next((node for node in live if node.name == owner), None)
                if target is not None:  # else look again at the next heartbeat
                    logger.warning("room %s is now hosted by %s; moving its clients", room, owner)
                    await self._rooms.hand_over(room, target)
        # After an outage every node's heartbeat looks expired until all have
        # beaten again: wait one TTL before judging anybody dead.
        judges = self._judges_deaths()
        if judges:
            await self.take_over_dead_rooms(live, placements, spans)
        if self.spans_rooms:
            placements = await self.cluster.placements()
            hosted = set(self._rooms.hosted())
            hosts = {
                room: [owner, *[n for n in spans.get(room, ()) if n != owner]]
                for room, owner in placements.items()
                if room in hosted
            }
            for room, nodes in hosts.items():
                if nodes[0] == self.name:
                    self.satellite_rooms.discard(room)  # a satellite the room was ceded to
            await self._rooms.sync_spans(hosts, live_names if judges else None)
            if judges:
                # Satellites that died: the owner adopted their members above
                # (sync_spans); the directory forgets them.
                for room, satellites in spans.items():
                    if placements.get(room) != self.name:
                        continue
                    await self._unspan_gone(room, satellites, live_names)

    async def _unspan_gone(
        self, room: str, satellites: Iterable[str], live: Container[str]
    ) -> None:
        """Take the satellites of ``room`` that are not ``live`` (gone from
        the registry: drained or dead) off the room's hosts."""
        for node in satellites:
            if node not in live:
                await self.cluster.unspan(room, node)

    async def _let_go_of_strays(self, spans: dict[str, list[str]]) -> None:
        """Stop hosting, as a satellite, the rooms this node has had nobody
        of (participants or lobby guests) for :data:`STRAY_SPAN_SECONDS`: a
        guest who waited here was turned away, or a client placed here never
        came. Listed, the node would stay among the room's hosts, and the
        others would keep sending it snapshots, for the room's whole life."""
        now, hosted = time.monotonic(), set(self._rooms.hosted())
        strays = {
            room for room, nodes in spans.items() if self.name in nodes and room not in hosted
        }
        for room in set(self._strays) - strays:
            del self._strays[room]
        for room in sorted(strays):
            first = self._strays.setdefault(room, now)
            # A join placed here lately may be on its way.
            if now - max(first, self._placed_at.get(room, first)) >= STRAY_SPAN_SECONDS:
                del self._strays[room]
                logger.info("room %s: nobody of it here any more; no longer hosting it", room)
                await self.release(room)

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)  # (a single cancel may be lost: see there)
            self._task = None
        with contextlib.suppress(ConfServerError):  # else the heartbeat's TTL takes us out
            await self.cluster.leave(self.name)

    # -- placement -------------------------------------------------------------------

    async def ensure_here(self, room: str, resume_token: str | None = None) -> list[str]:
        """Return if ``room`` lives here (placing or taking it over if needed);
        raise :class:`WrongNode` if a client should go elsewhere. Returns the
        nodes hosting the room, this one included (the owner first)."""
        satellites: list[NodeInfo] = []
        live: dict[str, NodeInfo] | None = None
        if self.spans_rooms:
            hosts = await self.cluster.hosts(room)
            live = {node.name: node for node in await self.cluster.nodes()}
            live[self.name] = self.info()  # we are alive, whatever Redis last saw
            if hosts and hosts[0] in live:
                return await self._join_spanning(room, hosts, live, resume_token)
            owner = hosts[0] if hosts else None
            # A dead owner's live satellite hosts the room already: it takes over.
            satellites = [live[n] for n in hosts[1:] if n in live]
        else:
            owner = await self.cluster.owner(room)
        if owner != self.name:
            if live is None:
                live = {node.name: node for node in await self.cluster.nodes()}
            if owner is not None and owner in live:
                raise WrongNode(live[owner])
            if owner is not None and not self._judges_deaths():
                # Right after a store outage every heartbeat looks expired: the
                # owner may be alive and about to beat again.
                raise StoreUnavailable("the deployment is recovering; try again in a moment")
            live[self.name] = self.info()  # we are alive, whatever Redis last saw
            target = least_loaded(satellites) or least_loaded(list(live.values()))
            if target is None:
                raise Draining("this server is shutting down and no other can take the meeting")
            owner = await self.cluster.claim(room, target.name, owner)
            if owner != self.name:
                if owner is None or owner not in live:
                    raise Draining("the meeting is being moved; try again in a moment")
                raise WrongNode(live[owner])
        self._placed_at[room] = time.monotonic()
        self.satellite_rooms.discard(room)
        await self._adopt(room)
        return await self.cluster.hosts(room) if self.spans_rooms else [self.name]

    async def _join_spanning(
        self, room: str, hosts: list[str], live: dict[str, NodeInfo], resume_token: str | None
    ) -> list[str]:
        """Placement of a join for a room whose owner is alive, when rooms may
        span nodes: the node that has the participant of ``resume_token``,
        else :meth:`host_for`; a node chosen that does not host the room yet
        becomes a satellite of it before the client is sent there."""
        target = None
        if resume_token and len(hosts) > 1:
            target = await self._node_of(room, resume_token, hosts, live)
        if target is None:
            target = self.host_for(hosts, live)
        if target.name not in hosts and not await self.cluster.span(room, target.name):
            raise Draining("the meeting is being moved; try again in a moment")
        if target.name != self.name:
            raise WrongNode(target)
        self._placed_at[room] = time.monotonic()
        if hosts[0] == self.name:
            self.satellite_rooms.discard(room)
            await self._adopt(room)
            return hosts if self.name in hosts else [*hosts, self.name]
        self.satellite_rooms.add(room)
        return hosts if self.name in hosts else [*hosts, self.name]

    async def _node_of(
        self, room: str, resume_token: str, hosts: list[str], live: dict[str, NodeInfo]
    ) -> NodeInfo | None:
        """The live, not draining node whose roster of ``room`` has
        ``resume_token``; if that node is dead or draining, the least-loaded
        other hosting node (its mirror there keeps the place: a node new to
        the room would take the client for a newcomer)."""
        for name, roster in (await self.cluster.rosters(room)).items():
            if holder_of(roster, resume_token, entry_token) is not None:
                node = live.get(name)
                if node is not None and not node.draining:
                    return node
                return least_loaded([live[n] for n in hosts if n in live and n != name])
        return None

    def host_for(self, hosts: list[str], live: dict[str, NodeInfo]) -> NodeInfo:
        """Where a newcomer to a room hosted by ``hosts`` (owner first, alive)
        goes: the least-loaded hosting node with fewer than ``span_load``
        participants (this node when it is within one participant of that
        one: registry loads lag a heartbeat behind); if none, the least-loaded
        other node with a relay; if none either, this node if it hosts the
        room, else the least-loaded hosting node."""
        hosting = [live[name] for name in hosts if name in live]
        fits = [node for node in hosting if node.participants < self.span_load]
        best = least_loaded(fits)
        if best is not None:
            me = next((node for node in fits if node.name == self.name), None)
            if me is not None and not me.draining and me.participants <= best.participants + 1:
                return me
            return best
        relaying = live[hosts[0]].relay is not None
        others = [
            node
            for node in live.values()
            if node.name not in hosts and node.relay is not None and node.relay_epoch
        ]
        target = least_loaded(others) if relaying else None
        if target is not None:
            return target
        # Every node is full: a hosting node keeps the join (judged from loads
        # a heartbeat old, two nodes would send concurrent joins back and forth).
        me = next((node for node in hosting if node.name == self.name), None)
        if me is not None and not me.draining:
            return me
        return least_loaded(hosting) or live[hosts[0]]

    async def _adopt(self, room: str) -> int | None:
        async with self._adopt_lock:
            return await self._rooms.adopt(room)

    def _judges_deaths(self) -> bool:
        """True once our own heartbeats have succeeded for one TTL: only then
        does a missing heartbeat of another node mean it is dead."""
        since = self._healthy_since
        return since is not None and time.monotonic() - since >= self._ttl

    async def take_over_dead_rooms(
        self,
        nodes: list[NodeInfo],
        placements: dict[str, str],
        spans: dict[str, list[str]] | None = None,
    ) -> None:
        """Claim the rooms of nodes whose heartbeat expired, where this node is
        the least-loaded live node (of the room's live satellites, if it has
        any: they host the room already).

        Rooms the directory gives to this very node but that are not here (this
        node restarted within the TTL under the same name) are adopted too, so
        their members get the reconnect grace instead of staying forever."""
        live = {node.name: node for node in nodes}
        spans = spans or {}
        orphans = [(room, owner) for room, owner in placements.items() if owner not in live]
        now, hosted = time.monotonic(), set(self._rooms.hosted())
        for room, owner in placements.items():
            recent = now - self._placed_at.get(room, -1e9) < 30  # a join may be on its way
            if owner == self.name and room not in hosted and not recent:
                self._placed_at[room] = now
                if await self._adopt(room) == 0:
                    await self.release(room)
        for room, dead in orphans:
            live[self.name] = self.info()
            satellites = [live[n] for n in spans.get(room, ()) if n in live]
            target = least_loaded(satellites) or least_loaded(list(live.values()))
            if target is None or target.name != self.name:
                continue
            if await self.cluster.claim(room, self.name, dead) != self.name:
                continue
            logger.info("took over room %s from dead node %s", room, dead)
            self.satellite_rooms.discard(room)
            if await self._adopt(room) == 0 and room not in self._rooms.hosted():
                await self.release(room)  # nobody to wait for

    async def release(self, room: str) -> None:
        """The room emptied here: the next join may place it anywhere. A
        satellite just stops hosting it; an owner whose room still has live
        satellites cedes it to the least-loaded of them."""
        self._placed_at.pop(room, None)
        try:
            async with self._adopt_lock:  # joins place and adopt under it too
                if room in self._rooms.hosted():
                    return  # a join brought it back meanwhile
                self.satellite_rooms.discard(room)
                if self.spans_rooms:
                    hosts = await self.cluster.hosts(room)
                    if self.name in hosts[1:]:
                        await self.cluster.unspan(room, self.name)
                        return
                    if hosts[:1] == [self.name] and len(hosts) > 1:
                        live = {node.name: node for node in await self.cluster.nodes()}
                        successors = [live[n] for n in hosts[1:] if n in live]
                        while (successor := least_loaded(successors)) is not None:
                            owner = await self.cluster.cede(room, self.name, successor.name)
                            if owner != self.name:
                                logger.info("room %s: handed to node %s", room, owner)
                                return
                            successors.remove(successor)
                await self.cluster.drop_roster(room, self.name)
                await self.cluster.release(room, self.name)
        except ConfServerError as exc:
            logger.warning("could not release room %s: %s", room, exc.message)

    # -- draining --------------------------------------------------------------------

    async def drain(self, deadline: float) -> None:
        """Take no new rooms; let meetings finish for ``deadline`` seconds, then
        move the remaining ones to other nodes (or end them); leave the registry."""
        hosted = self._rooms.hosted
        self.draining = True
        await self.beat()
        logger.info(
            "draining: %d room(s) left, deadline %.0f s (signal again to stop at once)",
            len(hosted()),
            deadline,
        )
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while hosted() and loop.time() < end:  # noqa: ASYNC110 (rooms empty in many ways)
            await asyncio.sleep(0.2)
        for room in hosted():
            target = None
            try:
                await self._rooms.save_roster(room)  # while the room is still ours
                target = await self._move_target(room)
            except ConfServerError as exc:
                logger.warning("cannot move room %s: %s", room, exc.message)
            await self._rooms.hand_over(room, target)
        await self._rooms.moves_done()
        # What it recorded is listed on every node while it is gone, as it
        # is now: a recording the move just finished was in the deployment's
        # index as running at best (it is republished every few seconds, never
        # while draining), or not at all.
        with contextlib.suppress(ConfServerError):
            await self.publish_recordings()
        await self.stop()

    async def _move_target(self, room: str) -> NodeInfo | None:
        """Where a draining node's room goes: a satellite's members to another
        node hosting the room; an owner's room to one of its satellites, else
        to the least-loaded other node. Their members resume there with their
        resume tokens (the roster this node saved stays until it is gone)."""
        others = [n for n in await self.cluster.nodes() if n.name != self.name]
        live = {node.name: node for node in others}
        if self.spans_rooms:
            hosts = await self.cluster.hosts(room)
            if hosts and hosts[0] != self.name:
                target = least_loaded([live[n] for n in hosts if n in live])
                if target is None:
                    target = least_loaded(others)
                    if target is not None and not await self.cluster.span(room, target.name):
                        target = None
                return target
            successors = [live[n] for n in hosts[1:] if n in live]
            if self._judges_deaths():
                # Satellites gone from the registry (drained or dead) leave
                # the room's hosts with this node, which would have unspanned
                # them at its next sweep: else they, and their saved rosters,
                # stay listed until the next owner's first sweep.
                await self._unspan_gone(room, hosts[1:], live)
            while (successor := least_loaded(successors)) is not None:
                if await self.cluster.cede(room, self.name, successor.name) == successor.name:
                    return successor
                successors.remove(successor)
        target = least_loaded(others)
        if target is not None:
            owner = await self.cluster.claim(room, target.name, self.name)
            target = target if owner == target.name else None
        return target
