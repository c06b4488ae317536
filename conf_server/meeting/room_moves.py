"""Rooms moving between nodes: the roster each node keeps in the cluster,
adopting a room's members from a node that died or drained, and handing a
room over when this node drains.

The meeting state (roles, hands, polls, chat) is in the shared store already;
what moves here is the roster: who was in the room, under which participant
id and resume token, so that clients joining again with their resume token
get their own place (and their hands and votes) back on the new node.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from conf_server.cluster.cluster import NodeInfo
from conf_server.errors import ConfServerError
from sfu.tasks import cancel_and_wait

from .meeting_context import HostingContext
from .recording_control import recording_summary
from .room_span import SUCCESSION_OVERLAP_SECONDS
from .rooms import Participant

logger = logging.getLogger(__name__)

#: Seconds the draining node keeps its old sockets open after ``room_moved``,
#: so the notice reaches the clients before the connection closes.
MOVE_NOTICE_SECONDS = 2.0


def roster_entry(participant: Participant) -> dict[str, Any]:
    """The Participant object every node can show, plus what a new node needs
    to give the participant their place back (the resume token)."""
    return {**participant.to_wire(), "resume_token": participant.resume_token}


def public_roster(roster: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A saved roster as Participant objects (without resume tokens)."""
    return [{k: v for k, v in entry.items() if k not in _PRIVATE} for entry in roster]


_PRIVATE = frozenset({"resume_token", "sid"})


class RoomMoves:
    """The meeting service's side of :class:`conf_server.cluster.node.HostedRooms`."""

    def __init__(self, service: HostingContext) -> None:
        self._service = service
        self._closing: list[asyncio.Task[None]] = []

    def load(self) -> tuple[int, int, int]:
        rooms = self._service.directory.rooms
        participants = sum(len(room.local()) for room in rooms.values())
        return len(self.hosted()), participants, self._service.sfu_stats.packets_forwarded

    def hosted(self) -> list[str]:
        """Rooms with participants here, or with people waiting in their lobby here."""
        service = self._service
        return sorted(set(service.directory.rooms) | service.lobby_rooms())

    async def recordings(self) -> list[dict[str, Any]]:
        library = self._service.recording.library_now()
        name = self._service.node.name
        records = await asyncio.to_thread(library.recordings)
        # Workers sharing one data dir each publish the recordings they made.
        return [recording_summary(r) for r in records if r.get("node", name) == name]

    async def save_roster(self, room_id: str) -> None:
        """Write this node's roster of the room to the cluster (best effort: the
        next change writes it again)."""
        room = self._service.directory.rooms.get(room_id)
        roster = [roster_entry(p) for p in room.local()] if room else []
        self._service.spans.changed(room_id)
        try:
            await self._service.cluster.save_roster(room_id, roster, self._service.node.name)
        except ConfServerError as exc:
            logger.warning("could not save the roster of %s: %s", room_id, exc.message)

    async def sync_spans(self, hosts: dict[str, list[str]], live: set[str] | None) -> None:
        await self._service.spans.sync(hosts, live)
        name = self._service.node.name
        owned = {room for room, nodes in hosts.items() if nodes[:1] == [name]}
        await self._service.recording.owned(owned)

    async def adopt(self, room_id: str) -> int | None:
        service = self._service
        if room_id in self.hosted():
            return None
        state = await service.store.get(room_id)
        if state is None:
            return 0
        saved = {entry["id"]: entry for entry in await service.cluster.roster(room_id)}
        present = state.present_ids()
        if service.node.spans_rooms:
            # Members on the room's other live nodes stay theirs.
            live = {node.name for node in await service.cluster.nodes()}
            rosters = await service.cluster.rosters(room_id)
            elsewhere = {
                entry.get("id")
                for node, roster in rosters.items()
                if node in live and node != service.node.name
                for entry in roster
            }
            present = [p for p in present if p not in elsewhere]
        here = service.waiting_entries(room_id)
        if any(entry.id not in here for entry in state.access.lobby.waiting()):
            # Their sockets died with the old node; they join the lobby again.
            async with service.store.update(room_id) as state:
                for entry in state.access.lobby.waiting():
                    if entry.id not in here:
                        state.access.lobby.leave(entry.id)
        for participant_id in present:
            member = state.members[participant_id]
            kept = saved.get(participant_id, {})
            participant = Participant(
                id=participant_id,
                name=member.name,
                room=room_id,
                sid=None,
                joined_at=float(kept.get("joined_at", member.joined_at)),
                # Without a saved token nobody can resume: the grace removes them.
                resume_token=str(kept.get("resume_token") or secrets.token_urlsafe(24)),
                audio_muted=bool(kept.get("audio_muted", False)),
                video_muted=bool(kept.get("video_muted", False)),
                connected=False,
                mode=member.mode,
                zone=member.zone,
            )
            service.directory.adopt(participant, state.meeting_id)
            service.start_grace(participant)
        service.sync_flags(state)
        if present:
            logger.info("adopted %d participant(s) of room %s", len(present), room_id)
            await self.save_roster(room_id)
        return len(present)

    async def hand_over(self, room_id: str, target: NodeInfo | None) -> None:
        service = self._service
        participants = [p for p in service.participants(room_id) if p.node is None]
        # A target that hosts the room too records on before the recording
        # stops here (asked while the room's peers are still known).
        succeeded = target is not None and await service.spans.handing_over(room_id, target.name)
        service.spans.moved(room_id)
        if target is None:
            # Nowhere to go: the meeting ends here, and the sockets close (else
            # the process would wait for each client's ping timeout to exit).
            sids = [p.sid for p in participants if p.sid is not None]
            for participant in participants:
                await service.remove(participant, "server_shutdown")  # closes the group
            for sid in sids + service.drop_waiting(room_id):
                await service.events.disconnect(sid)
            return
        # The roster was saved before the room was given to ``target`` (a node
        # that no longer owns a room must not write its roster).
        notice = {"node": target.name, "url": target.url}
        await service.events.to_room(room_id, "room_moved", notice)
        sids = [p.sid for p in participants if p.sid is not None]
        for waiting_sid in service.drop_waiting(room_id):
            await service.events.to_client(waiting_sid, "room_moved", notice)
            sids.append(waiting_sid)
        # Forget the room here without touching the shared state: its members
        # are not leaving, they are moving. Their sockets stay open a moment for
        # the notice, but hear nothing more of this room here.
        await service.events.close_room(room_id)
        for participant in participants:
            service.cancel_grace(participant)
            service.directory.remove(participant)
        if succeeded:
            # Media still arrives here: this part ends once the next one has
            # surely begun (SUCCESSION_OVERLAP_SECONDS).
            await asyncio.sleep(SUCCESSION_OVERLAP_SECONDS)
        await service.close_room_media(room_id)
        logger.info("moved room %s to node %s", room_id, target.name)

        async def close_old_sockets() -> None:
            await asyncio.sleep(MOVE_NOTICE_SECONDS)
            for sid in sids:
                await service.events.disconnect(sid)

        self._closing = [task for task in self._closing if not task.done()]
        self._closing.append(asyncio.get_running_loop().create_task(close_old_sockets()))

    async def moves_done(self) -> None:
        closing, self._closing = self._closing, []
        await asyncio.gather(*closing, return_exceptions=True)

    async def close(self) -> None:
        """Shutting down: stop what is still pending."""
        closing, self._closing = self._closing, []
        await cancel_and_wait(*closing)
