"""Once-only claims shared by every node: "this node does X, nobody else".

Used for the ``meeting.summary`` webhook (conf_server/meeting/summary_sender.py):
the node that wants to send a meeting's summary first claims the key
``summary:<meeting id>`` for itself. A claim is kept for ``CLAIM_TTL_SECONDS``
and asking again with the same owner succeeds again, so a node that claimed
and died before it queued the event does so after its restart. In memory
(one process) every claim succeeds: the process's database already makes the
event once-only there.
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

from .redis_connection import guarded

#: Long past any meeting's summary; only bounds what Redis keeps.
CLAIM_TTL_SECONDS = 30 * 24 * 3600

_CLAIM = """
local current = redis.call('get', KEYS[1])
if current == false then
  redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return ARGV[1]
end
return current
"""


class OnceClaims(Protocol):
    """Claims that one owner holds for good (see the module docstring)."""

    async def claim(self, key: str, owner: str) -> bool:
        """True if ``owner`` holds ``key`` now (it was free, or is ``owner``'s);
        raises ``StoreUnavailable`` when the shared store cannot be reached."""
        ...


class MemoryOnceClaims:
    """One process: nothing to share, every claim succeeds."""

    async def claim(self, key: str, owner: str) -> bool:
        return True


class RedisOnceClaims:
    """Claims as Redis keys ``<prefix>once:<key>`` holding the owner's name."""

    def __init__(self, redis: Redis, prefix: str = "conf:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def claim(self, key: str, owner: str) -> bool:
        async with guarded("claim"):
            holder = await self._redis.eval(
                _CLAIM, 1, f"{self._prefix}once:{key}", owner, str(CLAIM_TTL_SECONDS)
            )
        return bool(holder == owner)
