"""Reactions: a short emoji burst on the sender's tile, shown to everyone.

Only emoji from :data:`ALLOWED_REACTIONS` are accepted; the hand gestures may carry
one skin-tone modifier (👍🏽). The emoji presentation selector U+FE0F is optional on
the way in and always present on the way out where the emoji needs it (❤️), so
every client receives one spelling. Reactions are not kept; only the per-sender rate
limit has state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .errors import RateLimited, UnknownReaction
from .ratelimit import RateLimiter

#: The reactions a client may send, in the order a picker shows them.
ALLOWED_REACTIONS: tuple[str, ...] = (
    "\U0001f44d",  # 👍
    "\U0001f44e",  # 👎
    "\U0001f44f",  # 👏
    "\u2764\ufe0f",  # ❤️
    "\U0001f602",  # 😂
    "\U0001f62e",  # 😮
    "\U0001f389",  # 🎉
    "\U0001f64f",  # 🙏
    "\U0001f44b",  # 👋
)

#: Reactions that may carry a skin-tone modifier (U+1F3FB..U+1F3FF).
SKIN_TONE_BASES = frozenset({"\U0001f44d", "\U0001f44e", "\U0001f44f", "\U0001f64f", "\U0001f44b"})
_SKIN_TONES = frozenset(chr(code) for code in range(0x1F3FB, 0x1F400))
_VS16 = "\ufe0f"
_CANONICAL = {emoji.replace(_VS16, ""): emoji for emoji in ALLOWED_REACTIONS}

RATE_CAPACITY = 5
RATE_PERIOD = 3.0


def normalize_reaction(emoji: str) -> str:
    """The canonical spelling of an allowed reaction, or :class:`UnknownReaction`."""
    if not isinstance(emoji, str) or len(emoji) > 4:
        raise UnknownReaction("that reaction is not available")
    bare = emoji.replace(_VS16, "")
    if bare in _CANONICAL:
        return _CANONICAL[bare]
    if len(bare) == 2 and bare[0] in SKIN_TONE_BASES and bare[1] in _SKIN_TONES:
        return bare
    raise UnknownReaction("that reaction is not available")


@dataclass(frozen=True, slots=True)
class Reaction:
    """One reaction as everyone receives it."""

    sender_id: str
    emoji: str
    sent_at: float

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able form (also the wire form)."""
        return asdict(self)


class Reactions:
    """Reactions of one meeting: validation and a per-sender rate limit
    (``rate_capacity`` per ``rate_period`` seconds; default 5 per 3 s)."""

    def __init__(self, rate_capacity: int = RATE_CAPACITY, rate_period: float = RATE_PERIOD):
        self._limiter = RateLimiter(rate_capacity, rate_period)

    def react(self, sender_id: str, emoji: str, now: float) -> Reaction:
        """Accept a reaction at server time ``now`` (or raise :class:`UnknownReaction`
        / :class:`RateLimited`, taking no token for an unknown emoji)."""
        canonical = normalize_reaction(emoji)
        wait = self._limiter.try_acquire(sender_id, now)
        if wait > 0:
            raise RateLimited(
                f"too many reactions; try again in {wait:.1f} s", retry_after=round(wait, 3)
            )
        return Reaction(sender_id, canonical, now)

    def forget_sender(self, sender_id: str) -> None:
        """Drop the rate-limit state of a sender who left."""
        self._limiter.forget(sender_id)

    def prune(self, now: float) -> None:
        """Drop rate-limit state that no longer limits anyone."""
        self._limiter.prune(now)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state (the rate-limit buckets)."""
        return {"rate_limit": self._limiter.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reactions:
        """Rebuild from :meth:`to_dict` output."""
        reactions = cls()
        reactions._limiter = RateLimiter.from_dict(data["rate_limit"])
        return reactions
