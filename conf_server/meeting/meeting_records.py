"""What a meeting leaves behind: its recording's timeline, the ``poll.closed``
webhook and the archived report."""

from __future__ import annotations

from typing import Any

from conf_server.domain import Poll
from conf_server.domain.meeting_state import CHAT_LOG, MeetingState
from conf_server.integration.reports import build_report, polls_csv

from .meeting_views import meeting_summary
from .service_context import ServiceContext


class MeetingRecords:
    """The records the meeting keeps beyond its live state."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def publish_poll_closed(self, state: MeetingState, poll: Poll) -> None:
        """``poll.closed`` with the aggregate results (never who chose what)."""
        results = poll.results(reveal_correct=True)
        self._context.publisher.publish("poll.closed", {**meeting_summary(state), "poll": results})
        self.note_timeline(state.room, "poll.closed", {"poll": results})

    def note_timeline(self, room: str, kind: str, data: dict[str, Any]) -> None:
        """Put a meeting event on the timeline of the room's recording, if any."""
        recorder = self._context.recording.recorders.get(room)
        if recorder is not None:
            recorder.note(kind, data)

    async def archive_report(self, state: MeetingState) -> None:
        """Keep the meeting's report beyond the life of its state."""
        archive = self._context.archive
        if archive is not None:
            chat = await self._context.store.read(state.room, CHAT_LOG)
            archive.save(build_report(state, chat), polls_csv(state))
            self._context.live_reports.archived(state.room)
