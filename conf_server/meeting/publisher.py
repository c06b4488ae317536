"""How the meeting service announces what happened (webhooks listen), without
knowing who listens."""

from __future__ import annotations

from typing import Any, Protocol


class EventPublisher(Protocol):
    """Takes meeting events; must never block or fail the meeting."""

    def publish(self, event_type: str, data: dict[str, Any]) -> str | None:
        """Queue an event; returns its id (None if nobody wants it)."""
        ...


class NoPublisher:
    """Drops every event (tests and tools that need no webhooks)."""

    def publish(self, event_type: str, data: dict[str, Any]) -> str | None:
        return None
