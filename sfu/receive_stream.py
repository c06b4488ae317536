"""Receive statistics of one incoming RTP stream, for the receiver reports we send.

RFC 3550 appendix A: A.1 (extended sequence numbers, jumps and restarts; the
probation of new sources is skipped because the SDP or MID already vouched for
the stream), A.3 (cumulative loss and the fraction lost per report interval)
and A.8 (interarrival jitter in timestamp units).

Unlike A.1, duplicates are recognised (a ring of the last ``WINDOW`` extended
numbers) so a retransmission of a packet already received is not counted twice
and cumulative loss does not go negative; a late packet that fills a gap counts
as received but does not move the jitter estimate (its transit time says
nothing about the path's jitter, only about the repair).
"""

from __future__ import annotations

from .rtcp import ReportBlock

#: A forward step larger than this is a jump (RFC 3550 A.1 MAX_DROPOUT).
MAX_DROPOUT = 3000
#: How far behind the highest number a late packet is still accepted.
WINDOW = 1024
#: Jitter ignores transit changes larger than this many seconds (a paused
#: sender or a clock step, not jitter).
MAX_TRANSIT_STEP_S = 5.0

_CUMULATIVE_MAX = 0x7FFFFF
_CUMULATIVE_MIN = -0x800000


class ReceiveStream:
    """Counters of one SSRC. Call :meth:`on_packet` per packet, :meth:`report_block` per RR."""

    __slots__ = (
        "_bad_seq",
        "_base_ext",
        "_expected_prior",
        "_jitter",
        "_last_arrival",
        "_last_timestamp",
        "_lost_before",
        "_max_ext",
        "_received",
        "_received_prior",
        "_seen",
        "_sr_arrival",
        "clock_rate",
        "lsr",
        "packets_received",
        "ssrc",
    )

    def __init__(self, ssrc: int, clock_rate: int) -> None:
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        #: Packets counted as received (duplicates excluded), over the stream's life.
        self.packets_received = 0
        #: Middle 32 bits of the last sender report's NTP time (0: none yet).
        self.lsr = 0
        self._sr_arrival = 0.0
        self._max_ext = -1  # extended highest sequence number; -1: nothing yet
        self._base_ext = 0
        self._bad_seq = -1
        self._received = 0  # since the last (re)start
        self._lost_before = 0  # cumulative loss of the stream before its last restart
        self._expected_prior = 0
        self._received_prior = 0
        self._jitter = 0.0  # in timestamp units, RFC 3550 A.8
        self._last_arrival = 0.0
        self._last_timestamp = -1
        self._seen = [-1] * WINDOW  # extended numbers received, by ext % WINDOW

    # -- per packet ---------------------------------------------------------

    def on_packet(self, sequence_number: int, timestamp: int, arrival: float) -> bool:
        """Count one packet; ``arrival`` in seconds on a monotonic clock.

        Returns False, and counts nothing, for a duplicate, for a packet more
        than ``WINDOW`` behind, and for the first packet after a jump (RFC
        3550 A.1: a second consecutive packet after the jump restarts the
        counting there, as a sender that reset its numbers would).
        """
        seq = sequence_number & 0xFFFF
        max_ext = self._max_ext
        if max_ext < 0:
            self._restart(seq)
            self._take(self._max_ext)
            self._update_jitter(timestamp, arrival)
            return True
        delta = (seq - max_ext) & 0xFFFF
        if 0 < delta < MAX_DROPOUT:
            ext = max_ext + delta
            self._max_ext = ext
            self._take(ext)
            self._update_jitter(timestamp, arrival)
            return True
        back = (max_ext - seq) & 0xFFFF
        if back < WINDOW:
            ext = max_ext - back
            if ext < self._base_ext or self._seen[ext % WINDOW] == ext:
                return False  # duplicate, or from before the stream (re)started
            self._take(ext)
            return True
        # A jump: believe it only when the next packet follows it.
        if seq != self._bad_seq:
            self._bad_seq = (seq + 1) & 0xFFFF
            return False
        self._lost_before += self._expected() - self._received
        self._restart(seq)
        self._take(self._max_ext)
        self._last_timestamp = -1  # transit before the jump does not compare
        self._update_jitter(timestamp, arrival)
        return True

    def _restart(self, seq: int) -> None:
        # Read the jump as a step forward: the extended number only ever grows.
        ext = self._max_ext + ((seq - self._max_ext) & 0xFFFF) if self._max_ext >= 0 else seq
        self._base_ext = self._max_ext = ext
        self._received = self._expected_prior = self._received_prior = 0
        self._bad_seq = -1

    def _take(self, ext: int) -> None:
        self._seen[ext % WINDOW] = ext
        self._received += 1
        self.packets_received += 1

    def _update_jitter(self, timestamp: int, arrival: float) -> None:
        last = self._last_timestamp
        if last == timestamp:
            # Packets of one frame share a timestamp and leave in a burst: their
            # spread is packetisation, not network jitter (libwebrtc does the same).
            return
        self._last_timestamp = timestamp
        previous_arrival, self._last_arrival = self._last_arrival, arrival
        if last < 0:
            return
        # D(i-1, i) of A.8 from differences, so a 32-bit timestamp wrap is harmless.
        sent = ((timestamp - last + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        d = abs((arrival - previous_arrival) * self.clock_rate - sent)
        if d < MAX_TRANSIT_STEP_S * self.clock_rate:
            self._jitter += (d - self._jitter) / 16

    # -- sender reports and reports -------------------------------------------

    def on_sender_report(self, ntp: int, arrival: float) -> None:
        """Remember the publisher's sender report: its NTP time (64-bit) and when it came."""
        self.lsr = (ntp >> 16) & 0xFFFFFFFF
        self._sr_arrival = arrival

    def _expected(self) -> int:
        return self._max_ext - self._base_ext + 1 if self._max_ext >= 0 else 0

    @property
    def packets_lost(self) -> int:
        """Cumulative packets lost (expected minus received), across restarts."""
        return self._lost_before + self._expected() - self._received

    @property
    def highest_sequence(self) -> int:
        """Extended highest sequence number received (cycles << 16 | seq); 0 before any."""
        return max(self._max_ext, 0)

    @property
    def jitter(self) -> int:
        """Interarrival jitter in timestamp units, as it goes in the report."""
        return int(self._jitter)

    @property
    def jitter_seconds(self) -> float:
        return self._jitter / self.clock_rate

    def report_block(self, now: float) -> ReportBlock:
        """A report block for this stream; starts a new interval for ``fraction_lost``."""
        expected = self._expected()
        expected_interval = expected - self._expected_prior
        received_interval = self._received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self._received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        cumulative = max(_CUMULATIVE_MIN, min(self.packets_lost, _CUMULATIVE_MAX))
        dlsr = 0
        if self.lsr:
            dlsr = min(max(0, int((now - self._sr_arrival) * 65536)), 0xFFFFFFFF)
        return ReportBlock(
            ssrc=self.ssrc,
            fraction_lost=fraction,
            cumulative_lost=cumulative,
            highest_sequence=self.highest_sequence & 0xFFFFFFFF,
            jitter=min(self.jitter, 0xFFFFFFFF),
            lsr=self.lsr,
            dlsr=dlsr,
        )
