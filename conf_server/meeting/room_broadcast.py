"""Telling a room what changed: participant updates, notices to the hosts,
each participant's view of the meeting, and role/lock flags kept in step."""

from __future__ import annotations

from typing import Any

from conf_server.domain.meeting_state import CHAT_LOG, MeetingState

from .meeting_views import is_moderator, meeting_view, mic_locked
from .rooms import Participant
from .service_context import ServiceContext


class RoomBroadcast:
    """Events and views for the rooms on this node."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def participants(self, room_id: str) -> list[Participant]:
        room = self._context.directory.rooms.get(room_id)
        return list(room.participants.values()) if room else []

    async def broadcast_update(self, participant: Participant) -> None:
        await self._context.events.to_room(
            participant.room, "participant_updated", {"participant": participant.to_wire()}
        )
        await self._context.save_roster(participant.room)

    def moderator_sids(self, state: MeetingState) -> list[str]:
        """Sockets of this room's hosts and co-hosts."""
        return [
            p.sid
            for p in self.participants(state.room)
            if p.sid is not None and is_moderator(state.roles.role_of(p.id))
        ]

    async def to_moderators(self, state: MeetingState, event: str, data: dict[str, Any]) -> None:
        if state.room not in self._context.directory.rooms:
            # Nobody of the room here (a guest waits in its lobby on a node
            # that hosts none of its people yet): the hosting nodes tell theirs.
            await self._context.spans.to_peers(state.room, "moderators", event=event, data=data)
            return
        for sid in self.moderator_sids(state):
            await self._context.events.to_client(sid, event, data)

    async def meeting_view(self, state: MeetingState, viewer_id: str) -> dict[str, Any]:
        """The Meeting object for one participant (chat history included)."""
        history = await self._context.store.read(state.room, CHAT_LOG)
        return meeting_view(
            state,
            viewer_id,
            history[-state.chat.max_history :],
            self._context.recording.room_status(state),
            self._context.settings.transcript_language,
        )

    def sync_flags(self, state: MeetingState, tell_peers: bool = True) -> list[Participant]:
        """Copy role and microphone lock from the meeting state onto this node's
        participants; returns those that changed. In a room that spans nodes
        the other nodes do the same for theirs (``tell_peers``)."""
        changed = []
        spans = self._context.spans
        if tell_peers and spans.spanning(state.room):
            self._context.tasks.spawn(spans.to_peers(state.room, "sync"))
        for participant in self.participants(state.room):
            if participant.node is not None:
                continue
            role = state.roles.role_of(participant.id).value
            locked = mic_locked(state, participant.id)
            if (role, locked) != (participant.role, participant.mic_locked):
                participant.role, participant.mic_locked = role, locked
                changed.append(participant)
        return changed
