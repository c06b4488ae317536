"""Participation points: the host's setting, what is counted, and the scores.

A host (or co-host) turns participation points on for a meeting and chooses
who sees the leaderboard (``visibility``: ``host`` = hosts and co-hosts only,
``everyone``, or ``off`` = nobody during the meeting; the report always has
the points of a meeting where they were on). Points come from what the meeting
records anyway, and cover the whole meeting (turning points on late does not
take away what people did before):

=================  ===================================================  =======
category           counted                                              default
=================  ===================================================  =======
``attendance``     whole minutes in the meeting (visits of one person    1
                   merged, overlaps counted once)
``votes``          named (non-anonymous) polls the person voted in,      2
                   each poll once
``quiz``           quizzes the person answered correctly, each once      5
``called_on``      times a host called the person from the hand queue    3
                   (``next_hand``)
``chat``           chat messages, at most ``chat_per_minute`` of one     1
                   person's messages per clock minute (default 3), so
                   spamming does not pay
=================  ===================================================  =======

Each category's points are its count times its weight (an integer 0 to
:data:`MAX_WEIGHT`). **Anonymous polls are never counted**, neither the vote
nor its answer: an anonymous poll does not know who voted for what, and the
fact of voting is not rewarded either. A person is an *identity* (the same
browser or invite): someone who leaves and joins again is one row, named by
their latest visit; a room device (``mode`` ``room``) is a place, not a person,
and gets no row. Voting again after rejoining (a new participant id) still
counts each poll once.

The scores are computed by :mod:`conf_server.domain.participation_scores`.
The counts that the meeting does not otherwise keep (calls from the hand
queue, chat messages under the per-minute cap) are kept here per identity, a
few numbers per person, so the state stays small whatever the chat's length
(the transcript keeps only its newest messages). The chat cap in force when a
message is sent decides whether it counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from .errors import InvalidParticipation

#: The largest weight of one category (and the largest chat cap), so points
#: stay readable and a total cannot grow without bound.
MAX_WEIGHT = 100
MAX_CHAT_PER_MINUTE = 60
CATEGORIES = ("attendance", "votes", "quiz", "called_on", "chat")


class Visibility(StrEnum):
    """Who sees the leaderboard while the meeting runs."""

    HOST = "host"
    EVERYONE = "everyone"
    OFF = "off"


@dataclass(frozen=True)
class Weights:
    """Points per counted item of each category, and the chat cap."""

    attendance: int = 1  # per whole attended minute
    votes: int = 2  # per named poll voted in
    quiz: int = 5  # per correctly answered quiz
    called_on: int = 3  # per call from the hand queue
    chat: int = 1  # per counted chat message
    chat_per_minute: int = 3  # most messages of one person counted per minute

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> Weights:
        """These weights with ``changes`` applied (unknown names, non-integers
        and values out of range raise :class:`InvalidParticipation`)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise InvalidParticipation(
                f"unknown weight(s): {', '.join(sorted(map(str, unknown)))};"
                f" known: {', '.join(sorted(known))}"
            )
        for name, value in changes.items():
            top = MAX_CHAT_PER_MINUTE if name == "chat_per_minute" else MAX_WEIGHT
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
                raise InvalidParticipation(
                    f"weight {name!r} must be a whole number from 0 to {top}"
                )
        return replace(self, **dict(changes))


@dataclass
class ChatCount:
    """One identity's counted chat messages and the minute being counted."""

    counted: int = 0
    minute: int = -1
    in_minute: int = 0


@dataclass
class Participation:
    """A meeting's participation setting and the counts only it keeps."""

    enabled: bool = False
    visibility: Visibility = Visibility.HOST
    weights: Weights = field(default_factory=Weights)
    #: Points were on at some time (the report then carries them).
    was_enabled: bool = False
    #: identity -> times called from the hand queue.
    calls: dict[str, int] = field(default_factory=dict)
    #: identity -> counted chat messages.
    chat: dict[str, ChatCount] = field(default_factory=dict)

    def configure(
        self,
        enabled: bool,
        visibility: str | None = None,
        weights: Mapping[str, Any] | None = None,
    ) -> None:
        """Turn points on or off; ``visibility`` and ``weights`` (a partial
        mapping) change only when given. Nothing changes if a value is refused."""
        new_visibility = self.visibility
        if visibility is not None:
            try:
                new_visibility = Visibility(visibility)
            except ValueError:
                raise InvalidParticipation(
                    "visibility must be one of host, everyone, off"
                ) from None
        new_weights = self.weights.updated(weights) if weights is not None else self.weights
        self.enabled, self.visibility, self.weights = bool(enabled), new_visibility, new_weights
        self.was_enabled = self.was_enabled or self.enabled

    def setting(self) -> dict[str, Any]:
        """What clients see (the Meeting object, ``meeting_updated``)."""
        return {
            "enabled": self.enabled,
            "visibility": self.visibility.value,
            "weights": self.weights.to_dict(),
        }

    def note_call(self, identity: str) -> None:
        """``identity`` was called on from the hand queue."""
        self.calls[identity] = self.calls.get(identity, 0) + 1

    def note_chat(self, identity: str, now: float) -> None:
        """``identity`` sent a chat message at server time ``now``; it counts
        unless the person already has ``chat_per_minute`` counted this minute."""
        count = self.chat.setdefault(identity, ChatCount())
        minute = int(now // 60)
        if count.minute != minute:
            count.minute, count.in_minute = minute, 0
        if count.in_minute < self.weights.chat_per_minute:
            count.in_minute += 1
            count.counted += 1

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state."""
        return {
            **self.setting(),
            "was_enabled": self.was_enabled,
            "calls": dict(self.calls),
            "chat": {key: asdict(value) for key, value in self.chat.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Participation:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            enabled=bool(data["enabled"]),
            visibility=Visibility(data["visibility"]),
            weights=Weights(**data["weights"]),
            was_enabled=bool(data["was_enabled"]),
            calls={str(k): int(v) for k, v in data["calls"].items()},
            chat={str(k): ChatCount(**v) for k, v in data["chat"].items()},
        )
