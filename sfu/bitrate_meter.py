"""Bit rate of one packet stream over a sliding window, cheap enough for every packet."""

from __future__ import annotations

#: Buckets per window: the reading moves in steps of ``window / BUCKETS``.
BUCKETS = 4


class BitrateMeter:
    """Counts bytes in ``BUCKETS`` time buckets of ``window / BUCKETS`` seconds each.

    :meth:`add` is one division, one comparison and one addition in the common
    case (the packet falls in the current bucket), so it can run on the packet
    path. :meth:`bitrate` sums the buckets still inside the window and divides
    by the time they cover: the whole window once the meter has run that long,
    the time since the first packet before that (at least one bucket), so a new
    stream reads close to its true rate after one bucket instead of ramping up
    over a whole window. Buckets older than the window are forgotten, so the
    reading falls to 0 one window after the last packet.

    Time is whatever clock the caller uses (seconds); it is passed in so the
    meter holds no clock of its own and tests are deterministic. A timestamp
    earlier than the newest one seen counts in the newest bucket.
    """

    __slots__ = ("_bucket_len", "_buckets", "_first_time", "_index", "_slot", "window")

    def __init__(self, window: float = 1.0) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self.window = window
        self._bucket_len = window / BUCKETS
        self._buckets = [0] * BUCKETS
        #: Bucket number (time // bucket length) of the newest bucket; None before any packet.
        self._index: int | None = None
        #: Where that bucket sits in ``_buckets``.
        self._slot = 0
        #: When the first packet came: the window never reaches before it.
        self._first_time = 0.0

    def add(self, size_bytes: int, now: float) -> None:
        """Count one packet of ``size_bytes`` that arrived at ``now`` (seconds)."""
        index = int(now // self._bucket_len)
        if index != self._index:
            self._advance(index, now)
        self._buckets[self._slot] += size_bytes

    def bitrate(self, now: float) -> int:
        """Bits per second over the last ``window`` seconds before ``now``."""
        last = self._index
        if last is None:
            return 0
        index = max(int(now // self._bucket_len), last)
        oldest = index - BUCKETS + 1
        total = 0
        for number in range(oldest, last + 1):  # empty once the window passed the newest
            total += self._buckets[number % BUCKETS]
        if not total:
            return 0
        start = max(oldest * self._bucket_len, self._first_time)
        # At least one bucket: a lone packet just after the first one must not
        # read as a huge rate.
        span = min(max(now - start, self._bucket_len), self.window)
        return int(total * 8 / span)

    def _advance(self, index: int, now: float) -> None:
        last = self._index
        if last is None:
            self._first_time = now
        elif index < last:
            return  # the clock went backwards: keep counting in the newest bucket
        elif index - last >= BUCKETS:
            self._buckets = [0] * BUCKETS
        else:
            for number in range(last + 1, index + 1):
                self._buckets[number % BUCKETS] = 0
        self._index = index
        self._slot = index % BUCKETS
