"""What the pieces of the meeting service see of the whole.

``MeetingService`` is a facade over membership, lobby waiting, media
negotiation, departures, broadcasting and the meeting's records. Each piece
is handed the facade typed as :class:`ServiceContext`, so no piece imports
``MeetingService`` (the imports point down, never in a circle).
"""

from __future__ import annotations

from typing import Protocol

from conf_server.domain.meeting_state import MeetingState
from conf_server.integration.invites import InviteSigner

from .caption_control import CaptionControl
from .live_reports import LiveReports
from .lobby_waiting import LobbyWaiting
from .meeting_context import HostingContext, MeetingContext, ReportsContext
from .recording_control import RecordingControl
from .room_media import RoomMedia
from .room_moves import RoomMoves
from .room_span import RoomSpans
from .rooms import Participant


class ServiceContext(MeetingContext, HostingContext, ReportsContext, Protocol):
    """The meeting on this node, as its own pieces use it."""

    @property
    def invites(self) -> InviteSigner | None: ...

    @property
    def moves(self) -> RoomMoves: ...

    @property
    def live_reports(self) -> LiveReports: ...

    @property
    def recording(self) -> RecordingControl: ...

    @property
    def captions(self) -> CaptionControl: ...

    @property
    def lobby(self) -> LobbyWaiting: ...

    def participant_by_sid(self, sid: str) -> Participant: ...

    def room_media(self, room_id: str) -> RoomMedia: ...

    async def detach(self, participant: Participant) -> None: ...

    async def archive_report(self, state: MeetingState) -> None: ...

    @property
    def spans(self) -> RoomSpans: ...
