"""Joining a meeting on this node, top to bottom.

``join`` checks the invite and sends the client to the room's node if the
room lives elsewhere; ``_join_here`` then makes the domain decision in one
store transaction (host? room full? check-in? passcode, lock and lobby via
:class:`~conf_server.domain.MeetingAccess`), puts the admitted participant on
this node's roster, and ``_enter`` wires the media and tells everyone. A
returning socket (resume token) takes the ``_resume`` path; people waiting in
the lobby come in through ``admit_waiting``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from conf_server.cluster.store import StoreUnavailable
from conf_server.domain import Admission, LobbyEntry, Role
from conf_server.domain.meeting_state import MeetingState, Member
from conf_server.errors import ConfServerError
from conf_server.integration.invites import InvalidInvite, Invite
from conf_server.integration.turn_credentials import client_ice_servers
from sfu import timeline
from signaling import PROTOCOL_VERSION
from signaling.text import InvalidText, clean_name

from .lobby_waiting import WaitingJoin
from .media_negotiation import client_media_settings, refuse_when_media_ports_full
from .meeting_views import lobby_payload, meeting_summary, member_summary, mic_locked
from .rooms import Participant, RoomFull, new_participant_id
from .service_context import ServiceContext

logger = logging.getLogger(__name__)

#: How long (s) a join acknowledgement waits, at most, for the newcomer's
#: first subscriber offer to go out before it.
FIRST_OFFER_WAIT_S = 1.0


class UnknownCheckin(ConfServerError):
    code = "unknown_checkin"
    status = 404


@dataclass(frozen=True)
class JoinRequest:
    """What a client sent with ``join`` (see ``signaling.MeetingService.join``)."""

    sid: str
    room: str
    name: str
    resume_token: str | None
    receive: bool = True
    passcode: str | None = None
    host_key: str | None = None
    client_id: str | None = None
    mode: str = "remote"
    zone: str | None = None
    checkin: str | None = None
    token: str | None = None


class Membership:
    """Who gets into this node's rooms, and how."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    async def join(self, request: JoinRequest) -> dict[str, Any]:
        timeline.step(request.sid, "join received")
        invite = None
        if request.token is not None:
            if self._context.invites is None:
                raise InvalidInvite("this server does not take invite tokens")
            invite = self._context.invites.verify(request.token, request.room)
        # Else the client is sent to the room's node (or, in a room that spans
        # nodes, to the node of its resume token, or the one placement picks).
        hosts = await self._context.node.ensure_here(request.room, request.resume_token)
        self._context.spans.placed(request.room, hosts)
        try:
            result = await self._join_here(request, invite)
            timeline.step(request.sid, "join acknowledged")
            return result
        except Exception:
            # A refused join claims nothing: if nobody is here (no member, nobody
            # in the lobby), the room goes back to the directory at once.
            if request.room not in self._context.moves.hosted():
                await self._context.node.release(request.room)
            raise

    async def _join_here(self, request: JoinRequest, invite: Invite | None) -> dict[str, Any]:
        """``join`` once the room lives on this node."""
        name, mode, zone = request.name, request.mode, request.zone
        directory = self._context.directory
        resumed = directory.resume(request.room, name, request.sid, request.resume_token)
        if resumed is None and request.resume_token and self._context.spans.spanning(request.room):
            # A participant of another node hosting the room, whose node is gone.
            taken = await self._context.spans.take_over(
                request.room, request.resume_token, request.sid
            )
            if taken is not None:
                taken.name = name
                return await self._resume(request.sid, taken, "", request.receive)
            # Adopted while take_over looked (its node was found gone): ours now.
            resumed = directory.resume(request.room, name, request.sid, request.resume_token)
        if resumed is not None:
            return await self._resume(request.sid, *resumed, request.receive)
        if request.resume_token:
            logger.info("a resume token for room %s matched nobody: joining anew", request.room)
        # Before anything is created: a participant whose media could get no
        # port would sit in the meeting without sound or picture.
        refuse_when_media_ports_full(
            self._context.settings, sum(len(r.local()) for r in directory.rooms.values())
        )
        state = await self._context.store.get(request.room)
        if state is None:
            state, _ = await self._context.store.create(
                MeetingState(request.room, created_at=self._context.clock(), ad_hoc=True)
            )
        participant_id = new_participant_id()
        identity = (
            f"client:{request.client_id}" if request.client_id else f"participant:{participant_id}"
        )
        if invite is not None:
            identity, name = invite.identity, invite_name(invite.name, name)
            zone = zone or invite.zone
        try:
            async with self._context.store.update(request.room) as state:
                host = request.host_key is not None and secrets.compare_digest(
                    request.host_key.encode(), state.host_key.encode()
                )
                host = host or (invite is not None and invite.role == "host")
                # In a meeting made by simply joining, whoever opens it is its host.
                host = host or (state.ad_hoc and not state.present_ids())
                if not self._context.directory.has_space(request.room):
                    raise RoomFull(f"room {request.room!r} is full")
                if request.checkin is not None:
                    zone = state.zone_of_checkin(request.checkin)
                    if zone is None:
                        raise UnknownCheckin("no room of this meeting has that check-in code")
                    mode = "companion" if mode == "remote" else mode
                admission = state.access.request_entry(
                    participant_id,
                    identity,
                    name,
                    self._context.clock(),
                    request.passcode,
                    privileged=host,
                )
                if mode == "room" and zone is not None:
                    state.checkin_code_for(zone)
                if admission is Admission.WAITING:
                    self._context.lobby.add(
                        WaitingJoin(
                            request.sid,
                            request.room,
                            participant_id,
                            name,
                            request.receive,
                            mode,
                            zone,
                        )
                    )
                else:
                    participant = self._admit(
                        state, request.sid, participant_id, name, identity, host, mode, zone
                    )
                    if invite is not None:
                        state.members[participant_id].user_id = invite.user_id
        except StoreUnavailable:
            # Not saved: take back what the transaction did on this node.
            self._undo_admission(request.sid)
            raise
        if admission is Admission.WAITING:
            await self._context.to_moderators(state, "lobby_changed", lobby_payload(state))
            return {
                "protocol": PROTOCOL_VERSION,
                "room": request.room,
                "waiting": True,
                "lobby_id": participant_id,
            }
        try:
            return await self._enter(participant, state, request.receive)
        except StoreUnavailable:
            # Admitted and saved, but the client got no resume token: keep the
            # place for the reconnect grace only (it joins anew).
            await self._context.detach(participant)
            self._context.start_grace(participant)
            raise

    def _undo_admission(self, sid: str) -> None:
        self._context.lobby.discard(sid)
        stray = self._context.directory.by_sid(sid)
        if stray is not None:
            self._context.directory.remove(stray)

    def _admit(
        self,
        state: MeetingState,
        sid: str,
        participant_id: str,
        name: str,
        identity: str,
        host: bool,
        mode: str,
        zone: str | None,
    ) -> Participant:
        """Inside a store transaction: make someone a member and put them on this
        node's roster."""
        participant = self._context.directory.join(state.room, name, sid, participant_id)
        participant.mode, participant.zone = mode, zone
        self._context.directory.rooms[state.room].meeting_id = state.meeting_id
        now = self._context.clock()
        state.members[participant_id] = Member(
            participant_id, name, identity, now, mode=mode, zone=zone
        )
        state.emptied_at = None
        if host:
            state.roles.set_role(participant_id, Role.HOST)
        if state.mic_locks.is_locked(participant_id) and not host:
            participant.audio_muted = True  # joins muted while microphones are locked
        participant.role = state.roles.role_of(participant_id).value
        participant.mic_locked = mic_locked(state, participant_id)
        return participant

    async def _enter(
        self,
        participant: Participant,
        state: MeetingState,
        receive: bool,
        offer_first: bool = True,
    ) -> dict[str, Any]:
        """After admission: media, the others' notice, and the join result
        (after the first subscriber offer if ``offer_first``)."""
        assert participant.sid is not None
        timeline.step(participant.id, f"admitted as {participant.sid}")
        # The subscriber first: its offer is made (createOffer, ICE gathering)
        # while the awaits below run, not after them (issue 21). A removal
        # meanwhile closes it with the participant's other media.
        media = self._context.room_media(participant.room)
        media.set_zone(participant.id, participant.zone)
        if receive:
            media.add_subscriber(participant.id)
        timeline.step(participant.id, "join: subscriber added")
        await self._context.events.enter_room(participant.sid, participant.room)
        await self._context.store.expire(state.room, None)
        await self._still_here(participant, participant.sid)
        await self._context.spans.entered(participant.room)
        await self._context.events.to_room(
            participant.room,
            "participant_joined",
            {"participant": participant.to_wire()},
            skip_sid=participant.sid,
        )
        timeline.step(participant.id, "join: participant_joined sent")
        await self._context.recording.room_entered(state)
        await self._context.save_roster(participant.room)
        timeline.step(participant.id, "join: roster saved")
        self._context.live_reports.changed(participant.room, urgent=True)
        if state.present_ids() == [participant.id]:
            self._context.publisher.publish("meeting.started", meeting_summary(state))
        self._context.note_timeline(
            participant.room, "participant.joined", member_summary(state, participant.id)
        )
        self._context.publisher.publish(
            "participant.joined",
            {**meeting_summary(state), "participant": member_summary(state, participant.id)},
        )
        if offer_first:
            await self._offer_before_acknowledgement(participant)
        return await self._join_result(participant, state, resumed=False)

    async def _offer_before_acknowledgement(self, participant: Participant) -> None:
        """A newcomer's first subscriber offer goes out before its join
        acknowledgement: the client sets up its receiving connection and
        answers it before it publishes or builds any view (issue 21)."""
        transport = self._context.room_media(participant.room).subscribers.get(participant.id)
        if transport is not None:
            await transport.first_offer_sent(FIRST_OFFER_WAIT_S)
        timeline.step(participant.id, "join: first offer out")

    async def _join_result(
        self, participant: Participant, state: MeetingState, resumed: bool
    ) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL_VERSION,
            "room": participant.room,
            "participant_id": participant.id,
            "resume_token": participant.resume_token,
            "resumed": resumed,
            "participants": self._context.directory.rooms[participant.room].roster(),
            "ice_servers": self._ice_servers(participant.id),
            "media": client_media_settings(self._context.settings.simulcast),
            "meeting": await self._context.meeting_view(state, participant.id),
        }

    def _ice_servers(self, participant_id: str) -> list[dict[str, Any]]:
        """The join's ICE servers; TURN credentials are new on every join and
        resume, so a reconnect never uses expired ones."""
        settings = self._context.settings
        return client_ice_servers(
            settings.ice_servers,
            user=participant_id,
            now=self._context.clock(),
            turn_secret=settings.turn_secret,
            lifetime_seconds=settings.turn_credential_seconds,
            turn_username=settings.turn_username,
            turn_password=settings.turn_password,
        )

    async def _still_here(self, participant: Participant, sid: str) -> None:
        """After an await on the way in: if the participant was removed meanwhile
        (removed by a host, the meeting ended), its socket must not stay in the
        room's broadcast group."""
        if self._context.directory.by_sid(sid) is not participant:
            await self._context.events.leave_room(sid, participant.room)
            raise ConfServerError("the meeting closed while you were joining", "no_meeting")

    async def _resume(
        self, sid: str, participant: Participant, previous_sid: str, receive: bool
    ) -> dict[str, Any]:
        room = participant.room
        if previous_sid:
            # The owner came back on a new socket before the old one timed out.
            await self._context.events.leave_room(previous_sid, room)
            await self._context.events.disconnect(previous_sid)
        self._context.cancel_grace(participant)
        media = self._context.room_media(room)
        # Fresh peer connections: whatever was left of the old ones goes.
        await media.remove_participant(participant.id)
        participant.screen_sharing = False
        await self._context.events.enter_room(sid, room)
        await self._still_here(participant, sid)
        media.set_zone(participant.id, participant.zone)
        if receive:
            media.add_subscriber(participant.id)
        await self._context.spans.entered(room)
        await self._context.broadcast_update(participant)
        state = await self._context.store.get(room)
        if state is None:  # cannot happen while the room has participants
            raise ConfServerError("the meeting of this room is gone", "meeting_ended")
        await self._offer_before_acknowledgement(participant)
        return await self._join_result(participant, state, resumed=True)

    async def admit_waiting(self, state: MeetingState, entries: list[LobbyEntry]) -> None:
        """Let people in from the lobby (their lobby entries are already gone);
        those waiting on another node hosting the room are let in there."""
        elsewhere = [e for e in entries if self._context.lobby.by_entry(e.id) is None]
        if elsewhere and self._context.spans.enabled:
            await self._context.spans.to_peers(
                state.room, "admit", entries=[e.to_dict() for e in elsewhere]
            )
        for entry in entries:
            waiting = self._context.lobby.by_entry(entry.id)
            if waiting is None:
                continue  # they left meanwhile, or wait on another node
            try:
                async with self._context.store.update(state.room) as current:
                    participant = self._admit(
                        current,
                        waiting.sid,
                        entry.id,
                        waiting.name,
                        entry.identity,
                        False,
                        waiting.mode,
                        waiting.zone,
                    )
                self._context.lobby.discard(waiting.sid)
                # Not after each one's offer: a host admitting many would wait.
                result = await self._enter(participant, current, waiting.receive, offer_first=False)
            except ConfServerError as exc:
                self._context.lobby.discard(waiting.sid)
                await self._context.events.to_client(
                    waiting.sid, "lobby_denied", {"code": exc.code, "message": exc.message}
                )
                continue
            await self._context.events.to_client(
                waiting.sid, "lobby_admitted", {"ok": True, **result}
            )


def invite_name(from_invite: str, typed: str) -> str:
    """The invite's display name (the chat app knows the person), under the
    same text rule as a typed name (signaling/text.py); the typed one if the
    invite's is unusable."""
    try:
        return clean_name(from_invite)
    except InvalidText:
        return typed
