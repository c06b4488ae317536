"""Rooms that span nodes (issue 17, point 3): the control plane on this node.

A room may have participants on several nodes: its owner (the coordinator)
and satellites (conf_server/cluster/node.py places them). Each node keeps its
own participants and media; the nodes hosting a room keep each other up to
date with *snapshots* over the node bus (conf_server/cluster/node_bus.py),
one per (room, peer): this node's participants of the room (their Participant
objects, socket ids and resume tokens) and the tracks it relays to that peer
(:class:`~conf_server.meeting.room_relays.RoomRelays`). A snapshot is sent
whenever either changes and once per heartbeat round (so a lost one is made
good within a second); the receiver makes its *mirrors* of the sender's
participants (conf_server/meeting/rooms.py) and the producers it relays here
exactly what the snapshot lists. An empty snapshot says "I no longer host the
room".

What the mirrors give: everybody's roster shows everybody, and whatever this
node sends to a participant of another node goes through the Socket.IO
manager's Redis channel to its socket there (the events of a spanning room
go that way too: ``EventSink.set_spanning``). Host actions on a participant of
another node, and the end of the meeting, travel as *commands* to the node of
that participant.

When a node hosting the room dies, the owner (or the node that takes the
room over) makes its mirrors of that node's participants participants of its
own, detached, with the reconnect grace: they resume there with their resume
tokens (their hands, votes and roles are in the store), and those who do not
come back are removed after the grace. A client that resumes on another
hosting node whose mirror it is takes its place there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

from conf_server.cluster.cluster import Cluster
from conf_server.cluster.node import NodeAgent, WrongNode
from conf_server.cluster.node_bus import MemoryNodeBus, NodeBus
from conf_server.cluster.store import StoreUnavailable
from conf_server.domain import LobbyEntry
from conf_server.domain.meeting_state import MeetingState
from conf_server.errors import ConfServerError
from sfu.settings import SfuSettings
from sfu.tasks import cancel_and_wait

from .meeting_context import MeetingContext
from .meeting_views import is_moderator
from .room_media import RoomMedia
from .room_relays import RoomRelays
from .rooms import Participant, RoomDirectory
from .span_requests import SpanRequests

logger = logging.getLogger(__name__)

#: Events a node with nobody of a room asks the hosting nodes to pass on to
#: their hosts and co-hosts (``moderators`` command).
PEER_NOTICES = frozenset({"lobby_changed"})

#: A peer whose snapshots stopped this many heartbeats ago, and that no longer
#: hosts the room, is forgotten (its "I left" snapshot may have been lost).
STALE_HEARTBEATS = 3

#: How long an owner that hands a room over (a drain, or its last people
#: left) waits for the next owner to take up the recording
#: (:meth:`RoomSpans.handing_over`) before it stops its own.
SUCCESSION_SECONDS = 2.0

#: How long the old owner records on after the node it handed the room to
#: started recording it: that part starts at the first keyframe it asks for,
#: which a publisher's keyframe throttle may hold back for an interval.
SUCCESSION_OVERLAP_SECONDS = SfuSettings().keyframe_interval_s + 0.1


class OwnerDuties(Protocol):
    """What a room's owner runs for the whole room: the recording."""

    async def continue_here(self, state: MeetingState) -> None:
        """The room is this node's now and its meeting records: record on here."""
        ...

    def records(self, room: str) -> bool:
        """Does this node record ``room`` now?"""
        ...

    def room_closed(self, room: str) -> None:
        """Finish this node's recording of ``room``."""
        ...


class SpanContext(MeetingContext, Protocol):
    """What the span control plane uses of the meeting service."""

    @property
    def cluster(self) -> Cluster: ...

    @property
    def node(self) -> NodeAgent: ...

    def start_grace(self, participant: Participant) -> None: ...

    def cancel_grace(self, participant: Participant) -> None: ...

    async def close_room_media(self, room_id: str) -> None: ...

    def waiting_entries(self, room_id: str) -> set[str]: ...

    @property
    def recording(self) -> OwnerDuties: ...


def bus_entry(participant: Participant) -> dict[str, Any]:
    """A participant as snapshots carry it (its socket id and resume token too)."""
    return {
        **participant.to_wire(),
        "resume_token": participant.resume_token,
        "sid": participant.sid,
    }


def _snapshot_message(
    room: str, participants: list[dict[str, Any]], tracks: list[dict[str, Any]]
) -> dict[str, Any]:
    """A snapshot of this node's side of ``room`` for one peer; an empty one
    says "I no longer host the room"."""
    return {"type": "room", "room": room, "participants": participants, "tracks": tracks}


class RoomSpans:
    """The rooms of this node that span nodes (see the module docstring)."""

    def __init__(self, context: SpanContext) -> None:
        self._context = context
        #: Messages to other nodes; create_app sets the deployment's.
        self.bus: NodeBus = MemoryNodeBus()
        #: room -> other node hosting it -> when its last snapshot came.
        self.peers: dict[str, dict[str, float]] = {}
        #: room -> its relayed tracks.
        self.relays: dict[str, RoomRelays] = {}
        #: Snapshots to send: (room, peer).
        self._dirty: set[tuple[str, str]] = set()
        self._sender: asyncio.Task[None] | None = None
        #: Rooms whose people this node sent to other nodes (``moved``).
        self._moved: set[str] = set()
        #: Rooms with nobody here any more whose recording a new owner takes
        #: up (``emptied``): their relays stay until its part has begun.
        self._handing: set[str] = set()
        #: Requests that another node answers (the recording, on the owner).
        self.requests = SpanRequests(self._send, lambda coro: self._context.tasks.spawn(coro))
        self.requests.handle("succeed", self._succeed)

    @property
    def name(self) -> str:
        return self._context.node.name

    @property
    def enabled(self) -> bool:
        return self._context.node.spans_rooms

    def spanning(self, room: str) -> bool:
        return bool(self.peers.get(room))

    def is_satellite(self, room: str) -> bool:
        return room in self._context.node.satellite_rooms

    def listen(self) -> None:
        """Start taking this node's bus messages."""
        self.bus.listen(self.name, self.received)

    # -- this node's side ---------------------------------------------------------------

    def placed(self, room: str, hosts: list[str]) -> None:
        """A join for ``room`` is placed here; ``hosts`` are the nodes hosting it."""
        self._moved.discard(room)
        others = [node for node in hosts if node != self.name]
        if not others or not self.enabled:
            return
        peers = self.peers.setdefault(room, {})
        now = time.monotonic()
        for node in others:
            peers.setdefault(node, now)
        self._context.events.set_spanning(room, True)

    async def entered(self, room: str) -> None:
        """A participant of this node is in ``room`` now (its media exists):
        show the other nodes' participants (from their saved rosters, until
        their snapshots come) and relay this node's tracks to them."""
        if room not in self._context.directory.rooms:
            return
        if not self.peers.get(room):
            # The join was placed with the room's hosts, but a heartbeat round
            # that came before it reached the directory found nobody of the
            # room here and let go of them (``sync``): learn them again, or
            # this person's ``participant_joined`` would stay on this node and
            # the others' people would never see them (mirrors bring no events).
            await self.look_up(room)
        peers = self.peers.get(room)
        if not peers or room not in self._context.directory.rooms:
            return
        await self._show_saved_rosters(room, list(peers))
        here = self._context.directory.rooms.get(room)
        if here is None:
            return  # this node's people of the room left meanwhile
        relays = self._relays(room)
        if relays is not None:
            with_participants = {p.node for p in here.mirrors()}
            for node in peers:
                if node in with_participants:
                    relays.want(node, True)
        self.changed(room)

    async def _show_saved_rosters(self, room: str, peers: list[str]) -> None:
        """Mirrors of the people of ``peers`` that sent no snapshot yet, from
        their saved rosters. A saved roster is older than any snapshot and may
        be a gone node's (a drained satellite's stays listed until the owner's
        sweep unspans it), so it only adds people the room has no place for
        here yet: a person a snapshot shows on one node never becomes a mirror
        of another (the room moved b to a to here: b's roster still lists
        those who went to a, and their places here would go with b)."""
        directory = self._context.directory
        unseen = [node for node in peers if node not in _nodes_of(directory, room)]
        if not unseen:
            return
        try:
            rosters = await self._context.cluster.rosters(room)
        except StoreUnavailable:
            return
        here = directory.rooms.get(room)
        if here is None:
            return
        # A snapshot that came while the rosters were read is newer than they are.
        shown = _nodes_of(directory, room)
        for node in unseen:
            if node in rosters and node not in shown:
                new = [e for e in rosters[node] if str(e.get("id", "")) not in here.participants]
                await self._mirror(room, node, new)

    def changed(self, room: str, peer: str | None = None) -> None:
        """This node's participants or tracks of ``room`` changed: the other
        hosting nodes get a snapshot (coalesced, sent in the background)."""
        peers = self.peers.get(room)
        if not peers:
            return
        for node in [peer] if peer is not None else list(peers):
            if node in peers:
                self._dirty.add((room, node))
        if self._dirty and (self._sender is None or self._sender.done()):
            self._sender = self._context.tasks.spawn(self._send_dirty())

    async def _send_dirty(self) -> None:
        await asyncio.sleep(0)  # what this turn of the loop changes goes in one
        while self._dirty:
            room, peer = self._dirty.pop()
            if peer in self.peers.get(room, {}):
                await self._send_snapshot(room, peer)

    async def _send_snapshot(self, room: str, peer: str) -> None:
        here = self._context.directory.rooms.get(room)
        if here is None:
            # Nobody of the room here: ``left`` says so, once this node is
            # done with the room (``emptied`` keeps the others' relays coming
            # while the next owner takes the recording up).
            return
        relays = self.relays.get(room)
        participants = [bus_entry(p) for p in here.local()]
        tracks = relays.tracks_for(peer) if relays else []
        await self._send(peer, _snapshot_message(room, participants, tracks))

    async def _send(self, peer: str, message: dict[str, Any]) -> None:
        try:
            await self.bus.send(peer, {**message, "from": self.name})
        except ConfServerError as exc:
            logger.warning("could not reach node %s: %s", peer, exc.message)

    async def left(self, room: str) -> None:
        """The room has no participant of this node any more: the other nodes
        hosting it hear so (they drop their mirrors and relays)."""
        peers = self.peers.pop(room, {})
        self._context.events.set_spanning(room, False)
        await self.media_closed(room)
        for peer in peers:
            await self._send(peer, _snapshot_message(room, [], []))

    async def emptied(self, room: str) -> None:
        """This node's last participant of ``room`` left: the others hear it,
        the room's media here closes and the node lets the room go (an owner
        cedes it to a satellite). An owner that records a room that spans
        nodes cedes it first and has the new owner take the recording up
        (``handing_over``), and keeps the media coming through the relays,
        and its own part, :data:`SUCCESSION_OVERLAP_SECONDS` longer: the two
        parts overlap, as in a drain, instead of missing a heartbeat."""
        context = self._context
        if not (self.spanning(room) and context.recording.records(room)):
            await self.left(room)
            await context.close_room_media(room)
            await context.node.release(room)
            return
        self._handing.add(room)
        try:
            await context.node.release(room)
            with contextlib.suppress(StoreUnavailable):
                hosts = await context.cluster.hosts(room)
                if hosts and hosts[0] != self.name and await self.handing_over(room, hosts[0]):
                    await asyncio.sleep(SUCCESSION_OVERLAP_SECONDS)
        finally:
            self._handing.discard(room)
        if room in context.directory.rooms:
            # A join brought the room back here meanwhile (a satellite now):
            # its media stays, the recording is the new owner's.
            context.recording.room_closed(room)
            return
        await self.left(room)
        await context.close_room_media(room)

    async def handing_over(self, room: str, node: str) -> bool:
        """This node, the room's owner, hands the room to ``node``, a node
        hosting the room too and its owner now (a drain ceded it, or this
        node's last people left: :meth:`emptied`): ``node``
        takes up the recording now (a new part), before this node's part
        ends with the room's media here. Otherwise it would only notice at its next
        heartbeat round, and the recording would miss that long (plus a
        keyframe). Best effort: without an answer the heartbeat does it.
        True if ``node`` records the room now."""
        if not self.enabled or self.is_satellite(room) or node not in self.peers.get(room, {}):
            return False
        if not self._context.recording.records(room):
            return False  # nothing to take up: the drain goes on at once, as before
        try:
            answer = await self.requests.ask(node, room, "succeed", timeout=SUCCESSION_SECONDS)
        except ConfServerError as exc:
            logger.warning("room %s: node %s did not take the room up: %s", room, node, exc.message)
            return False
        return bool((answer or {}).get("recording"))

    async def _succeed(self, room: str, args: dict[str, Any]) -> dict[str, Any]:
        """The room's owner, draining or left by its last people, made this
        node the owner (``handing_over``)."""
        context = self._context
        sender = args.get("from")
        peers = self.peers.get(room, {})
        if isinstance(sender, str) and sender in peers:
            # What this node relays to it feeds its part until that part ends,
            # though it no longer hosts the room: no sweep here may let go of
            # it as stale meanwhile.
            peers[sender] = time.monotonic()
        hosts = await context.cluster.hosts(room)
        if hosts[:1] != [self.name] or room not in context.media:
            return {"recording": False}  # not (or no longer) ours: the heartbeat decides
        state = await context.store.get(room)
        if state is not None:
            await context.recording.continue_here(state)
        return {"recording": state is not None and state.recording is not None}

    def moved(self, room: str) -> None:
        """The room's clients were sent to another node (drain): forget the
        room here without telling the peers, whose mirrors keep the resume
        tokens until the clients are back (or this node is gone); their
        snapshots get no "not hosting" answer either (``_moved``)."""
        self.peers.pop(room, None)
        self._moved.add(room)
        self._context.events.set_spanning(room, False)

    async def media_closed(self, room: str) -> None:
        relays = self.relays.pop(room, None)
        if relays is not None:
            await relays.close()

    def _relays(self, room: str) -> RoomRelays | None:
        relays = self.relays.get(room)
        if relays is not None:
            return relays
        relay = self._context.node.relay
        media: RoomMedia | None = self._context.media.get(room)
        if relay is None or media is None:
            return None
        relays = self.relays[room] = RoomRelays(
            media.router, relay.endpoint, self.name, lambda peer: self.changed(room, peer)
        )
        return relays

    # -- what other nodes say ---------------------------------------------------------

    async def received(self, message: dict[str, Any]) -> None:
        room, sender, kind = message.get("room"), message.get("from"), message.get("type")
        if not isinstance(room, str) or not isinstance(sender, str) or sender == self.name:
            return
        if kind == "room":
            participants = message.get("participants")
            tracks = message.get("tracks")
            if isinstance(participants, list) and isinstance(tracks, list):
                await self._snapshot(room, sender, participants, tracks)
        elif kind == "command":
            await self._command(room, sender, message)
        elif kind in ("request", "reply"):
            await self.requests.received(room, sender, message)

    async def _snapshot(
        self, room: str, sender: str, participants: list[Any], tracks: list[Any]
    ) -> None:
        directory = self._context.directory
        if room in self._moved:
            # Sent away (drain): silence keeps their places on the sender. The
            # room is still here while its people are being let go, and an
            # answer then would be a snapshot without them: the sender would
            # drop their mirrors, and take them for newcomers when they come.
            return
        if room not in directory.rooms:
            if room not in self.peers and (participants or tracks):
                # Not (or no longer) hosting it: the sender stops relaying here.
                await self._send(sender, _snapshot_message(room, [], []))
            return
        peers = self.peers.setdefault(room, {})
        new = sender not in peers
        if not participants:
            if not new:
                await self._peer_gone(room, sender, adopt=False)
            return
        peers[sender] = time.monotonic()
        self._context.events.set_spanning(room, True)
        await self._mirror(room, sender, [e for e in participants if isinstance(e, dict)])
        relays = self._relays(room)
        if relays is not None:
            if relays.want(sender, True) or new:
                self.changed(room, sender)
            await relays.apply(sender, [t for t in tracks if isinstance(t, dict)])
        elif new:
            self.changed(room, sender)

    async def _mirror(self, room: str, node: str, entries: list[dict[str, Any]]) -> None:
        changed, gone = self._context.directory.set_mirrors(room, node, entries)
        media = self._context.media.get(room)
        if media is None:
            return
        for mirror in changed:
            media.set_zone(mirror.id, mirror.zone)
        for mirror in gone:
            await media.remove_participant(mirror.id)

    async def _peer_gone(self, room: str, node: str, adopt: bool) -> None:
        """``node`` no longer hosts ``room`` (it said so, or it is dead):
        nothing crosses any more; with ``adopt`` its participants become this
        node's, detached, with the reconnect grace (else they are dropped)."""
        peers = self.peers.get(room, {})
        peers.pop(node, None)
        relays = self.relays.get(room)
        if relays is not None:
            await relays.drop_peer(node)
        here = self._context.directory.rooms.get(room)
        mirrors = [p for p in here.mirrors() if p.node == node] if here else []
        if adopt and mirrors:
            for mirror in mirrors:
                mirror.node, mirror.sid, mirror.connected = None, None, False
                self._context.start_grace(mirror)
            logger.info("room %s: took %d participant(s) of node %s", room, len(mirrors), node)
            for mirror in mirrors:
                await self._context.broadcast_update(mirror)
        elif mirrors:
            await self._mirror(room, node, [])
        if not peers:
            self.peers.pop(room, None)
            self._context.events.set_spanning(room, False)

    async def sync(self, hosts: dict[str, list[str]], live: set[str] | None) -> None:
        """Once per heartbeat round (see ``NodeAgent``): learn the room's hosting
        nodes, let go of those that are gone (the owner takes the participants
        of dead ones), relay what is missing, and send every peer a snapshot."""
        now = time.monotonic()
        stale = STALE_HEARTBEATS * self._context.settings.heartbeat_seconds
        for room in list(self.peers):
            if room not in self._context.directory.rooms and room not in self._handing:
                await self.left(room)
        for room in list(self._context.directory.rooms):
            nodes = hosts.get(room, [])
            owner = nodes[0] if nodes else None
            others = [node for node in nodes if node != self.name]
            if others:
                self.placed(room, nodes)
            peers = self.peers.get(room)
            if not peers:
                continue
            for node, seen in list(peers.items()):
                dead = live is not None and node not in live
                if dead or (node not in others and now - seen > stale):
                    await self._peer_gone(room, node, adopt=owner == self.name)
                    if owner == self.name:
                        await self._context.save_roster(room)
            relays = self._relays(room)
            if relays is not None:
                relays.refresh()
            self.changed(room)

    # -- a participant of another node comes back here --------------------------------

    async def take_over(self, room: str, resume_token: str, sid: str) -> Participant | None:
        """The mirror whose resume token this is, made a participant of this
        node, if its node is gone, draining or no longer hosts the room (else
        :class:`WrongNode`: the client goes back to it); None if the token is
        no mirror's (any more)."""
        directory = self._context.directory
        if directory.find_mirror(room, resume_token) is None:
            return None
        live = {node.name: node for node in await self._context.cluster.nodes()}
        hosts = await self._context.cluster.hosts(room)
        # Found again after those awaits: a snapshot may have put a new mirror
        # in the old one's place (made this node's, the old one would be a
        # participant outside the room), or this node adopted it meanwhile
        # (its node was found gone: the caller resumes it as one of its own).
        mirror = directory.find_mirror(room, resume_token)
        if mirror is None or mirror.node is None:
            return None
        node = live.get(mirror.node)
        if node is not None and not node.draining and mirror.node in hosts:
            raise WrongNode(node)  # alive and hosting it: its place is there
        logger.info("room %s: %s came back here from node %s", room, mirror.id, mirror.node)
        return directory.take_over(mirror, sid)

    async def owner_elsewhere(self, room: str) -> str | None:
        """The room's owner when it is another node (what runs once per room,
        the recording, runs there); None when this node owns it or rooms do
        not span nodes here."""
        if not self.enabled:
            return None
        hosts = await self._context.cluster.hosts(room)
        return hosts[0] if hosts and hosts[0] != self.name else None

    # -- commands: host actions on participants of other nodes --------------------------

    async def command(self, room: str, node: str, action: str, **args: Any) -> None:
        """Ask ``node`` to act on its participants of ``room``."""
        await self._send(node, {"type": "command", "room": room, "action": action, **args})

    async def look_up(self, room: str) -> None:
        """Learn the nodes hosting ``room`` now: someone enters it here after
        this node let go of its peers (nobody of the room was here), as people
        let in from the lobby long after their join was placed do."""
        if not self.enabled:
            return
        with contextlib.suppress(StoreUnavailable):
            self.placed(room, await self._context.cluster.hosts(room))

    async def to_peers(self, room: str, action: str, **args: Any) -> None:
        """A command to every other node hosting ``room`` (those that sent no
        snapshot yet too: a node with only people in the lobby sends none)."""
        if not self.enabled:
            return
        peers = set(self.peers.get(room, {}))
        with contextlib.suppress(StoreUnavailable):
            peers.update(await self._context.cluster.hosts(room))
        peers.discard(self.name)
        for peer in sorted(peers):
            await self.command(room, peer, action, **args)

    async def _command(self, room: str, sender: str, message: dict[str, Any]) -> None:
        context = self._context
        action = message.get("action")
        target = None
        participant_id = message.get("participant_id")
        if isinstance(participant_id, str):
            target = context.participant(room, participant_id)
            if target is None or target.node is not None:
                return  # not (or no longer) here
        by = str(message.get("by", ""))
        if action == "moderate" and target is not None:
            source = str(message.get("source", ""))
            if source not in ("microphone", "camera", "screen"):
                return
            state = await context.store.get(room)
            if state is not None:
                context.sync_flags(state, tell_peers=False)
            context.set_muted(target, source, True)
            await context.broadcast_update(target)
            # The lock as the store has it now: the asking node's copy of this
            # participant may predate it (mute all with the lock).
            locked = bool(message.get("locked")) or (source == "microphone" and target.mic_locked)
            if target.sid is not None:
                await context.events.to_client(
                    target.sid, "muted_by_host", {"source": source, "locked": locked, "by": by}
                )
        elif action == "remove" and target is not None:
            sid = target.sid
            if sid is not None:
                await context.events.to_client(
                    sid, "removed", {"message": f"{by} removed you from the meeting", "by": by}
                )
            await context.remove(target, "removed")
            if sid is not None:
                context.tasks.spawn(context.events.disconnect(sid))
        elif action == "end":
            for participant in list(self._local(room)):
                sid = participant.sid
                await context.remove(participant, "meeting_ended")
                if sid is not None:
                    await context.events.disconnect(sid)
        elif action == "sync":
            state = await context.store.get(room)
            if state is not None:
                for participant in context.sync_flags(state, tell_peers=False):
                    await context.broadcast_update(participant)
        elif action == "moderators" and message.get("event") in PEER_NOTICES:
            # A node with nobody of the room (a guest waits in its lobby) asks
            # the hosting nodes to tell their hosts and co-hosts.
            state = await context.store.get(room)
            data = message.get("data")
            if state is not None and isinstance(data, dict):
                for participant in self._local(room):
                    if participant.sid is not None and is_moderator(
                        state.roles.role_of(participant.id)
                    ):
                        await context.events.to_client(participant.sid, str(message["event"]), data)
        elif action in ("admit", "deny"):
            waiting = context.waiting_entries(room)
            entries = [
                entry
                for entry in map(lobby_entry, message.get("entries") or [])
                if entry is not None and entry.id in waiting
            ]
            if not entries:
                return
            if action == "admit":
                state = await context.store.get(room)
                if state is not None:
                    await context.admit_waiting(state, entries)
            else:
                await context.deny_waiting(
                    entries, str(message.get("code", "denied")), str(message.get("message", ""))
                )

    def _local(self, room: str) -> list[Participant]:
        here = self._context.directory.rooms.get(room)
        return here.local() if here else []

    async def close(self) -> None:
        self.requests.close()
        if self._sender is not None:
            await cancel_and_wait(self._sender)
        for room in list(self.relays):
            await self.media_closed(room)


def _nodes_of(directory: RoomDirectory, room: str) -> set[str | None]:
    """The other nodes of whose people ``room`` has mirrors here."""
    here = directory.rooms.get(room)
    return {p.node for p in here.mirrors()} if here is not None else set()


def lobby_entry(data: Any) -> LobbyEntry | None:
    """A lobby entry from a command (None if it is not one)."""
    try:
        return LobbyEntry(
            str(data["id"]),
            str(data["name"]),
            str(data["identity"]),
            float(data["since"]),
            int(data["seq"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
