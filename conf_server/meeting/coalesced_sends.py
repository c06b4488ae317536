"""Coalesced sends: many changes in a short while become one send.

Live results (polls, questionnaires) move with every vote; 200 people voting
within a second would otherwise be 200 updates to every host. The first change
of a key schedules one send after ``interval`` seconds; changes until then ride
along with it (the send reads the state afresh when it runs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable

from .meeting_context import MeetingBasics


class CoalescedSends:
    """At most one pending send per key (see the module docstring)."""

    def __init__(self, service: MeetingBasics, interval: float) -> None:
        self._service = service
        self._interval = interval
        self._pending: set[Hashable] = set()

    def send_later(self, key: Hashable, send: Callable[[], Awaitable[None]]) -> None:
        """Run ``send()`` in ``interval`` seconds, unless a send of ``key`` is
        pending already (it will show this change too)."""
        if key not in self._pending:
            self._pending.add(key)
            self._service.tasks.spawn(self._later(key, send))

    async def _later(self, key: Hashable, send: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(self._interval)
        self._pending.discard(key)
        await send()
