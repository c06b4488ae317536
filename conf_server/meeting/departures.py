"""Leaving a meeting: leave, disconnect, the reconnect grace, removal, and
the shared-state half of a member leaving (with what follows from it)."""

from __future__ import annotations

import asyncio
import logging

from conf_server.cluster.store import NoMeeting, StoreUnavailable

from .meeting_views import meeting_summary, member_summary
from .rooms import Participant
from .service_context import ServiceContext

logger = logging.getLogger(__name__)

#: How often a change the store could not take is tried again.
STORE_RETRY_SECONDS = 2.0


class Departures:
    """How participants leave this node's rooms, for a while or for good."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._grace: dict[str, asyncio.TimerHandle] = {}

    async def leave(self, sid: str) -> None:
        context = self._context
        if sid in context.lobby:
            await self._leave_lobby(sid)
            return
        await self.remove(context.participant_by_sid(sid), "left")

    async def _leave_lobby(self, sid: str) -> None:
        """A guest gives up waiting; a node with nobody of the room left
        (participants or guests) lets the room go, as when its last
        participant leaves: a satellite stops hosting it."""
        context = self._context
        room_id = await context.lobby.leave(sid)
        if room_id not in context.directory.rooms and room_id not in context.lobby.rooms():
            await context.node.release(room_id)

    async def disconnected(self, sid: str, network_loss: bool) -> None:
        context = self._context
        if sid in context.lobby:
            await self._leave_lobby(sid)
            return
        participant = context.directory.by_sid(sid)
        if participant is None:
            return
        if not network_loss:
            await self.remove(participant, "disconnected")
            return
        await self.detach(participant)
        media = context.media.get(participant.room)
        if media is not None:
            await media.remove_participant(participant.id)
        participant.screen_sharing = False
        await context.broadcast_update(participant)
        self.start_grace(participant)

    async def detach(self, participant: Participant) -> None:
        """The participant keeps its place but no socket: its socket (if any)
        leaves the room's broadcast group, so it hears nothing more."""
        if participant.sid is not None:
            await self._context.events.leave_room(participant.sid, participant.room)
        self._context.directory.detach(participant)

    def start_grace(self, participant: Participant) -> None:
        """Keep the participant's place for the reconnect grace, then remove them."""
        self.cancel_grace(participant)
        loop = asyncio.get_running_loop()
        self._grace[participant.id] = loop.call_later(
            self._context.settings.reconnect_grace_seconds, self._grace_expired, participant
        )

    def cancel_grace(self, participant: Participant) -> None:
        timer = self._grace.pop(participant.id, None)
        if timer is not None:
            timer.cancel()

    def _grace_expired(self, participant: Participant) -> None:
        self._grace.pop(participant.id, None)
        if not participant.connected:
            self._context.tasks.spawn(self.remove(participant, "timeout"))

    def cancel_all_grace(self) -> None:
        for timer in self._grace.values():
            timer.cancel()
        self._grace.clear()

    async def remove(self, participant: Participant, reason: str) -> None:
        """Take a participant out of the room for good (left, removed, timed out)."""
        context = self._context
        self.cancel_grace(participant)
        room_id = participant.room
        if context.participant(room_id, participant.id) is not participant:
            return  # already gone (or a mirror: its own node removes it)
        # Out of the broadcast group before anything else is awaited: from here
        # on, whatever the room says is not for this socket.
        await self.detach(participant)
        room = context.directory.remove(participant)
        if room is None:
            await context.events.close_room(room_id)  # no stray socket outlives it
        media = context.media.get(room_id)
        if media is not None:
            await media.remove_participant(participant.id)
        context.captions.participant_left(room_id, participant.id)
        await context.events.to_room(
            room_id, "participant_left", {"participant_id": participant.id, "reason": reason}
        )
        context.note_timeline(
            room_id,
            "participant.left",
            {"id": participant.id, "name": participant.name, "reason": reason},
        )
        try:
            await self._member_left(room_id, participant.id, reason)
        except StoreUnavailable:
            # They are gone from the room already; the shared state learns it
            # as soon as the store is back (never silently dropped).
            context.tasks.spawn(self._member_left_later(room_id, participant.id, reason))
        if room is None:
            await context.spans.emptied(room_id)
        else:
            await context.save_roster(room_id)

    async def _member_left(self, room_id: str, participant_id: str, reason: str) -> None:
        """The shared-state half of :meth:`remove`, and what follows from it."""
        context = self._context
        hands_moved = spotlight_ended = False
        try:
            async with context.store.update(room_id) as state:
                member = state.members.get(participant_id)
                if member is not None and member.left_at is None:
                    member.left_at = context.clock()
                hands_moved = state.hands.participant_left(participant_id)
                spotlight_ended = state.spotlight == participant_id
                if spotlight_ended:
                    state.spotlight = None
                # A co-host role does not survive leaving (hosts get theirs back
                # from their host key).
                state.roles.forget(participant_id)
                state.mic_locks.forget(participant_id)
                state.chat.forget_sender(participant_id)
                state.reactions.forget_sender(participant_id)
                if not state.present_ids():
                    state.emptied_at = context.clock()
                    # Nobody on any node: the recording ended with the last
                    # one (no later owner continues it).
                    state.recording = None
        except NoMeeting:
            return
        context.live_reports.changed(room_id, urgent=True)
        if hands_moved:
            await context.events.to_room(
                room_id, "hands_changed", {"hands": state.hands.snapshot()}
            )
            context.note_timeline(room_id, "hands", {"hands": state.hands.snapshot()})
        if spotlight_ended:
            await context.events.to_room(room_id, "spotlight_changed", {"participant_id": None})
        context.publisher.publish(
            "participant.left",
            {
                **meeting_summary(state),
                "participant": member_summary(state, participant_id),
                "reason": reason,
            },
        )
        if state.emptied_at is not None:
            if not state.ended:
                context.publisher.publish(
                    "meeting.ended", {**meeting_summary(state), "reason": "empty"}
                )
            await context.archive_report(state)
            await context.store.expire(room_id, context.settings.empty_meeting_ttl_seconds)

    async def _member_left_later(self, room_id: str, participant_id: str, reason: str) -> None:
        logger.warning(
            "store unavailable: recording that %s left %s later", participant_id, room_id
        )
        while True:
            await asyncio.sleep(STORE_RETRY_SECONDS)
            try:
                await self._member_left(room_id, participant_id, reason)
                return
            except StoreUnavailable:
                continue
