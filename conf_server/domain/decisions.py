"""Decisions a meeting's hosts mark while it runs (the summary lists them).

A host or co-host marks a decision with a text (``mark_decision``) and may
take one back (``remove_decision``). The text has the chat's rules and limits
(:func:`conf_server.domain.chat.clean_message`: trimmed, not empty, at most
2000 characters, newlines allowed, no control or invisible characters), and
each marker the chat's rate limit (5 per 5 s, ``rate_limited``). A meeting
keeps at most ``MAX_DECISIONS`` (``too_many_decisions`` beyond; removing one
makes room), so a host's script cannot flood the room or the summary. Ids
grow by one and are never reused within a meeting, so a late
``remove_decision`` cannot hit a newer decision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .chat import MAX_LENGTH, RATE_CAPACITY, RATE_PERIOD, clean_message
from .errors import DomainError, InvalidMessage, MessageTooLong, RateLimited
from .ratelimit import RateLimiter

MAX_DECISIONS = 50


class UnknownDecision(DomainError):
    """No decision with that id in this meeting (removed already, or never marked)."""

    code = "unknown_decision"
    status = 404


class TooManyDecisions(DomainError):
    """The meeting holds ``MAX_DECISIONS`` decisions already."""

    code = "too_many_decisions"
    status = 409


@dataclass(frozen=True, slots=True)
class Decision:
    """One marked decision, as everyone receives it."""

    id: int
    text: str
    by_id: str
    by_name: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able form (also the wire form)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            int(data["id"]),
            str(data["text"]),
            str(data["by_id"]),
            str(data["by_name"]),
            float(data["at"]),
        )


def clean_decision(raw: str) -> str:
    """The text as it will be stored, or ``invalid_message`` / ``message_too_long``
    (the chat's codes, with the decision's own wording)."""
    try:
        return clean_message(raw, MAX_LENGTH)
    except MessageTooLong as exc:
        raise MessageTooLong(
            f"a decision may have at most {MAX_LENGTH} characters", exc.code
        ) from exc
    except InvalidMessage as exc:
        raise InvalidMessage(exc.message.replace("a chat message", "a decision"), exc.code) from exc


class DecisionLog:
    """The decisions of one meeting, in the order they were marked."""

    def __init__(self) -> None:
        self._decisions: list[Decision] = []
        self._limiter = RateLimiter(RATE_CAPACITY, RATE_PERIOD)
        self._next_id = 1

    def mark(self, by_id: str, by_name: str, text: str, now: float) -> Decision:
        """Add a decision marked at server time ``now``; returns it as stored.
        A refused one changes nothing and takes no rate-limit token."""
        cleaned = clean_decision(text)
        if len(self._decisions) >= MAX_DECISIONS:
            raise TooManyDecisions(
                f"a meeting may hold at most {MAX_DECISIONS} decisions; remove one first"
            )
        wait = self._limiter.try_acquire(by_id, now)
        if wait > 0:
            raise RateLimited(
                f"too many decisions; try again in {wait:.1f} s", retry_after=round(wait, 3)
            )
        decision = Decision(self._next_id, cleaned, by_id, by_name, now)
        self._next_id += 1
        self._decisions.append(decision)
        return decision

    def remove(self, decision_id: int) -> Decision:
        """Take a decision back; ``unknown_decision`` if there is none with that id."""
        for index, decision in enumerate(self._decisions):
            if decision.id == decision_id:
                del self._decisions[index]
                return decision
        raise UnknownDecision("no decision with that id in this meeting")

    def snapshot(self) -> list[dict[str, Any]]:
        """Every decision, oldest first, in wire form."""
        return [decision.to_dict() for decision in self._decisions]

    def forget_sender(self, by_id: str) -> None:
        """Drop the rate-limit state of someone who left (their decisions stay)."""
        self._limiter.forget(by_id)

    def __len__(self) -> int:
        return len(self._decisions)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state, rate-limit buckets included."""
        return {
            "next_id": self._next_id,
            "decisions": self.snapshot(),
            "rate_limit": self._limiter.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecisionLog:
        """Rebuild from :meth:`to_dict` output."""
        log = cls()
        log._next_id = int(data["next_id"])
        log._decisions = [Decision.from_dict(d) for d in data["decisions"]]
        log._limiter = RateLimiter.from_dict(data["rate_limit"])
        return log
