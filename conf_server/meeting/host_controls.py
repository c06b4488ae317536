"""Host controls: muting, stopping media, removing, roles, lock, passcode,
lobby, ending the meeting.

Each handler takes the acting participant (from the sender's session, never
from the payload), checks the permission in the meeting state inside a store
transaction, and only then changes anything: state first, then this node's
media and the events. See docs/protocol.md, "Host controls".
"""

from __future__ import annotations

from typing import Any

from conf_server.domain import Action, Role, authorize, demote, promote
from conf_server.domain.errors import InvalidAction, UnknownParticipant
from conf_server.domain.meeting_state import MeetingState

from .meeting_context import ActionHandler, MeetingContext, RoomView
from .meeting_views import lobby_payload, meeting_settings, meeting_summary
from .questionnaire_actions import publish_questionnaire_closed
from .rooms import Participant

Result = dict[str, Any] | None


async def announce_settings(service: RoomView, state: MeetingState) -> None:
    """``meeting_updated`` to everyone; hosts and co-hosts also get the passcode."""
    moderators = service.moderator_sids(state)
    for sid in moderators:
        await service.events.to_client(
            sid, "meeting_updated", meeting_settings(state, moderator=True)
        )
    await service.events.to_room(
        state.room, "meeting_updated", meeting_settings(state), skip_sid=moderators or None
    )


class HostControls:
    """The host and co-host actions of every room on this node."""

    def __init__(self, service: MeetingContext) -> None:
        self._service = service

    def handlers(self) -> dict[str, ActionHandler]:
        return {
            "mute_participant": self.mute_participant,
            "mute_all": self.mute_all,
            "unlock_microphone": self.unlock_microphone,
            "stop_media": self.stop_media,
            "remove_participant": self.remove_participant,
            "set_role": self.set_role,
            "lock_meeting": self.lock_meeting,
            "configure_meeting": self.configure_meeting,
            "admit": self.admit,
            "deny": self.deny,
            "end_meeting": self.end_meeting,
            "spotlight": self.spotlight,
        }

    def _target(self, state: MeetingState, actor: Participant, target_id: str) -> Participant:
        target = self._service.participant(actor.room, target_id)
        if target is None or not state.is_member(target_id):
            raise UnknownParticipant("nobody with that id is in this meeting")
        return target

    async def _updated(self, state: MeetingState) -> None:
        for participant in self._service.sync_flags(state):
            await self._service.broadcast_update(participant)

    async def _moderate(
        self, actor: Participant, target: Participant, source: str, locked: bool
    ) -> None:
        """Stop one source of ``target`` on the server and tell its owner (a
        participant of another node: that node does)."""
        if target.node is not None:
            await self._service.spans.command(
                target.room,
                target.node,
                "moderate",
                participant_id=target.id,
                source=source,
                locked=locked,
                by=actor.name,
            )
            return
        self._service.set_muted(target, source, True)
        await self._service.broadcast_update(target)
        if target.sid is not None:
            await self._service.events.to_client(
                target.sid, "muted_by_host", {"source": source, "locked": locked, "by": actor.name}
            )

    # -- muting ---------------------------------------------------------------------

    async def mute_participant(self, actor: Participant, participant_id: str, lock: bool) -> Result:
        async with self._service.store.update(actor.room) as state:
            target = self._target(state, actor, participant_id)
            authorize(state.roles, actor.id, Action.MUTE_ONE, participant_id)
            if lock:
                authorize(state.roles, actor.id, Action.LOCK_MUTE, participant_id)
                state.mic_locks.lock(participant_id)
        self._service.sync_flags(state)
        await self._moderate(actor, target, "microphone", target.mic_locked)
        return None

    async def mute_all(self, actor: Participant, lock: bool) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MUTE_ALL)
            if lock:
                authorize(state.roles, actor.id, Action.LOCK_MUTE)
                state.mic_locks.lock_all()
        self._service.sync_flags(state)
        for target in self._service.participants(actor.room):
            if state.roles.role_of(target.id) is Role.PARTICIPANT and target.connected:
                await self._moderate(actor, target, "microphone", target.mic_locked)
        return None

    async def unlock_microphone(self, actor: Participant, participant_id: str | None) -> Result:
        async with self._service.store.update(actor.room) as state:
            if participant_id is None:
                authorize(state.roles, actor.id, Action.LOCK_MUTE)
                state.mic_locks.unlock_all()
            else:
                self._target(state, actor, participant_id)
                authorize(state.roles, actor.id, Action.LOCK_MUTE, participant_id)
                state.mic_locks.unlock(participant_id)
        await self._updated(state)
        return None

    async def stop_media(self, actor: Participant, participant_id: str, source: str) -> Result:
        action = Action.STOP_VIDEO if source == "camera" else Action.STOP_SCREEN
        async with self._service.store.update(actor.room) as state:
            target = self._target(state, actor, participant_id)
            authorize(state.roles, actor.id, action, participant_id)
        await self._moderate(actor, target, source, False)
        return None

    # -- people -----------------------------------------------------------------------

    async def remove_participant(self, actor: Participant, participant_id: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            target = self._target(state, actor, participant_id)
            authorize(state.roles, actor.id, Action.REMOVE, participant_id)
            member = state.members[participant_id]
            gone = state.access.ban(member.identity)
        await self._service.deny_waiting(
            gone, "banned", "a host removed you from this meeting", actor.room
        )
        if target.node is not None:
            await self._service.spans.command(
                actor.room, target.node, "remove", participant_id=target.id, by=actor.name
            )
            return None
        sid = target.sid
        if sid is not None:
            await self._service.events.to_client(
                sid,
                "removed",
                {"message": f"{actor.name} removed you from the meeting", "by": actor.name},
            )
        await self._service.remove(target, "removed")  # also out of the room's group
        if sid is not None:
            # Not awaited here: the removed socket's disconnect handler must not
            # wait for this (the host's) message to finish.
            self._service.tasks.spawn(self._service.events.disconnect(sid))
        return None

    async def set_role(self, actor: Participant, participant_id: str, role: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            target = self._target(state, actor, participant_id)
            if role == Role.CO_HOST:
                promote(state.roles, actor.id, participant_id)
            elif role == Role.PARTICIPANT:
                demote(state.roles, actor.id, participant_id)
            else:
                raise InvalidAction("the host role comes only from the host key")
        await self._updated(state)
        if target.sid is not None:
            await self._service.events.to_client(
                target.sid,
                "meeting_state",
                {"meeting": await self._service.meeting_view(state, target.id)},
            )
        return None

    async def spotlight(self, actor: Participant, participant_id: str | None) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.SPOTLIGHT)
            if participant_id is not None:
                self._target(state, actor, participant_id)
            changed = state.spotlight != participant_id
            state.spotlight = participant_id
        if changed:
            await self._service.events.to_room(
                actor.room, "spotlight_changed", {"participant_id": participant_id}
            )
        return None

    # -- the meeting ------------------------------------------------------------------

    async def lock_meeting(self, actor: Participant, locked: bool) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.LOCK_MEETING)
            if locked:
                state.access.lock()
            else:
                state.access.unlock()
        await self._settings_changed(state)
        return None

    async def _settings_changed(self, state: MeetingState) -> None:
        await announce_settings(self._service, state)

    async def configure_meeting(
        self,
        actor: Participant,
        passcode: str | None,
        lobby_enabled: bool | None,
        set_passcode: bool,
    ) -> Result:
        admitted = []
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.CONFIGURE_MEETING)
            if set_passcode:
                state.access.set_passcode(passcode)
            if lobby_enabled is not None:
                admitted = state.access.set_lobby_enabled(lobby_enabled)
        await self._settings_changed(state)
        if admitted:
            await self._lobby_changed(state)
            await self._service.admit_waiting(state, admitted)
        return meeting_settings(state, moderator=True)

    async def _lobby_changed(self, state: MeetingState) -> None:
        await self._service.to_moderators(state, "lobby_changed", lobby_payload(state))

    async def admit(self, actor: Participant, lobby_id: str | None) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.ADMIT)
            lobby = state.access.lobby
            entries = lobby.admit_all() if lobby_id is None else [lobby.admit(lobby_id)]
        await self._lobby_changed(state)
        await self._service.admit_waiting(state, entries)
        return None

    async def deny(self, actor: Participant, lobby_id: str | None) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.DENY)
            lobby = state.access.lobby
            entries = lobby.clear() if lobby_id is None else [lobby.deny(lobby_id)]
        await self._lobby_changed(state)
        await self._service.deny_waiting(
            entries, "denied", "the host did not let you in", actor.room
        )
        return None

    async def end_meeting(self, actor: Participant) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.END_MEETING)
            waiting = state.access.end()
            closed = state.polls.close_all(self._service.clock())
            questionnaires = state.questionnaires.close_all(self._service.clock())
        for poll in closed:
            self._service.publish_poll_closed(state, poll)
        for questionnaire in questionnaires:
            publish_questionnaire_closed(self._service, state, questionnaire)
        await self._service.deny_waiting(
            waiting, "meeting_ended", "the meeting has ended", actor.room
        )
        await self._service.events.to_room(
            actor.room,
            "meeting_ended",
            {"message": f"{actor.name} ended the meeting for everyone", "by": actor.name},
        )
        ended = {**meeting_summary(state), "reason": "ended_by_host", "by": actor.name}
        self._service.tasks.spawn(self._close_room(actor.room, ended))
        return None

    async def _close_room(self, room: str, ended: dict[str, Any]) -> None:
        """Everyone out (after the host's acknowledgement has gone), then the
        ``meeting.ended`` webhook: it comes after every ``participant.left``.

        Each socket leaves the room's broadcast group and is disconnected;
        ``remove`` closes the group when the room empties, so no socket hears
        a later meeting of the same room. Lobby sockets were turned away
        already and close by themselves or after ``unjoined_socket_seconds``."""
        # The other nodes hosting the room let their participants go.
        await self._service.spans.to_peers(room, "end", by=ended.get("by", ""))
        for participant in self._service.participants(room):
            if participant.node is not None:
                continue
            sid = participant.sid
            await self._service.remove(participant, "meeting_ended")
            if sid is not None:
                await self._service.events.disconnect(sid)
        self._service.publisher.publish("meeting.ended", ended)
