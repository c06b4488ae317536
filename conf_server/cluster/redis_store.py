"""The Redis backend of the store (conf_server/cluster/store.py), for deployments of
several processes or machines.

Keys (all under a prefix, default ``conf:``):

- ``meeting:<room>``: the meeting's JSON (MeetingState.to_dict);
- ``meeting-id:<meeting id>``: the room of a meeting id;
- ``log:<room>:<name>``: an append-only log (a Redis list, newest ``keep``);
- ``logs:<room>``: the set of that room's log names (to expire and delete them);
- ``lock:<room>``: the transaction lock of a meeting;
- ``meetings``: a sorted set of every room with a meeting, scored by its
  expiry (Unix milliseconds, ``+inf`` for none), so :meth:`RedisStore.count`
  needs no SCAN: entries whose time has passed are trimmed (their keys expired
  by themselves) and the rest are counted.

A transaction (:meth:`RedisStore.update`) takes the meeting's lock (``SET NX PX``
with a random token, released by a compare-and-delete script), reads, lets
the caller change the state, and writes it back, so updates of one meeting run
one at a time on every node: a vote is counted exactly once. A lock whose
holder died expires after ``lock_ttl`` seconds. ``create`` is ``SET NX``.

Within one process the transactions of a meeting first queue on a local
``asyncio.Lock`` (first come, first served), so only one of them at a time
asks Redis for the meeting's lock. Without it, 200 people answering at once
each polled ``SET NX`` in a loop: thousands of Redis calls a second, answers
later than the 1 s command timeout, and waiters that never got their turn
within ``lock_wait`` (``store_unavailable``). The release is a
compare-and-delete, so it is safely sent again when its answer is late; a lost
release would otherwise hold the meeting for the lock's whole ``lock_ttl``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from conf_server.domain.meeting_state import MeetingState

from .redis_connection import connect, guarded, store_call
from .store import NoMeeting, StoreUnavailable

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


#: How often a release whose answer did not come is sent.
_RELEASE_ATTEMPTS = 3


class _QueuedLock:
    """A room's local lock and how many transactions hold or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class RedisStore:
    """Meeting state in Redis (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        prefix: str = "conf:",
        lock_ttl: float = 10.0,
        lock_wait: float = 10.0,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._lock_ttl_ms = int(lock_ttl * 1000)
        self._lock_wait = lock_wait
        #: Rooms with a transaction running or waiting in this process.
        self._local_locks: dict[str, _QueuedLock] = {}

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStore:
        return cls(connect(url), **kwargs)

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    async def close(self) -> None:
        await self._redis.aclose()

    # -- reading -------------------------------------------------------------------

    @store_call
    async def get(self, room: str) -> MeetingState | None:
        raw = await self._redis.get(self._key("meeting", room))
        return None if raw is None else MeetingState.from_dict(json.loads(raw))

    @store_call
    async def find(self, meeting_id: str) -> MeetingState | None:
        room = await self._redis.get(self._key("meeting-id", meeting_id))
        if room is None:
            return None
        state = await self.get(_text(room))
        return state if state is not None and state.meeting_id == meeting_id else None

    @store_call
    async def rooms(self) -> list[str]:
        prefix = self._key("meeting", "")
        return sorted([key[len(prefix) :] async for key in self._redis.scan_iter(prefix + "*")])

    @store_call
    async def count(self) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._key("meetings"), "-inf", _now_ms())
            pipe.zcard(self._key("meetings"))
            _, held = await pipe.execute()
        return int(held)

    # -- writing -------------------------------------------------------------------

    @store_call
    async def create(self, state: MeetingState) -> tuple[MeetingState, bool]:
        created = await self._redis.set(self._key("meeting", state.room), _dump(state), nx=True)
        if created:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._key("meeting-id", state.meeting_id), state.room)
                pipe.zadd(self._key("meetings"), {state.room: float("inf")})
                # Trim here too, so the index stays small without count() calls.
                pipe.zremrangebyscore(self._key("meetings"), "-inf", _now_ms())
                await pipe.execute()
            return MeetingState.from_dict(state.to_dict()), True
        existing = await self.get(state.room)
        if existing is None:  # deleted in between: try once more
            return await self.create(state)
        return existing, False

    def update(self, room: str) -> AbstractAsyncContextManager[MeetingState]:
        return self._update(room)

    @asynccontextmanager
    async def _update(self, room: str) -> AsyncIterator[MeetingState]:
        # Only the Redis calls are guarded: an error of the caller's own block
        # must not turn into store_unavailable.
        async with self._locked(room):
            state = await self.get(room)
            if state is None:
                raise NoMeeting(f"room {room!r} has no meeting")
            yield state
            async with guarded("update"):
                # Keep the key's expiry (KEEPTTL); skip the write if it was deleted.
                key = self._key("meeting", room)
                await self._redis.set(key, _dump(state), xx=True, keepttl=True)

    @asynccontextmanager
    async def _locked(self, room: str) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_wait
        async with self._local_turn(room, deadline), self._redis_lock(room, deadline):
            yield

    @asynccontextmanager
    async def _local_turn(self, room: str, deadline: float) -> AsyncIterator[None]:
        """This process's turn for ``room``: waiters queue in order, each
        within its own deadline."""
        queued = self._local_locks.setdefault(room, _QueuedLock())
        queued.users += 1
        try:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(queued.lock.acquire(), max(remaining, 0.0))
            except TimeoutError:
                raise StoreUnavailable(f"the meeting of room {room!r} is busy; try again") from None
            try:
                yield
            finally:
                queued.lock.release()
        finally:
            queued.users -= 1
            if queued.users == 0:
                del self._local_locks[room]

    @asynccontextmanager
    async def _redis_lock(self, room: str, deadline: float) -> AsyncIterator[None]:
        """The meeting's lock across nodes (``SET NX PX`` with a token)."""
        key, token = self._key("lock", room), secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        delay = 0.002
        while not await self._take_lock(key, token):
            if loop.time() > deadline:
                raise StoreUnavailable(f"the meeting of room {room!r} is busy; try again")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        try:
            yield
        finally:
            await self._release_lock(key, token)

    async def _release_lock(self, key: str, token: str) -> None:
        """Compare-and-delete, sent again if its answer is late (running it
        twice is harmless); given up after three tries, when the lock's TTL
        frees the meeting."""
        for attempt in range(_RELEASE_ATTEMPTS):
            try:
                async with guarded("unlock"):
                    await self._redis.eval(_RELEASE, 1, key, token)
                return
            except StoreUnavailable:
                if attempt == _RELEASE_ATTEMPTS - 1:
                    raise

    async def _take_lock(self, key: str, token: str) -> bool:
        async with guarded("lock"):
            if await self._redis.set(key, token, nx=True, px=self._lock_ttl_ms):
                return True
            # A SET whose answer was lost may have taken the lock for us.
            return bool(await self._redis.get(key) == token)

    @store_call
    async def delete(self, room: str) -> None:
        state = await self.get(room)
        names = await self._redis.smembers(self._key("logs", room))
        keys = [self._key("meeting", room), self._key("logs", room)]
        keys += [self._key("log", room, _text(name)) for name in names]
        if state is not None:
            keys.append(self._key("meeting-id", state.meeting_id))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(*keys)
            pipe.zrem(self._key("meetings"), room)
            await pipe.execute()

    @store_call
    async def expire(self, room: str, seconds: float | None) -> None:
        state = await self.get(room)
        if state is None:
            return
        names = await self._redis.smembers(self._key("logs", room))
        keys = [
            self._key("meeting", room),
            self._key("meeting-id", state.meeting_id),
            self._key("logs", room),
            *(self._key("log", room, _text(name)) for name in names),
        ]
        milliseconds = None if seconds is None else max(1, int(seconds * 1000))
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                if milliseconds is None:
                    pipe.persist(key)
                else:
                    pipe.pexpire(key, milliseconds)
            score = float("inf") if milliseconds is None else _now_ms() + milliseconds
            pipe.zadd(self._key("meetings"), {room: score}, xx=True)
            await pipe.execute()

    # -- logs ------------------------------------------------------------------------

    @store_call
    async def append(self, room: str, log: str, item: dict[str, Any], keep: int) -> None:
        meeting_key = self._key("meeting", room)
        ttl_ms = await self._redis.pttl(meeting_key)
        if ttl_ms == -2:
            raise NoMeeting(f"room {room!r} has no meeting")
        key = self._key("log", room, log)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(item, separators=(",", ":")))
            pipe.ltrim(key, -keep, -1)
            pipe.sadd(self._key("logs", room), log)
            if ttl_ms > 0:  # the log lives as long as its meeting
                pipe.pexpire(key, ttl_ms)
                pipe.pexpire(self._key("logs", room), ttl_ms)
            await pipe.execute()

    @store_call
    async def read(self, room: str, log: str) -> list[dict[str, Any]]:
        if not await self._redis.exists(self._key("meeting", room)):
            return []
        return [
            json.loads(raw) for raw in await self._redis.lrange(self._key("log", room, log), 0, -1)
        ]


def _now_ms() -> int:
    """Unix time in milliseconds: the scores of the ``meetings`` index."""
    return int(time.time() * 1000)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _dump(state: MeetingState) -> str:
    return json.dumps(state.to_dict(), separators=(",", ":"))
