"""In-meeting chat: a bounded history for late joiners, text rules, a rate limit.

Text rules (:func:`clean_message`): line endings become ``\\n``; the text is trimmed;
it must not be empty nor longer than ``max_length`` characters (counted after
trimming; too long is refused, never cut); it may hold newlines but no other control
or invisible characters (:mod:`conf_server.domain.text`). A refused message takes no
rate-limit token.

Rate limit: ``rate_capacity`` messages per ``rate_period`` seconds per sender
(default 5 per 5 s: a burst of 5, then one a second), :class:`RateLimited` beyond.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from .errors import InvalidMessage, MessageTooLong, RateLimited
from .ratelimit import RateLimiter
from .text import describe_char, first_forbidden_char, has_visible_char, normalize_newlines

MAX_HISTORY = 500
MAX_LENGTH = 2000
RATE_CAPACITY = 5
RATE_PERIOD = 5.0


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message as everyone receives it. ``id`` grows by one per message."""

    id: int
    sender_id: str
    sender_name: str
    text: str
    sent_at: float

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able form (also the wire form)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatMessage:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            int(data["id"]),
            str(data["sender_id"]),
            str(data["sender_name"]),
            str(data["text"]),
            float(data["sent_at"]),
        )


def clean_message(raw: str, max_length: int = MAX_LENGTH) -> str:
    """The text as it will be stored, or :class:`InvalidMessage` /
    :class:`MessageTooLong`."""
    if not isinstance(raw, str):
        raise InvalidMessage("a chat message must be text")
    text = normalize_newlines(raw).strip()
    if not has_visible_char(text):
        raise InvalidMessage("a chat message must not be empty")
    if len(text) > max_length:
        raise MessageTooLong(
            f"a chat message may have at most {max_length} characters (this one has {len(text)})"
        )
    bad = first_forbidden_char(text, allow_newline=True)
    if bad is not None:
        raise InvalidMessage(f"a chat message must not contain the character {describe_char(bad)}")
    return text


class ChatLog:
    """The chat of one meeting: the last ``max_history`` messages, oldest first."""

    def __init__(
        self,
        max_history: int = MAX_HISTORY,
        max_length: int = MAX_LENGTH,
        rate_capacity: int = RATE_CAPACITY,
        rate_period: float = RATE_PERIOD,
    ) -> None:
        if max_history < 1 or max_length < 1:
            raise ValueError("max_history and max_length must be >= 1")
        self.max_length = max_length
        self._messages: deque[ChatMessage] = deque(maxlen=max_history)
        self._limiter = RateLimiter(rate_capacity, rate_period)
        self._next_id = 1

    @property
    def max_history(self) -> int:
        """How many messages the history keeps."""
        maxlen = self._messages.maxlen
        assert maxlen is not None
        return maxlen

    def post(self, sender_id: str, sender_name: str, text: str, now: float) -> ChatMessage:
        """Add a message sent at server time ``now``; returns it as stored. The
        oldest message drops out when the history is full."""
        cleaned = clean_message(text, self.max_length)
        wait = self._limiter.try_acquire(sender_id, now)
        if wait > 0:
            raise RateLimited(
                f"too many messages; try again in {wait:.1f} s", retry_after=round(wait, 3)
            )
        message = ChatMessage(self._next_id, sender_id, sender_name, cleaned, now)
        self._next_id += 1
        self._messages.append(message)
        return message

    def history(self, after_id: int | None = None, limit: int | None = None) -> list[ChatMessage]:
        """Messages for a late joiner, oldest first: all kept ones, or only those
        after ``after_id`` (a reconnecting client's last seen id), at most the last
        ``limit``."""
        messages = [m for m in self._messages if after_id is None or m.id > after_id]
        if limit is not None:
            messages = messages[-limit:] if limit > 0 else []
        return messages

    def forget_sender(self, sender_id: str) -> None:
        """Drop the rate-limit state of a sender who left (their messages stay)."""
        self._limiter.forget(sender_id)

    def prune(self, now: float) -> None:
        """Drop rate-limit state that no longer limits anyone."""
        self._limiter.prune(now)

    def __len__(self) -> int:
        return len(self._messages)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state, rate-limit buckets included."""
        return {
            "max_history": self.max_history,
            "max_length": self.max_length,
            "next_id": self._next_id,
            "messages": [m.to_dict() for m in self._messages],
            "rate_limit": self._limiter.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatLog:
        """Rebuild from :meth:`to_dict` output."""
        limiter = RateLimiter.from_dict(data["rate_limit"])
        log = cls(int(data["max_history"]), int(data["max_length"]))
        log._limiter = limiter
        log._next_id = int(data["next_id"])
        log._messages.extend(ChatMessage.from_dict(m) for m in data["messages"])
        return log
