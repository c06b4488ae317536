"""Decisions: hosts and co-hosts mark what the meeting decided (docs/protocol.md,
"Decisions"); everyone sees the list, and the meeting's report and its
``meeting.summary`` webhook carry it.

The list lives in the meeting state (:class:`conf_server.domain.decisions.DecisionLog`),
so it is the same on every node and survives a takeover. Every change goes to
the whole room as ``decisions`` with the full list (at most 50 short texts),
so a client never has to merge.
"""

from __future__ import annotations

from typing import Any

from conf_server.domain import Action, authorize
from conf_server.domain.meeting_state import MeetingState

from .meeting_context import ActionHandler, MeetingContext
from .rooms import Participant

Result = dict[str, Any] | None


class DecisionControl:
    """``mark_decision`` and ``remove_decision`` for every room of this node."""

    def __init__(self, service: MeetingContext) -> None:
        self._service = service

    def handlers(self) -> dict[str, ActionHandler]:
        return {"mark_decision": self.mark_decision, "remove_decision": self.remove_decision}

    async def mark_decision(self, actor: Participant, text: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MARK_DECISION)
            decision = state.decisions.mark(actor.id, actor.name, text, self._service.clock())
        await self._changed(state)
        return {"decision": decision.to_dict()}

    async def remove_decision(self, actor: Participant, decision_id: int) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MARK_DECISION)
            state.decisions.remove(decision_id)
        await self._changed(state)
        return None

    async def _changed(self, state: MeetingState) -> None:
        decisions = state.decisions.snapshot()
        await self._service.events.to_room(state.room, "decisions", {"decisions": decisions})
        self._service.note_timeline(state.room, "decisions", {"decisions": decisions})
