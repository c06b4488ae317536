"""The store: where meeting state lives, behind one small interface.

:class:`MeetingStore` is what the meeting service uses; :class:`MemoryStore` is
the embedded default. A Redis backend (``--redis-url``) implements the same
interface, and one test suite runs against every backend.

Semantics every backend keeps:

- A meeting is stored as the JSON of :meth:`MeetingState.to_dict`; readers get
  their own copy, so nobody shares live objects with the store.
- :meth:`MeetingStore.update` is a transaction on one meeting: changes made
  inside are saved when the block ends normally, and thrown away when it raises
  (a refused action changes nothing). Updates of one meeting run one at a time.
- :meth:`MeetingStore.create` is create-if-absent, atomic: two nodes creating
  the same room's meeting at once end up with one meeting.
- A meeting may carry an expiry (:meth:`MeetingStore.expire`): after it, the
  meeting is gone as if deleted, whether or not anyone reads it again (the
  memory store sweeps expired meetings out on a timer; Redis expires keys
  itself), so meetings nobody opens do not pile up.
- :meth:`MeetingStore.count` says how many meetings the store holds (the cap
  on anonymous creation, ``max_meetings``, is checked against it).
- Beside each meeting, named append-only **logs** (the chat history) hold their
  newest ``keep`` items. They are not part of the meeting's JSON, so a vote or a
  raised hand does not rewrite 500 chat messages; they share the meeting's
  expiry and deletion.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from conf_server.domain.meeting_state import MeetingState
from conf_server.errors import ConfServerError


class NoMeeting(ConfServerError):
    code = "no_meeting"
    status = 404


class StoreUnavailable(ConfServerError):
    """The shared store (Redis) cannot be reached; the action did not happen."""

    code = "store_unavailable"
    status = 503
    retry_after = 2.0


class MeetingStore(Protocol):
    """Meeting state shared by every node of a deployment."""

    async def get(self, room: str) -> MeetingState | None:
        """A copy of the room's meeting, or None."""
        ...

    async def find(self, meeting_id: str) -> MeetingState | None:
        """A copy of the meeting with ``meeting_id``, or None."""
        ...

    async def create(self, state: MeetingState) -> tuple[MeetingState, bool]:
        """Store ``state`` unless the room has a meeting already. Returns the
        room's meeting and whether it was created now."""
        ...

    def update(self, room: str) -> AbstractAsyncContextManager[MeetingState]:
        """A transaction on the room's meeting (:class:`NoMeeting` if none)."""
        ...

    async def delete(self, room: str) -> None:
        """Forget the room's meeting (no error if there is none)."""
        ...

    async def expire(self, room: str, seconds: float | None) -> None:
        """Drop the room's meeting ``seconds`` from now; None keeps it for good."""
        ...

    async def rooms(self) -> list[str]:
        """Rooms that have a meeting."""
        ...

    async def count(self) -> int:
        """How many meetings the store holds (expired ones not counted)."""
        ...

    async def append(self, room: str, log: str, item: dict[str, Any], keep: int) -> None:
        """Add ``item`` to the room's ``log``, keeping the newest ``keep`` items."""
        ...

    async def read(self, room: str, log: str) -> list[dict[str, Any]]:
        """The room's ``log``, oldest first (empty if none)."""
        ...


class MemoryStore:
    """The embedded store: one process, nothing to install.

    Expired meetings are swept out by a timer set for the earliest deadline
    (and on every write), never only when someone reads them: a flood of
    meetings that nobody opens leaves no memory behind once they expire.
    """

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._room_of: dict[str, str] = {}  # meeting id -> room
        self._deadlines: dict[str, float] = {}
        #: (deadline, room), earliest first; entries whose room has another
        #: deadline by now are skipped when they come up.
        self._expiries: list[tuple[float, str]] = []
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._sweep_at = 0.0
        self._locks: dict[str, asyncio.Lock] = {}
        self._logs: dict[str, dict[str, deque[str]]] = {}  # room -> log name -> items

    def held(self) -> int:
        """Meetings held in memory right now, without sweeping (for tests and
        measurements: an expired meeting still counted here is still held)."""
        return len(self._data)

    def _live(self, room: str) -> str | None:
        deadline = self._deadlines.get(room)
        if deadline is not None and time.monotonic() >= deadline:
            self._forget(room)
        return self._data.get(room)

    def _forget(self, room: str) -> None:
        raw = self._data.pop(room, None)
        self._deadlines.pop(room, None)
        self._logs.pop(room, None)
        if raw is not None:
            meeting_id = json.loads(raw)["meeting_id"]
            self._room_of.pop(meeting_id, None)

    def _save(self, state: MeetingState) -> None:
        self._data[state.room] = json.dumps(state.to_dict(), separators=(",", ":"))
        self._room_of[state.meeting_id] = state.room

    # -- expiry --------------------------------------------------------------------

    def _sweep_due(self) -> None:
        """Forget every meeting whose deadline has passed."""
        now = time.monotonic()
        while self._expiries and self._expiries[0][0] <= now:
            deadline, room = heapq.heappop(self._expiries)
            if self._deadlines.get(room) == deadline:
                self._forget(room)
        if len(self._expiries) > 2 * len(self._deadlines) + 64:
            # Mostly stale entries (deadlines moved or dropped): rebuild.
            self._expiries = [(deadline, room) for room, deadline in self._deadlines.items()]
            heapq.heapify(self._expiries)

    def _on_sweep_timer(self) -> None:
        self._sweep_timer = None
        self._sweep_due()
        self._schedule_sweep()

    def _schedule_sweep(self) -> None:
        """Have the timer fire at the earliest deadline (call from the loop)."""
        if not self._expiries:
            return
        first = self._expiries[0][0]
        if self._sweep_timer is not None:
            if self._sweep_at <= first:
                return
            self._sweep_timer.cancel()
        self._sweep_at = first
        delay = max(0.0, first - time.monotonic())
        self._sweep_timer = asyncio.get_running_loop().call_later(delay, self._on_sweep_timer)

    # -- the interface ---------------------------------------------------------------

    async def get(self, room: str) -> MeetingState | None:
        raw = self._live(room)
        return None if raw is None else MeetingState.from_dict(json.loads(raw))

    async def find(self, meeting_id: str) -> MeetingState | None:
        room = self._room_of.get(meeting_id)
        return None if room is None else await self.get(room)

    async def create(self, state: MeetingState) -> tuple[MeetingState, bool]:
        self._sweep_due()
        async with self._lock(state.room):
            existing = await self.get(state.room)
            if existing is not None:
                return existing, False
            self._save(state)
            return MeetingState.from_dict(state.to_dict()), True

    def update(self, room: str) -> AbstractAsyncContextManager[MeetingState]:
        return self._update(room)

    @asynccontextmanager
    async def _update(self, room: str) -> AsyncIterator[MeetingState]:
        async with self._lock(room):
            state = await self.get(room)
            if state is None:
                raise NoMeeting(f"room {room!r} has no meeting")
            yield state
            if room in self._data:  # not deleted meanwhile
                self._save(state)

    async def delete(self, room: str) -> None:
        self._forget(room)

    async def expire(self, room: str, seconds: float | None) -> None:
        if seconds is None:
            self._deadlines.pop(room, None)
        elif room in self._data:
            deadline = time.monotonic() + seconds
            self._deadlines[room] = deadline
            heapq.heappush(self._expiries, (deadline, room))
            self._schedule_sweep()

    async def rooms(self) -> list[str]:
        return [room for room in list(self._data) if self._live(room) is not None]

    async def count(self) -> int:
        self._sweep_due()
        return len(self._data)

    async def append(self, room: str, log: str, item: dict[str, Any], keep: int) -> None:
        if self._live(room) is None:
            raise NoMeeting(f"room {room!r} has no meeting")
        logs = self._logs.setdefault(room, {})
        entries = logs.get(log)
        if entries is None or entries.maxlen != keep:
            entries = logs[log] = deque(entries or (), maxlen=keep)
        entries.append(json.dumps(item, separators=(",", ":")))

    async def read(self, room: str, log: str) -> list[dict[str, Any]]:
        if self._live(room) is None:
            return []
        return [json.loads(raw) for raw in self._logs.get(room, {}).get(log, ())]

    def _lock(self, room: str) -> asyncio.Lock:
        lock = self._locks.get(room)
        if lock is None:
            lock = self._locks[room] = asyncio.Lock()
        if len(self._locks) > 4 * len(self._data) + 64:
            # Drop the locks of rooms that are gone and that nobody holds.
            for name, other in list(self._locks.items()):
                if name not in self._data and not other.locked() and other is not lock:
                    del self._locks[name]
        return lock
