"""The narrow views of the meeting on this node that its parts work against.

The meeting's parts (host controls, interaction, recording control, room
moves, live reports, meeting creation, and the pieces of the service itself:
membership, lobby waiting, media negotiation, departures) do not know
``MeetingService``: each is handed an object that satisfies one of these
protocols. ``MeetingService`` is that object; it composes the parts. So the
imports point one way (service → parts → this module) and never circle back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from conf_server.cluster.cluster import Cluster
from conf_server.cluster.node import NodeAgent
from conf_server.cluster.store import MeetingStore
from conf_server.domain import LobbyEntry, Poll
from conf_server.domain.meeting_state import MeetingState
from conf_server.integration.download_links import DownloadLinks
from conf_server.integration.reports import ReportArchive
from conf_server.settings import Settings
from recording.library import RecordingLibrary
from sfu import SfuStats
from sfu.tasks import TaskGroup
from signaling import EventSink

from .publisher import EventPublisher
from .room_media import RoomMedia
from .rooms import Participant, RoomDirectory
from .span_requests import SpanRequests

#: A meeting action: called with the acting participant and the event's arguments.
ActionHandler = Callable[..., Awaitable[dict[str, Any] | None]]


class Spans(Protocol):
    """Rooms that span nodes, as the meeting's parts use them
    (:class:`conf_server.meeting.room_span.RoomSpans`)."""

    def spanning(self, room: str) -> bool:
        """Does ``room`` have participants on other nodes too?"""
        ...

    def changed(self, room: str, peer: str | None = None) -> None:
        """This node's participants of ``room`` changed: tell the other nodes."""
        ...

    def is_satellite(self, room: str) -> bool:
        """Does another node own ``room`` (this one hosts some of its people)?"""
        ...

    async def left(self, room: str) -> None: ...

    async def sync(self, hosts: dict[str, list[str]], live: set[str] | None) -> None: ...

    async def handing_over(self, room: str, node: str) -> bool:
        """This node hands ``room`` to ``node`` (drain): it takes up the
        recording now; True if it records the room."""
        ...

    def moved(self, room: str) -> None: ...

    async def media_closed(self, room: str) -> None: ...

    async def command(self, room: str, node: str, action: str, **args: Any) -> None:
        """Ask ``node`` to act on its participants of ``room``."""
        ...

    async def to_peers(self, room: str, action: str, **args: Any) -> None:
        """A command to every other node hosting ``room``."""
        ...

    @property
    def requests(self) -> SpanRequests:
        """Requests another node answers (and this node's answers to theirs)."""
        ...

    async def owner_elsewhere(self, room: str) -> str | None:
        """The room's owner if it is another node, else None."""
        ...


class MeetingBasics(Protocol):
    """What every part may use: settings, shared state, events, clock, tasks."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> MeetingStore: ...

    @property
    def events(self) -> EventSink: ...

    @property
    def publisher(self) -> EventPublisher: ...

    @property
    def tasks(self) -> TaskGroup: ...

    @property
    def spans(self) -> Spans: ...

    def clock(self) -> float:
        """Wall-clock seconds that never step back."""
        ...


class RoomView(MeetingBasics, Protocol):
    """This node's roster of a room and how the room hears about changes."""

    @property
    def directory(self) -> RoomDirectory: ...

    def participant(self, room_id: str, participant_id: str) -> Participant | None: ...

    def participants(self, room_id: str) -> list[Participant]: ...

    async def broadcast_update(self, participant: Participant) -> None: ...

    def moderator_sids(self, state: MeetingState) -> list[str]: ...

    async def to_moderators(
        self, state: MeetingState, event: str, data: dict[str, Any]
    ) -> None: ...

    async def meeting_view(self, state: MeetingState, viewer_id: str) -> dict[str, Any]: ...

    def sync_flags(self, state: MeetingState, tell_peers: bool = True) -> list[Participant]: ...

    async def save_roster(self, room_id: str) -> None: ...

    def publish_poll_closed(self, state: MeetingState, poll: Poll) -> None: ...

    def note_timeline(self, room: str, kind: str, data: dict[str, Any]) -> None: ...


class MeetingContext(RoomView, Protocol):
    """What the meeting actions (host controls, interaction, recording control) use."""

    @property
    def download_links(self) -> DownloadLinks | None: ...

    @property
    def media(self) -> dict[str, RoomMedia]: ...

    async def admit_waiting(self, state: MeetingState, entries: list[LobbyEntry]) -> None: ...

    async def deny_waiting(
        self, entries: list[LobbyEntry], code: str, message: str, room: str | None = None
    ) -> None: ...

    async def remove(self, participant: Participant, reason: str) -> None: ...

    def set_muted(self, participant: Participant, source: str, muted: bool) -> None: ...


class RecordingLibraryView(Protocol):
    """The part of recording control that room moves uses."""

    def library_now(self) -> RecordingLibrary: ...

    async def owned(self, rooms: set[str]) -> None:
        """The rooms this node owns now (a new owner continues the recording)."""
        ...


class HostingContext(RoomView, Protocol):
    """What moving rooms between nodes (room moves) uses."""

    @property
    def cluster(self) -> Cluster: ...

    @property
    def node(self) -> NodeAgent: ...

    @property
    def sfu_stats(self) -> SfuStats: ...

    @property
    def recording(self) -> RecordingLibraryView: ...

    def lobby_rooms(self) -> set[str]: ...

    def waiting_entries(self, room_id: str) -> set[str]: ...

    def drop_waiting(self, room_id: str) -> list[str]: ...

    def start_grace(self, participant: Participant) -> None: ...

    def cancel_grace(self, participant: Participant) -> None: ...

    async def remove(self, participant: Participant, reason: str) -> None: ...

    async def close_room_media(self, room_id: str) -> None: ...


class ReportsContext(MeetingBasics, Protocol):
    """What the live reports use."""

    @property
    def archive(self) -> ReportArchive | None: ...

    @property
    def directory(self) -> RoomDirectory: ...
