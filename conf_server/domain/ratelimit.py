"""Token-bucket rate limits with the clock passed in (``now``, in seconds).

A bucket holds up to ``capacity`` tokens and refills ``capacity`` tokens per
``period`` seconds, evenly; each action takes one. "5 messages per 5 s" allows a
burst of 5, then one per second. A clock that steps back never adds tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class TokenBucket:
    """One sender's bucket."""

    tokens: float
    updated_at: float

    def refill(self, now: float, capacity: float, per_second: float) -> None:
        """Add the tokens earned since the last update, up to ``capacity``."""
        if now > self.updated_at:
            self.tokens = min(capacity, self.tokens + (now - self.updated_at) * per_second)
            self.updated_at = now


class RateLimiter:
    """Per-key token buckets: ``capacity`` actions per ``period`` seconds each."""

    def __init__(self, capacity: int, period: float) -> None:
        if capacity < 1 or period <= 0:
            raise ValueError("capacity must be >= 1 and period > 0")
        self.capacity = capacity
        self.period = period
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def per_second(self) -> float:
        """Tokens earned per second."""
        return self.capacity / self.period

    def try_acquire(self, key: str, now: float) -> float:
        """Take one token for ``key``: returns 0.0 if taken, else the seconds until
        one will be there (and takes nothing)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(float(self.capacity), now)
        bucket.refill(now, self.capacity, self.per_second)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.per_second

    def forget(self, key: str) -> None:
        """Drop ``key``'s bucket (its owner left)."""
        self._buckets.pop(key, None)

    def prune(self, now: float) -> None:
        """Drop buckets that have refilled completely: they carry no information."""
        for key, bucket in list(self._buckets.items()):
            bucket.refill(now, self.capacity, self.per_second)
            if bucket.tokens >= self.capacity:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state."""
        return {
            "capacity": self.capacity,
            "period": self.period,
            "buckets": {
                key: {"tokens": b.tokens, "updated_at": b.updated_at}
                for key, b in sorted(self._buckets.items())
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RateLimiter:
        """Rebuild from :meth:`to_dict` output."""
        limiter = cls(int(data["capacity"]), float(data["period"]))
        for key, b in data["buckets"].items():
            limiter._buckets[key] = TokenBucket(float(b["tokens"]), float(b["updated_at"]))
        return limiter
