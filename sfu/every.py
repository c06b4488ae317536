"""Every: work a periodic tick does less often than it runs.

A ticker that runs many times a second (the relay endpoint's, the router's)
has jobs that are due only every so often: passing a sender report on once a
second, repeating which layers are wanted. Each keeps an :class:`Every`
instead of its own "next time" field and comparison.
"""

from __future__ import annotations


class Every:
    """Due at most once per ``interval`` seconds of the caller's clock (the
    ``now`` it passes, e.g. ``time.monotonic()``); due at the first call."""

    __slots__ = ("_next", "interval")

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next = float("-inf")

    def due(self, now: float) -> bool:
        """True if ``interval`` has passed since it was last due (then the
        next interval starts now), else False."""
        if now < self._next:
            return False
        self._next = now + self.interval
        return True
