"""Which packets of one incoming stream to NACK, and when.

A simplified relative of libwebrtc's ``NackRequester`` and mediasoup's
``NackGenerator``: a gap in the sequence numbers puts the missing numbers on a
list; each is asked for at once, then again every ``max(rtt, 20 ms)`` up to
``max_retries`` times; a late arrival (reordered or retransmitted) takes it off.
When repair gives up, the caller should ask for a keyframe instead; so it
should when the list overflows or the stream jumps too far to repair.

Numbers are unwrapped to plain ints internally (16-bit wrap handled by a
serial-number comparison, RFC 1982), so the list stays ordered across 65535.
"""

from __future__ import annotations

#: The shortest interval between two NACKs of one packet, whatever the RTT.
MIN_RETRY_INTERVAL_S = 0.020
#: A retry this early is still due: timers fire a little early or late, and
#: waiting a whole extra tick for a microsecond helps nobody.
RETRY_SLACK_S = 0.001


class _Missing:
    __slots__ = ("asked_at", "retries")

    def __init__(self) -> None:
        self.asked_at = -1.0  # never asked
        self.retries = 0


class NackGenerator:
    """NACK bookkeeping for one SSRC (RTX packets must be unwrapped by the caller)."""

    __slots__ = (
        "_jump_keyframe",
        "_jump_next",
        "_keyframe_needed",
        "_last_keyframe",
        "_missing",
        "_newest",
        "failed",
        "fresh",
        "max_list",
        "max_packet_age",
        "max_retries",
        "nacked",
        "recovered",
    )

    def __init__(
        self, max_packet_age: int = 1000, max_retries: int = 10, max_list: int = 1000
    ) -> None:
        self.max_packet_age = max_packet_age
        self.max_retries = max_retries
        self.max_list = max_list
        #: Cumulative number of NACK requests (one per sequence number per ask).
        self.nacked = 0
        #: Cumulative number of packets given up on (too old, too many retries, overflow).
        self.failed = 0
        #: Set when a packet opened a new gap; the caller clears it once it has
        #: sent the NACKs (so a gap is asked at once, not at the next timer).
        self.fresh = False
        #: Cumulative number of listed packets that arrived after all.
        self.recovered = 0
        self._missing: dict[int, _Missing] = {}  # unwrapped seq -> state, oldest first
        self._newest = -1  # unwrapped newest seq; -1: nothing yet
        self._last_keyframe = -1  # unwrapped seq of the newest keyframe start
        self._keyframe_needed = False
        self._jump_next = -1  # the number that confirms a jump, after a far packet
        self._jump_keyframe = False

    @property
    def missing(self) -> int:
        """How many packets are on the list now."""
        return len(self._missing)

    def on_packet(self, sequence_number: int, now: float, keyframe: bool = False) -> None:
        """Note one received packet; ``keyframe`` if it starts a keyframe.

        A packet more than ``max_packet_age`` away (ahead or behind) is a jump:
        one such packet alone is ignored (a stray); when the next packet
        follows it, the list is cleared, its packets count as failed, and a
        keyframe is needed unless one of the two packets starts one. ``now``
        is accepted for symmetry with :meth:`due`: a new gap is due at the
        next :meth:`due` call whatever the time.
        """
        newest = self._newest
        if newest < 0:
            self._newest = sequence_number & 0xFFFF
            if keyframe:
                self._last_keyframe = self._newest
            return
        delta = ((sequence_number - newest + 0x8000) & 0xFFFF) - 0x8000
        if not -self.max_packet_age <= delta <= self.max_packet_age:
            self._on_jump(sequence_number & 0xFFFF, keyframe)
            return
        seq = newest + delta
        if keyframe and seq > self._last_keyframe:
            self._last_keyframe = seq
        if delta <= 0:
            if self._missing.pop(seq, None) is not None:
                self.recovered += 1
            return
        self._newest = seq
        missing = self._missing
        if seq > newest + 1:
            self.fresh = True
        for lost in range(newest + 1, seq):
            missing[lost] = _Missing()
        if not missing:
            return
        self._forget_older_than(seq - self.max_packet_age)
        if len(missing) > self.max_list:
            self._forget_older_than(self._last_keyframe)
            if len(missing) > self.max_list:
                self.failed += len(missing)
                missing.clear()
                self._keyframe_needed = True

    def _on_jump(self, seq: int, keyframe: bool) -> None:
        if seq != self._jump_next:
            self._jump_next = (seq + 1) & 0xFFFF
            self._jump_keyframe = keyframe
            return
        # Two in a row: the sender really moved on. What is missing cannot be
        # repaired; a keyframe resyncs the decoders. Unwrap forward so the
        # internal numbers keep growing.
        self.failed += len(self._missing)
        self._missing.clear()
        self._newest += (seq - self._newest) & 0xFFFF
        if keyframe or self._jump_keyframe:
            self._last_keyframe = self._newest
        else:
            self._keyframe_needed = True
        self._jump_next = -1

    def _forget_older_than(self, limit: int) -> None:
        """Give up on listed packets older than ``limit`` (dict order is oldest first)."""
        missing = self._missing
        while missing:
            oldest = next(iter(missing))
            if oldest >= limit:
                return
            del missing[oldest]
            self._gave_up(oldest)

    def _gave_up(self, seq: int) -> None:
        self.failed += 1
        # A keyframe newer than the lost packet already lets the decoder resync.
        if seq > self._last_keyframe:
            self._keyframe_needed = True

    def due(self, now: float, rtt: float) -> list[int]:
        """Sequence numbers (16-bit) to NACK now; counts each as asked.

        A packet is due the first time it is seen missing, then every
        ``max(rtt, 20 ms)``; after ``max_retries`` asks it is given up.
        """
        interval = max(rtt, MIN_RETRY_INTERVAL_S) - RETRY_SLACK_S
        asked: list[int] = []
        dropped: list[int] = []
        for seq, state in self._missing.items():
            if state.retries and now - state.asked_at < interval:
                continue
            if state.retries >= self.max_retries:
                dropped.append(seq)
                continue
            state.retries += 1
            state.asked_at = now
            asked.append(seq & 0xFFFF)
        for seq in dropped:
            del self._missing[seq]
            self._gave_up(seq)
        self.nacked += len(asked)
        return asked

    def take_keyframe_needed(self) -> bool:
        """True once after repair gave up on a packet not covered by a newer keyframe."""
        needed, self._keyframe_needed = self._keyframe_needed, False
        return needed
