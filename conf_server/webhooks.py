"""Signed webhooks: meeting events to the chat app, at least once.

STUB: the interface the rest of the server uses. Implementation in progress.
"""

from __future__ import annotations

from typing import Any

from .database import Database

#: Every event type an endpoint may subscribe to.
EVENT_TYPES = (
    "meeting.started",
    "meeting.ended",
    "participant.joined",
    "participant.left",
    "recording.ready",
    "poll.closed",
    "chat.message",
)


class WebhookDispatcher:
    """Queues events in the database and delivers them in the background."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def publish(self, event_type: str, data: dict[str, Any]) -> str | None:
        """Queue ``event_type`` with ``data`` for every endpoint that wants it;
        returns the event id (None if no endpoint wants it). Never blocks on the
        network: delivery happens in the background."""
        return None

    async def start(self) -> None:
        """Start the delivery worker (resumes the queue left by a previous run)."""

    async def close(self) -> None:
        """Stop the worker; undelivered events stay queued for the next start."""
