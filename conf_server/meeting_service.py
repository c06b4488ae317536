"""MeetingService: the domain behind the signaling edge.

Implements ``signaling.MeetingService``. It keeps this node's roster
(RoomDirectory) and one RoomMedia per live room, keeps the shared meeting
state (roles, entry rules and lobby, hands, polls, chat) in the store, and
tells clients what changed through an ``EventSink``. Joining (with passcode,
lock and lobby), leaving and reconnect grace live here; the meeting actions
live in :mod:`conf_server.host_controls` and :mod:`conf_server.interaction`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sfu import PublishTransport, SfuError, SfuSettings, SfuStats, SubscribeTransport
from sfu.tasks import TaskGroup
from signaling import PROTOCOL_VERSION, EventSink
from signaling.text import InvalidText, clean_name

from .cluster import Cluster, MemoryCluster
from .domain import Admission, LobbyEntry, Poll, Role
from .download_links import DownloadLinks
from .errors import ConfServerError
from .host_controls import HostControls
from .interaction import Interaction
from .invites import InvalidInvite, Invite, InviteSigner
from .live_reports import URGENT_ACTIONS, LiveReports
from .meeting_state import CHAT_LOG, MeetingState, Member
from .meeting_views import (
    is_moderator,
    lobby_payload,
    meeting_summary,
    meeting_view,
    member_summary,
    mic_locked,
)
from .node import NodeAgent
from .publisher import EventPublisher, NoPublisher
from .recording_control import RecordingControl
from .reports import ReportArchive, build_report, polls_csv
from .room_media import RoomMedia
from .room_moves import RoomMoves, public_roster
from .rooms import Participant, RoomDirectory, RoomFull, new_participant_id
from .settings import Settings
from .store import MeetingStore, MemoryStore, NoMeeting, StoreUnavailable

logger = logging.getLogger(__name__)

#: How often a change the store could not take is tried again.
STORE_RETRY_SECONDS = 2.0

ActionHandler = Callable[..., Awaitable[dict[str, Any] | None]]


class NotInRoom(ConfServerError):
    code = "not_joined"
    status = 409


class InLobby(ConfServerError):
    code = "in_lobby"
    status = 409


class UnknownCheckin(ConfServerError):
    code = "unknown_checkin"
    status = 404


class ServerClock:
    """Wall-clock seconds that never step back (raised hands are ordered by it)."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self) -> float:
        self._last = max(self._last, time.time())
        return self._last


@dataclass
class WaitingJoin:
    """A socket whose owner waits in the lobby."""

    sid: str
    room: str
    entry_id: str
    name: str
    receive: bool
    mode: str
    zone: str | None


class MeetingService:
    """Rooms, participants, their meeting state and their media on this node."""

    def __init__(
        self,
        settings: Settings,
        events: EventSink,
        store: MeetingStore | None = None,
        invites: InviteSigner | None = None,
        publisher: EventPublisher | None = None,
        archive: ReportArchive | None = None,
        cluster: Cluster | None = None,
    ) -> None:
        self.settings = settings
        self.store: MeetingStore = store if store is not None else MemoryStore()
        self.cluster: Cluster = cluster if cluster is not None else MemoryCluster()
        self.moves = RoomMoves(self)
        #: This node's part in the deployment (placement, heartbeat, takeover).
        self.node = NodeAgent(settings, self.cluster, self.moves)
        self.invites = invites
        #: Signed links for hosts' downloads (set by create_app; None: no links).
        self.download_links: DownloadLinks | None = None
        self.publisher: EventPublisher = publisher if publisher is not None else NoPublisher()
        self.archive = archive
        #: Live snapshots of the hosted meetings' reports (crash safety).
        self.live_reports = LiveReports(self)
        self.directory = RoomDirectory(settings.max_participants_per_room)
        self.media: dict[str, RoomMedia] = {}
        self.events = events
        self.clock = ServerClock()
        self._sfu_settings = SfuSettings(
            ice_servers=settings.ice_servers,
            ice_addresses=settings.ice_addresses,
            max_video_bitrate=settings.max_video_bitrate,
        )
        #: Media counters of every room on this node (exported at /metrics).
        self.sfu_stats = SfuStats()
        self._grace: dict[str, asyncio.TimerHandle] = {}
        self._waiting: dict[str, WaitingJoin] = {}  # by socket id
        self.tasks = TaskGroup("meeting service")
        self._actions: dict[str, ActionHandler] = {}
        self.recording = RecordingControl(self)
        for handlers in (HostControls(self), Interaction(self), self.recording):
            self._actions.update(handlers.handlers())

    # -- helpers -------------------------------------------------------------------

    def has_session(self, sid: str) -> bool:
        """True if the socket is in a room or waiting in a lobby."""
        return self.directory.by_sid(sid) is not None or sid in self._waiting

    def participant_by_sid(self, sid: str) -> Participant:
        participant = self.directory.by_sid(sid)
        if participant is None:
            if sid in self._waiting:
                raise InLobby("you are waiting in the lobby; only leave is possible")
            raise NotInRoom("join a room first")
        return participant

    def participant(self, room_id: str, participant_id: str) -> Participant | None:
        room = self.directory.rooms.get(room_id)
        return room.participants.get(participant_id) if room else None

    def participants(self, room_id: str) -> list[Participant]:
        room = self.directory.rooms.get(room_id)
        return list(room.participants.values()) if room else []

    def room_media(self, room_id: str) -> RoomMedia:
        media = self.media.get(room_id)
        if media is None:

            async def send_offer(participant_id: str, offer: dict[str, Any]) -> None:
                participant = self.participant(room_id, participant_id)
                if participant is not None and participant.sid is not None:
                    await self.events.to_client(participant.sid, "subscriber_offer", offer)

            async def speaker_changed(participant_id: str) -> None:
                await self.events.to_room(
                    room_id, "active_speaker", {"participant_id": participant_id}
                )

            media = self.media[room_id] = RoomMedia(
                self._sfu_settings, send_offer, speaker_changed, self.sfu_stats
            )
        return media

    async def save_roster(self, room_id: str) -> None:
        """Keep the cluster's copy of this room's roster current."""
        await self.moves.save_roster(room_id)

    def lobby_rooms(self) -> set[str]:
        """Rooms with someone waiting in their lobby on this node."""
        return {w.room for w in self._waiting.values()}

    def waiting_entries(self, room_id: str) -> set[str]:
        """Lobby entry ids of this room whose sockets wait on this node."""
        return {w.entry_id for w in self._waiting.values() if w.room == room_id}

    def drop_waiting(self, room_id: str) -> list[str]:
        """Forget this room's lobby sockets (the room moves); returns their ids."""
        sids = [w.sid for w in self._waiting.values() if w.room == room_id]
        for sid in sids:
            del self._waiting[sid]
        return sids

    async def broadcast_update(self, participant: Participant) -> None:
        await self.events.to_room(
            participant.room, "participant_updated", {"participant": participant.to_wire()}
        )
        await self.save_roster(participant.room)

    def moderator_sids(self, state: MeetingState) -> list[str]:
        """Sockets of this room's hosts and co-hosts."""
        return [
            p.sid
            for p in self.participants(state.room)
            if p.sid is not None and is_moderator(state.roles.role_of(p.id))
        ]

    async def to_moderators(self, state: MeetingState, event: str, data: dict[str, Any]) -> None:
        for sid in self.moderator_sids(state):
            await self.events.to_client(sid, event, data)

    async def meeting_view(self, state: MeetingState, viewer_id: str) -> dict[str, Any]:
        """The Meeting object for one participant (chat history included)."""
        history = await self.store.read(state.room, CHAT_LOG)
        return meeting_view(
            state, viewer_id, history[-state.chat.max_history :], self.recording.status(state.room)
        )

    def sync_flags(self, state: MeetingState) -> list[Participant]:
        """Copy role and microphone lock from the meeting state onto this node's
        participants; returns those that changed."""
        changed = []
        for participant in self.participants(state.room):
            role = state.roles.role_of(participant.id).value
            locked = mic_locked(state, participant.id)
            if (role, locked) != (participant.role, participant.mic_locked):
                participant.role, participant.mic_locked = role, locked
                changed.append(participant)
        return changed

    # -- joining -------------------------------------------------------------------

    async def join(
        self,
        sid: str,
        room: str,
        name: str,
        resume_token: str | None,
        receive: bool = True,
        passcode: str | None = None,
        host_key: str | None = None,
        client_id: str | None = None,
        mode: str = "remote",
        zone: str | None = None,
        checkin: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        invite = None
        if token is not None:
            if self.invites is None:
                raise InvalidInvite("this server does not take invite tokens")
            invite = self.invites.verify(token, room)
        await self.node.ensure_here(room)  # else the client is sent to the room's node
        try:
            return await self._join_here(
                sid,
                room,
                name,
                resume_token,
                receive,
                passcode,
                host_key,
                client_id,
                mode,
                zone,
                checkin,
                invite,
            )
        except Exception:
            # A refused join claims nothing: if nobody is here (no member, nobody
            # in the lobby), the room goes back to the directory at once.
            if room not in self.moves.hosted():
                await self.node.release(room)
            raise

    async def _join_here(
        self,
        sid: str,
        room: str,
        name: str,
        resume_token: str | None,
        receive: bool,
        passcode: str | None,
        host_key: str | None,
        client_id: str | None,
        mode: str,
        zone: str | None,
        checkin: str | None,
        invite: Invite | None,
    ) -> dict[str, Any]:
        """``join`` once the room lives on this node."""
        resumed = self.directory.resume(room, name, sid, resume_token)
        if resumed is not None:
            return await self._resume(sid, *resumed, receive)
        if resume_token:
            logger.info("a resume token for room %s matched nobody: joining anew", room)
        state = await self.store.get(room)
        if state is None:
            state, _ = await self.store.create(
                MeetingState(room, created_at=self.clock(), ad_hoc=True)
            )
        participant_id = new_participant_id()
        identity = f"client:{client_id}" if client_id else f"participant:{participant_id}"
        if invite is not None:
            identity, name = invite.identity, invite_name(invite.name, name)
            zone = zone or invite.zone
        try:
            async with self.store.update(room) as state:
                host = host_key is not None and secrets.compare_digest(
                    host_key.encode(), state.host_key.encode()
                )
                host = host or (invite is not None and invite.role == "host")
                # In a meeting made by simply joining, whoever opens it is its host.
                host = host or (state.ad_hoc and not state.present_ids())
                if not self.directory.has_space(room):
                    raise RoomFull(f"room {room!r} is full")
                if checkin is not None:
                    zone = state.zone_of_checkin(checkin)
                    if zone is None:
                        raise UnknownCheckin("no room of this meeting has that check-in code")
                    mode = "companion" if mode == "remote" else mode
                admission = state.access.request_entry(
                    participant_id, identity, name, self.clock(), passcode, privileged=host
                )
                if mode == "room" and zone is not None:
                    state.checkin_code_for(zone)
                if admission is Admission.WAITING:
                    self._waiting[sid] = WaitingJoin(
                        sid, room, participant_id, name, receive, mode, zone
                    )
                else:
                    participant = self._admit(
                        state, sid, participant_id, name, identity, host, mode, zone
                    )
                    if invite is not None:
                        state.members[participant_id].user_id = invite.user_id
        except StoreUnavailable:
            # Not saved: take back what the transaction did on this node.
            self._undo_admission(sid)
            raise
        if admission is Admission.WAITING:
            await self.to_moderators(state, "lobby_changed", lobby_payload(state))
            return {
                "protocol": PROTOCOL_VERSION,
                "room": room,
                "waiting": True,
                "lobby_id": participant_id,
            }
        try:
            return await self._enter(participant, state, receive)
        except StoreUnavailable:
            # Admitted and saved, but the client got no resume token: keep the
            # place for the reconnect grace only (it joins anew).
            await self.detach(participant)
            self.start_grace(participant)
            raise

    def _undo_admission(self, sid: str) -> None:
        self._waiting.pop(sid, None)
        stray = self.directory.by_sid(sid)
        if stray is not None:
            self.directory.remove(stray)

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
        participant = self.directory.join(state.room, name, sid, participant_id)
        participant.mode, participant.zone = mode, zone
        self.directory.rooms[state.room].meeting_id = state.meeting_id
        now = self.clock()
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
        self, participant: Participant, state: MeetingState, receive: bool
    ) -> dict[str, Any]:
        """After admission: media, the others' notice, and the join result."""
        assert participant.sid is not None
        await self.events.enter_room(participant.sid, participant.room)
        await self.store.expire(state.room, None)
        await self._still_here(participant, participant.sid)
        media = self.room_media(participant.room)
        media.set_zone(participant.id, participant.zone)
        if receive:
            media.add_subscriber(participant.id)
        await self.events.to_room(
            participant.room,
            "participant_joined",
            {"participant": participant.to_wire()},
            skip_sid=participant.sid,
        )
        await self.recording.room_entered(state)
        await self.save_roster(participant.room)
        self.live_reports.changed(participant.room, urgent=True)
        if state.present_ids() == [participant.id]:
            self.publisher.publish("meeting.started", meeting_summary(state))
        self.note_timeline(
            participant.room, "participant.joined", member_summary(state, participant.id)
        )
        self.publisher.publish(
            "participant.joined",
            {**meeting_summary(state), "participant": member_summary(state, participant.id)},
        )
        return await self._join_result(participant, state, resumed=False)

    async def _join_result(
        self, participant: Participant, state: MeetingState, resumed: bool
    ) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL_VERSION,
            "room": participant.room,
            "participant_id": participant.id,
            "resume_token": participant.resume_token,
            "resumed": resumed,
            "participants": self.directory.rooms[participant.room].roster(),
            "ice_servers": [{"urls": url} for url in self.settings.ice_servers],
            "meeting": await self.meeting_view(state, participant.id),
        }

    async def _still_here(self, participant: Participant, sid: str) -> None:
        """After an await on the way in: if the participant was removed meanwhile
        (removed by a host, the meeting ended), its socket must not stay in the
        room's broadcast group."""
        if self.directory.by_sid(sid) is not participant:
            await self.events.leave_room(sid, participant.room)
            raise ConfServerError("the meeting closed while you were joining", "no_meeting")

    async def _resume(
        self, sid: str, participant: Participant, previous_sid: str, receive: bool
    ) -> dict[str, Any]:
        room = participant.room
        if previous_sid:
            # The owner came back on a new socket before the old one timed out.
            await self.events.leave_room(previous_sid, room)
            await self.events.disconnect(previous_sid)
        self.cancel_grace(participant)
        media = self.room_media(room)
        # Fresh peer connections: whatever was left of the old ones goes.
        await media.remove_participant(participant.id)
        participant.screen_sharing = False
        await self.events.enter_room(sid, room)
        await self._still_here(participant, sid)
        media.set_zone(participant.id, participant.zone)
        if receive:
            media.add_subscriber(participant.id)
        await self.broadcast_update(participant)
        state = await self.store.get(room)
        if state is None:  # cannot happen while the room has participants
            raise ConfServerError("the meeting of this room is gone", "meeting_ended")
        return await self._join_result(participant, state, resumed=True)

    async def admit_waiting(self, state: MeetingState, entries: list[LobbyEntry]) -> None:
        """Let people in from the lobby (their lobby entries are already gone)."""
        for entry in entries:
            waiting = self._waiting_by_entry(entry.id)
            if waiting is None:
                continue  # they left meanwhile
            try:
                async with self.store.update(state.room) as current:
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
                del self._waiting[waiting.sid]
                result = await self._enter(participant, current, waiting.receive)
            except ConfServerError as exc:
                del self._waiting[waiting.sid]
                await self.events.to_client(
                    waiting.sid, "lobby_denied", {"code": exc.code, "message": exc.message}
                )
                continue
            await self.events.to_client(waiting.sid, "lobby_admitted", {"ok": True, **result})

    async def deny_waiting(self, entries: list[LobbyEntry], code: str, message: str) -> None:
        for entry in entries:
            waiting = self._waiting_by_entry(entry.id)
            if waiting is not None:
                del self._waiting[waiting.sid]
                await self.events.to_client(
                    waiting.sid, "lobby_denied", {"code": code, "message": message}
                )

    def _waiting_by_entry(self, entry_id: str) -> WaitingJoin | None:
        for waiting in self._waiting.values():
            if waiting.entry_id == entry_id:
                return waiting
        return None

    async def _leave_lobby(self, sid: str) -> None:
        waiting = self._waiting.pop(sid)
        try:
            async with self.store.update(waiting.room) as state:
                state.access.lobby.leave(waiting.entry_id)
        except NoMeeting:
            return
        await self.to_moderators(state, "lobby_changed", lobby_payload(state))

    # -- media -----------------------------------------------------------------------

    async def publish(self, sid: str, sdp: str, sources: dict[str, str]) -> dict[str, Any]:
        participant = self.participant_by_sid(sid)
        media = self.room_media(participant.room)
        try:
            answer = await media.publish(participant.id, sdp, sources)
        except SfuError as exc:
            raise ConfServerError(exc.message, exc.code) from exc
        # A source published while muted starts paused too.
        media.set_paused(participant.id, "microphone", participant.audio_muted)
        media.set_paused(participant.id, "camera", participant.video_muted)
        media.set_paused(participant.id, "screen", False)
        sharing = "screen" in media.sources_of(participant.id)
        if sharing != participant.screen_sharing:
            participant.screen_sharing = sharing
            await self.broadcast_update(participant)
        return {"sdp": answer}

    async def publisher_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        participant = self.participant_by_sid(sid)
        transport = self.room_media(participant.room).publishers.get(participant.id)
        if transport is None:
            raise ConfServerError("send publish before ICE candidates", "invalid_state")
        await self._add_candidate(transport, candidate, sdp_mid, sdp_mline_index)

    async def subscriber_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        participant = self.participant_by_sid(sid)
        transport = self.room_media(participant.room).subscribers.get(participant.id)
        if transport is None or transport.pc.remoteDescription is None:
            raise ConfServerError(
                "answer a subscriber_offer before ICE candidates", "invalid_state"
            )
        await self._add_candidate(transport, candidate, sdp_mid, sdp_mline_index)

    @staticmethod
    async def _add_candidate(
        transport: PublishTransport | SubscribeTransport,
        candidate: str,
        sdp_mid: str | None,
        sdp_mline_index: int | None,
    ) -> None:
        if not candidate:
            return  # end-of-candidates: aiortc needs no notice
        try:
            await transport.add_ice_candidate(candidate, sdp_mid, sdp_mline_index)
        except SfuError as exc:
            raise ConfServerError(exc.message, exc.code) from exc

    async def subscriber_answer(self, sid: str, revision: int, sdp: str) -> None:
        participant = self.participant_by_sid(sid)
        transport = self.room_media(participant.room).subscribers.get(participant.id)
        if transport is None:
            raise ConfServerError("no subscriber offer is pending", "stale_answer")
        try:
            await transport.accept_answer(revision, sdp)
        except SfuError as exc:
            raise ConfServerError(exc.message, exc.code) from exc

    async def set_view(self, sid: str, video: list[str]) -> None:
        participant = self.participant_by_sid(sid)
        self.room_media(participant.room).set_view(participant.id, set(video))

    async def mute(self, sid: str, source: str, muted: bool) -> None:
        participant = self.participant_by_sid(sid)
        if source == "microphone" and not muted and participant.audio_muted:
            state = await self.store.get(participant.room)
            if state is not None and mic_locked(state, participant.id):
                raise ConfServerError(
                    "a host has locked your microphone; ask them to let you talk",
                    "mic_locked",
                )
        self.set_muted(participant, source, muted)
        await self.broadcast_update(participant)

    def set_muted(self, participant: Participant, source: str, muted: bool) -> None:
        """Mute or unmute one source of a participant on the server (no notice)."""
        if source == "microphone":
            participant.audio_muted = muted
        elif source == "camera":
            participant.video_muted = muted
        elif source == "screen":
            participant.screen_sharing = not muted and participant.screen_sharing
        self.room_media(participant.room).set_paused(participant.id, source, muted)

    # -- meeting actions -------------------------------------------------------------

    async def action(self, sid: str, name: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """Run a meeting action (host controls, hands, chat, reactions, polls)."""
        participant = self.participant_by_sid(sid)
        handler = self._actions.get(name)
        if handler is None:
            raise ConfServerError(f"unknown event {name!r}", "unknown_event")
        result = await handler(participant, **args)
        self.live_reports.changed(participant.room, urgent=name in URGENT_ACTIONS)
        return result

    # -- leaving -------------------------------------------------------------------

    async def leave(self, sid: str) -> None:
        if sid in self._waiting:
            await self._leave_lobby(sid)
            return
        await self.remove(self.participant_by_sid(sid), "left")

    async def disconnected(self, sid: str, network_loss: bool) -> None:
        if sid in self._waiting:
            await self._leave_lobby(sid)
            return
        participant = self.directory.by_sid(sid)
        if participant is None:
            return
        if not network_loss:
            await self.remove(participant, "disconnected")
            return
        await self.detach(participant)
        media = self.media.get(participant.room)
        if media is not None:
            await media.remove_participant(participant.id)
        participant.screen_sharing = False
        await self.broadcast_update(participant)
        self.start_grace(participant)

    async def detach(self, participant: Participant) -> None:
        """The participant keeps its place but no socket: its socket (if any)
        leaves the room's broadcast group, so it hears nothing more."""
        if participant.sid is not None:
            await self.events.leave_room(participant.sid, participant.room)
        self.directory.detach(participant)

    def start_grace(self, participant: Participant) -> None:
        """Keep the participant's place for the reconnect grace, then remove them."""
        self.cancel_grace(participant)
        loop = asyncio.get_running_loop()
        self._grace[participant.id] = loop.call_later(
            self.settings.reconnect_grace_seconds, self._grace_expired, participant
        )

    def cancel_grace(self, participant: Participant) -> None:
        timer = self._grace.pop(participant.id, None)
        if timer is not None:
            timer.cancel()

    def _grace_expired(self, participant: Participant) -> None:
        self._grace.pop(participant.id, None)
        if not participant.connected:
            self.tasks.spawn(self.remove(participant, "timeout"))

    async def remove(self, participant: Participant, reason: str) -> None:
        """Take a participant out of the room for good (left, removed, timed out)."""
        self.cancel_grace(participant)
        room_id = participant.room
        if self.participant(room_id, participant.id) is None:
            return  # already gone
        # Out of the broadcast group before anything else is awaited: from here
        # on, whatever the room says is not for this socket.
        await self.detach(participant)
        room = self.directory.remove(participant)
        if room is None:
            await self.events.close_room(room_id)  # no stray socket outlives it
        media = self.media.get(room_id)
        if media is not None:
            await media.remove_participant(participant.id)
        await self.events.to_room(
            room_id, "participant_left", {"participant_id": participant.id, "reason": reason}
        )
        self.note_timeline(
            room_id,
            "participant.left",
            {"id": participant.id, "name": participant.name, "reason": reason},
        )
        try:
            await self._member_left(room_id, participant.id, reason)
        except StoreUnavailable:
            # They are gone from the room already; the shared state learns it
            # as soon as the store is back (never silently dropped).
            self.tasks.spawn(self._member_left_later(room_id, participant.id, reason))
        if room is None:
            await self.close_room_media(room_id)
            await self.node.release(room_id)
        else:
            await self.save_roster(room_id)

    async def _member_left(self, room_id: str, participant_id: str, reason: str) -> None:
        """The shared-state half of :meth:`remove`, and what follows from it."""
        hands_moved = spotlight_ended = False
        try:
            async with self.store.update(room_id) as state:
                member = state.members.get(participant_id)
                if member is not None and member.left_at is None:
                    member.left_at = self.clock()
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
                    state.emptied_at = self.clock()
        except NoMeeting:
            return
        self.live_reports.changed(room_id, urgent=True)
        if hands_moved:
            await self.events.to_room(room_id, "hands_changed", {"hands": state.hands.snapshot()})
            self.note_timeline(room_id, "hands", {"hands": state.hands.snapshot()})
        if spotlight_ended:
            await self.events.to_room(room_id, "spotlight_changed", {"participant_id": None})
        self.publisher.publish(
            "participant.left",
            {
                **meeting_summary(state),
                "participant": member_summary(state, participant_id),
                "reason": reason,
            },
        )
        if state.emptied_at is not None:
            if not state.ended:
                self.publisher.publish(
                    "meeting.ended", {**meeting_summary(state), "reason": "empty"}
                )
            await self.archive_report(state)
            await self.store.expire(room_id, self.settings.empty_meeting_ttl_seconds)

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

    def publish_poll_closed(self, state: MeetingState, poll: Poll) -> None:
        """``poll.closed`` with the aggregate results (never who chose what)."""
        results = poll.results(reveal_correct=True)
        self.publisher.publish("poll.closed", {**meeting_summary(state), "poll": results})
        self.note_timeline(state.room, "poll.closed", {"poll": results})

    def note_timeline(self, room: str, kind: str, data: dict[str, Any]) -> None:
        """Put a meeting event on the timeline of the room's recording, if any."""
        recorder = self.recording.recorders.get(room)
        if recorder is not None:
            recorder.note(kind, data)

    async def archive_report(self, state: MeetingState) -> None:
        """Keep the meeting's report beyond the life of its state."""
        if self.archive is not None:
            chat = await self.store.read(state.room, CHAT_LOG)
            self.archive.save(build_report(state, chat), polls_csv(state))
            self.live_reports.archived(state.room)

    # -- introspection and shutdown -------------------------------------------------

    async def room_info(self, room_id: str) -> dict[str, Any]:
        """Who is in a room, on any node: this node's roster when it hosts the
        room, else the hosting node's copy in the cluster; ``node`` names the
        hosting node (None: none)."""
        owner = await self.cluster.owner(room_id)
        if owner is not None and owner != self.node.name:
            roster = public_roster(await self.cluster.roster(room_id))
            state = await self.store.get(room_id) if roster else None
            meeting_id = state.meeting_id if state is not None else None
        else:
            room = self.directory.rooms.get(room_id)
            roster = room.roster() if room else []
            meeting_id = room.meeting_id if room else None
        return {"room": room_id, "meeting_id": meeting_id, "participants": roster, "node": owner}

    async def close_room_media(self, room_id: str) -> None:
        """The room has nobody here any more: stop its recorder and its media."""
        self.recording.room_closed(room_id)
        media = self.media.pop(room_id, None)
        if media is not None:
            await media.close()

    def media_stats(self) -> dict[str, int]:
        totals: dict[str, int] = {"rooms": len(self.media)}
        for media in self.media.values():
            for key, value in media.stats().items():
                totals[key] = totals.get(key, 0) + value
        return totals

    async def close(self) -> None:
        for timer in self._grace.values():
            timer.cancel()
        self._grace.clear()
        await self.tasks.cancel_all()
        await self.moves.close()
        self.recording.close()
        for media in list(self.media.values()):
            await media.close()
        self.media.clear()


def invite_name(from_invite: str, typed: str) -> str:
    """The invite's display name (the chat app knows the person), under the
    same text rule as a typed name (signaling/text.py); the typed one if the
    invite's is unusable."""
    try:
        return clean_name(from_invite)
    except InvalidText:
        return typed
