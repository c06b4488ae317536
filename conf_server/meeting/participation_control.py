"""Participation points (docs/protocol.md, "Participation points").

A host or co-host turns points on and chooses who sees the leaderboard
(``set_participation``); everyone hears the setting in ``meeting_updated``.
``leaderboard`` answers the top :data:`TOP` and the asker's own row: with
visibility ``host`` to hosts and co-hosts, with ``everyone`` to everyone, with
``off`` to nobody (the report still has the points); otherwise it is refused
(``participation_off``, ``leaderboard_hidden``). The scores
(:func:`conf_server.domain.participation_scores.scores`) walk the whole
meeting state, so one room's are computed at most once per
:data:`LEADERBOARD_SECONDS` on this node (a room lives on one node, so every
asker of a room shares that cache), however many people ask.
"""

from __future__ import annotations

import time
from typing import Any

from conf_server.domain import Action, authorize
from conf_server.domain.errors import InvalidAction, LeaderboardHidden
from conf_server.domain.meeting_state import MeetingState
from conf_server.domain.participation import Visibility
from conf_server.domain.participation_scores import public_row, scores

from .host_controls import announce_settings
from .meeting_context import ActionHandler, MeetingContext
from .meeting_views import is_moderator
from .rooms import Participant

#: Rows of the leaderboard that everyone sees (the asker's own row comes too).
TOP = 10
#: One room's scores are computed at most this often (seconds).
LEADERBOARD_SECONDS = 2.0


def leaderboard_view(
    rows: list[dict[str, Any]], viewer_identity: str | None, moderator: bool
) -> dict[str, Any]:
    """The top rows and the viewer's own (found by identity: the cached rows
    may name an earlier visit); the chat app's user ids only for hosts and
    co-hosts."""
    mine = next((row for row in rows if row["identity"] == viewer_identity), None)
    return {
        "top": [public_row(row, moderator) for row in rows[:TOP]],
        "me": public_row(mine, moderator) if mine is not None else None,
        "people": len(rows),
    }


class ParticipationControl:
    """``set_participation`` and ``leaderboard`` for every room of this node."""

    def __init__(self, service: MeetingContext) -> None:
        self._service = service
        #: room -> (monotonic time computed, scores)
        self._cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def handlers(self) -> dict[str, ActionHandler]:
        return {"set_participation": self.set_participation, "leaderboard": self.leaderboard}

    async def set_participation(
        self,
        actor: Participant,
        enabled: bool,
        visibility: str | None,
        weights: dict[str, Any] | None,
    ) -> dict[str, Any]:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.CONFIGURE_MEETING)
            before = state.participation.setting()
            state.participation.configure(enabled, visibility, weights)
        self._cache.pop(actor.room, None)  # new weights: new scores at once
        setting = state.participation.setting()
        if setting != before:
            await announce_settings(self._service, state)
        return {"participation": setting}

    async def leaderboard(self, actor: Participant) -> dict[str, Any]:
        state = await self._service.store.get(actor.room)
        if state is None:
            raise InvalidAction("this meeting has no participation points")
        record = state.participation
        if not record.enabled:
            raise LeaderboardHidden("participation points are off", "participation_off")
        moderator = is_moderator(state.roles.role_of(actor.id))
        if record.visibility is Visibility.OFF:
            raise LeaderboardHidden("the leaderboard is off (the report keeps the points)")
        if not moderator and record.visibility is not Visibility.EVERYONE:
            raise LeaderboardHidden("the hosts show the leaderboard to hosts and co-hosts only")
        member = state.members.get(actor.id)
        identity = member.identity if member is not None else None
        return {
            "visibility": record.visibility.value,
            "weights": record.weights.to_dict(),
            **leaderboard_view(self._scores(state), identity, moderator),
        }

    def _scores(self, state: MeetingState) -> list[dict[str, Any]]:
        now = time.monotonic()
        cached = self._cache.get(state.room)
        if cached is not None and now - cached[0] < LEADERBOARD_SECONDS:
            return cached[1]
        rows = scores(state, self._service.clock())
        # Forget other rooms' stale entries, so closed rooms do not stay.
        self._cache = {
            room: entry
            for room, entry in self._cache.items()
            if now - entry[0] < LEADERBOARD_SECONDS
        }
        self._cache[state.room] = (now, rows)
        return rows
