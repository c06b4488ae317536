"""The one rate-limit mechanism: token buckets kept per key, in bounded memory.

Every limit of the server (Socket.IO actions, wrong passcodes, anonymous
meeting creation, connections) is a :class:`RateLimiter` with its own rate and
burst; the table of limits is in docs/protocol.md and docs/security.md. A key is
whatever the limit is about: a socket id, a client address, a room, or a tuple
of those. Buckets that have refilled are forgotten, and the number of keys is
capped (the oldest go first), so an attacker who invents keys cannot make the
server's memory grow.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """``burst`` actions at once, then ``rate`` per second on average."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a limit needs rate > 0 and burst >= 1")


class RateLimiter:
    """Token buckets per key. :meth:`take` answers ``None`` (go ahead) or the
    seconds after which the same action would be allowed."""

    def __init__(
        self,
        limit: Limit,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self._max_keys = max_keys
        self._clock = clock
        # key -> (tokens, time of that count); least recently used first.
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    def _tokens(self, key: Hashable, now: float) -> float:
        tokens, then = self._buckets.get(key, (self.limit.burst, now))
        return min(self.limit.burst, tokens + (now - then) * self.limit.rate)

    def take(self, key: Hashable, cost: float = 1.0) -> float | None:
        """Spend ``cost`` tokens of ``key``'s bucket; None if there were enough,
        else the wait in seconds (nothing is spent then)."""
        now = self._clock()
        tokens = self._tokens(key, now)
        if tokens < cost:
            self._store(key, tokens, now)
            return max(0.001, round((cost - tokens) / self.limit.rate, 3))
        self._store(key, tokens - cost, now)
        return None

    def check(self, key: Hashable, cost: float = 1.0) -> float | None:
        """Like :meth:`take` but spends nothing: would ``cost`` be allowed now?"""
        now = self._clock()
        tokens = self._tokens(key, now)
        return None if tokens >= cost else max(0.001, round((cost - tokens) / self.limit.rate, 3))

    def _store(self, key: Hashable, tokens: float, now: float) -> None:
        if tokens >= self.limit.burst:
            self._buckets.pop(key, None)  # full again: nothing worth keeping
            return
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimited(Exception):
    """An action over its limit; becomes ``rate_limited`` with ``retry_after``."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = float(retry_after)
