"""MeetingService: the domain behind the signaling edge.

Implements ``signaling.MeetingService`` as a facade over the meeting's parts
on this node, each in its own module and each handed this facade as the
narrow context it needs (:mod:`conf_server.meeting.service_context`,
:mod:`conf_server.meeting.meeting_context`), never this class:

- :mod:`~conf_server.meeting.membership`: joining, admission, resuming, the lobby's
  admissions (:mod:`~conf_server.meeting.lobby_waiting` keeps the waiting sockets);
- :mod:`~conf_server.meeting.departures`: leaving, disconnects, reconnect grace, removal;
- :mod:`~conf_server.meeting.media_negotiation`: each room's media, publish, ICE, view, mute;
- :mod:`~conf_server.meeting.room_broadcast`: telling rooms and hosts what changed;
- :mod:`~conf_server.meeting.meeting_records`: timeline, ``poll.closed``, archived report;
- the meeting actions: :mod:`~conf_server.meeting.host_controls`,
  :mod:`~conf_server.meeting.interaction`, :mod:`~conf_server.meeting.recording_control`.

The shared meeting state (roles, entry rules and lobby, hands, polls, chat)
lives in the store; clients hear what changed through an ``EventSink``.
"""

from __future__ import annotations

import time
from typing import Any

from conf_server.cluster.cluster import Cluster, MemoryCluster
from conf_server.cluster.node import NodeAgent
from conf_server.cluster.store import MeetingStore, MemoryStore
from conf_server.domain import LobbyEntry, Poll
from conf_server.domain.meeting_state import MeetingState
from conf_server.errors import ConfServerError
from conf_server.integration.download_links import DownloadLinks
from conf_server.integration.invites import InviteSigner
from conf_server.integration.reports import ReportArchive
from conf_server.settings import Settings
from sfu import SfuStats
from sfu.tasks import TaskGroup
from signaling import EventSink

from .caption_control import CaptionControl
from .decision_control import DecisionControl
from .departures import Departures
from .host_controls import HostControls
from .interaction import Interaction
from .live_reports import URGENT_ACTIONS, LiveReports
from .lobby_waiting import LobbyWaiting
from .media_negotiation import MediaNegotiation
from .meeting_context import ActionHandler
from .meeting_records import MeetingRecords
from .membership import JoinRequest, Membership
from .participation_control import ParticipationControl
from .publisher import EventPublisher, NoPublisher
from .questionnaire_actions import QuestionnaireActions
from .recording_control import RecordingControl
from .room_broadcast import RoomBroadcast
from .room_media import RoomMedia
from .room_moves import RoomMoves, public_roster
from .room_span import RoomSpans
from .rooms import Participant, RoomDirectory


class NotInRoom(ConfServerError):
    code = "not_joined"
    status = 409


class InLobby(ConfServerError):
    code = "in_lobby"
    status = 409


class ServerClock:
    """Wall-clock seconds that never step back (raised hands are ordered by it)."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self) -> float:
        self._last = max(self._last, time.time())
        return self._last


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
        #: Rooms of this node that span nodes (their control plane).
        self.spans = RoomSpans(self)
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
        self.events = events
        self.clock = ServerClock()
        self.tasks = TaskGroup("meeting service")
        #: Media counters of every room on this node (exported at /metrics).
        self.sfu_stats = SfuStats()
        self.negotiation = MediaNegotiation(self, self.sfu_stats)
        self.media: dict[str, RoomMedia] = self.negotiation.media
        self.lobby = LobbyWaiting(self)
        self.membership = Membership(self)
        self.departures = Departures(self)
        self.broadcast = RoomBroadcast(self)
        self.records = MeetingRecords(self)
        #: Questionnaires' actions (their own module; polls are in Interaction).
        self.questionnaire_actions = QuestionnaireActions(self)
        self._actions: dict[str, ActionHandler] = {}
        self.recording = RecordingControl(self)
        self.captions = CaptionControl(self)
        for handlers in (
            HostControls(self),
            Interaction(self),
            DecisionControl(self),
            ParticipationControl(self),
            self.recording,
            self.captions,
        ):
            self._actions.update(handlers.handlers())
        self._actions.update(self.questionnaire_actions.handlers())

    # -- who is where -----------------------------------------------------------------

    def has_session(self, sid: str) -> bool:
        """True if the socket is in a room or waiting in a lobby."""
        return self.directory.by_sid(sid) is not None or sid in self.lobby

    def participant_by_sid(self, sid: str) -> Participant:
        participant = self.directory.by_sid(sid)
        if participant is None:
            if sid in self.lobby:
                raise InLobby("you are waiting in the lobby; only leave is possible")
            raise NotInRoom("join a room first")
        return participant

    def participant(self, room_id: str, participant_id: str) -> Participant | None:
        room = self.directory.rooms.get(room_id)
        return room.participants.get(participant_id) if room else None

    def participants(self, room_id: str) -> list[Participant]:
        return self.broadcast.participants(room_id)

    async def save_roster(self, room_id: str) -> None:
        """Keep the cluster's copy of this room's roster current."""
        await self.moves.save_roster(room_id)

    def lobby_rooms(self) -> set[str]:
        return self.lobby.rooms()

    def waiting_entries(self, room_id: str) -> set[str]:
        return self.lobby.entries(room_id)

    def drop_waiting(self, room_id: str) -> list[str]:
        return self.lobby.drop(room_id)

    # -- signaling: joining, media, actions, leaving ------------------------------------

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
        return await self.membership.join(
            JoinRequest(
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
                token,
            )
        )

    async def publish(self, sid: str, sdp: str, sources: dict[str, str]) -> dict[str, Any]:
        return await self.negotiation.publish(sid, sdp, sources)

    async def publisher_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        await self.negotiation.publisher_ice(sid, candidate, sdp_mid, sdp_mline_index)

    async def subscriber_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        await self.negotiation.subscriber_ice(sid, candidate, sdp_mid, sdp_mline_index)

    async def subscriber_answer(self, sid: str, revision: int, sdp: str) -> None:
        await self.negotiation.subscriber_answer(sid, revision, sdp)

    async def set_view(
        self, sid: str, video: list[str], sizes: dict[str, int], pinned: list[str], later: int = 0
    ) -> None:
        await self.negotiation.set_view(sid, video, sizes, pinned, later)

    async def mute(self, sid: str, source: str, muted: bool) -> None:
        await self.negotiation.mute(sid, source, muted)

    async def action(self, sid: str, name: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """Run a meeting action (host controls, hands, chat, reactions, polls)."""
        participant = self.participant_by_sid(sid)
        handler = self._actions.get(name)
        if handler is None:
            raise ConfServerError(f"unknown event {name!r}", "unknown_event")
        result = await handler(participant, **args)
        self.live_reports.changed(participant.room, urgent=name in URGENT_ACTIONS)
        return result

    async def leave(self, sid: str) -> None:
        await self.departures.leave(sid)

    async def disconnected(self, sid: str, network_loss: bool) -> None:
        await self.departures.disconnected(sid, network_loss)

    # -- the contexts' operations (see meeting_context.py) -------------------------------

    def room_media(self, room_id: str) -> RoomMedia:
        return self.negotiation.room_media(room_id)

    def set_muted(self, participant: Participant, source: str, muted: bool) -> None:
        """Mute or unmute one source of a participant on the server (no notice)."""
        self.negotiation.set_muted(participant, source, muted)

    async def close_room_media(self, room_id: str) -> None:
        await self.negotiation.close_room_media(room_id)

    async def admit_waiting(self, state: MeetingState, entries: list[LobbyEntry]) -> None:
        await self.membership.admit_waiting(state, entries)

    async def deny_waiting(
        self, entries: list[LobbyEntry], code: str, message: str, room: str | None = None
    ) -> None:
        """Turn people away from the lobby (those waiting on another node
        hosting ``room`` there)."""
        elsewhere = [e for e in entries if self.lobby.by_entry(e.id) is None]
        if room is not None and elsewhere and self.spans.enabled:
            await self.spans.to_peers(
                room, "deny", entries=[e.to_dict() for e in elsewhere], code=code, message=message
            )
        await self.lobby.deny(entries, code, message)

    async def detach(self, participant: Participant) -> None:
        await self.departures.detach(participant)

    def start_grace(self, participant: Participant) -> None:
        self.departures.start_grace(participant)

    def cancel_grace(self, participant: Participant) -> None:
        self.departures.cancel_grace(participant)

    async def remove(self, participant: Participant, reason: str) -> None:
        await self.departures.remove(participant, reason)

    async def broadcast_update(self, participant: Participant) -> None:
        await self.broadcast.broadcast_update(participant)

    def moderator_sids(self, state: MeetingState) -> list[str]:
        return self.broadcast.moderator_sids(state)

    async def to_moderators(self, state: MeetingState, event: str, data: dict[str, Any]) -> None:
        await self.broadcast.to_moderators(state, event, data)

    async def meeting_view(self, state: MeetingState, viewer_id: str) -> dict[str, Any]:
        return await self.broadcast.meeting_view(state, viewer_id)

    def sync_flags(self, state: MeetingState, tell_peers: bool = True) -> list[Participant]:
        return self.broadcast.sync_flags(state, tell_peers)

    def publish_poll_closed(self, state: MeetingState, poll: Poll) -> None:
        self.records.publish_poll_closed(state, poll)

    def note_timeline(self, room: str, kind: str, data: dict[str, Any]) -> None:
        self.records.note_timeline(room, kind, data)

    async def archive_report(self, state: MeetingState) -> None:
        await self.records.archive_report(state)

    async def room_info(self, room_id: str) -> dict[str, Any]:
        """Who is in a room, on any node: this node's roster when it hosts the
        room, else the hosting node's copy in the cluster; ``node`` names the
        hosting node (None: none)."""
        owner = await self.cluster.owner(room_id)
        room = self.directory.rooms.get(room_id)
        if owner is not None and owner != self.node.name and room is None:
            if self.node.spans_rooms:
                saved = await self.cluster.rosters(room_id)
                roster = public_roster([entry for node in saved.values() for entry in node])
            else:
                roster = public_roster(await self.cluster.roster(room_id))
            state = await self.store.get(room_id) if roster else None
            meeting_id = state.meeting_id if state is not None else None
        else:
            room = self.directory.rooms.get(room_id)
            roster = room.roster() if room else []
            meeting_id = room.meeting_id if room else None
        return {"room": room_id, "meeting_id": meeting_id, "participants": roster, "node": owner}

    def media_stats(self) -> dict[str, int]:
        return self.negotiation.stats()

    async def close(self) -> None:
        self.departures.cancel_all_grace()
        await self.tasks.cancel_all()
        await self.moves.close()
        await self.spans.close()
        self.recording.close()
        await self.captions.close()
        await self.negotiation.close()
