"""Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01).

The receiver side: :class:`TransportCcRecorder` notes the transport-wide
sequence number and arrival time of every packet of one transport and builds
the RTPFB fmt 15 packets that let the sender's bandwidth estimator (the
browser's) see queueing delay and loss. :func:`parse_transport_cc` reads such
a packet back (tests, and subscribers' feedback).

Wire format, after the RTCP header (V=2, P, FMT=15, PT=205, length) and the
sender and media SSRCs: base sequence number (16), packet status count (16),
reference time (24 bits, 64 ms units), feedback packet count (8), status
chunks (16 bits each), receive deltas (1 byte: 0..255 x 250 us, or 2 bytes
signed), then RTCP padding to a 32-bit boundary.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .rtcp import FMT_TRANSPORT_CC, PT_RTPFB

#: Microseconds per delta tick, and delta ticks per reference-time unit (64 ms).
TICK_US = 250
TICKS_PER_REFERENCE = 256
#: Received packets per feedback packet: with worst-case chunks and 2-byte
#: deltas a packet stays near 1,100 bytes, under an MTU after SRTP.
MAX_RECEIVED_PER_PACKET = 250
#: How many sequence numbers of history are kept to re-report after a late arrival.
HISTORY = 1024
#: Arrivals kept between two feedback calls at most (the oldest go first).
MAX_PENDING = 8192

NOT_RECEIVED = 0
SMALL_DELTA = 1
LARGE_DELTA = 2

_FIXED = struct.Struct("!BBHIIHHI")  # header, ssrcs, base, count, ref << 8 | fb count
_MAX_RUN = 0x1FFF
_UNWRAP_START = 1 << 40


class TransportCcRecorder:
    """Arrival times of one transport's packets, turned into feedback on demand."""

    __slots__ = (
        "_arrivals",
        "_fb_count",
        "_highest",
        "_last",
        "_next",
        "_pruned",
        "sender_ssrc",
    )

    def __init__(self, sender_ssrc: int) -> None:
        self.sender_ssrc = sender_ssrc
        self._arrivals: dict[int, int] = {}  # unwrapped seq -> arrival in 250 us ticks
        self._last = -1  # unwrapped seq of the previous packet (unwrapping reference)
        self._highest = -1  # newest unwrapped seq received
        self._next = -1  # first unwrapped seq the next feedback reports
        self._pruned = -1  # no key below this is in _arrivals (or can come back)
        self._fb_count = 0

    def on_packet(self, transport_sequence: int, arrival: float) -> None:
        """Note one packet's transport-wide sequence number and arrival (seconds, monotonic)."""
        last = self._last
        if last < 0:
            # Unwrapped numbers start far above 0 so that late packets (even
            # long runs of them) never meet the -1 "nothing yet" markers.
            seq = _UNWRAP_START + (transport_sequence & 0xFFFF)
        else:
            seq = last + (((transport_sequence - last + 0x8000) & 0xFFFF) - 0x8000)
        self._last = seq
        if seq < self._next - HISTORY or seq < self._pruned or seq in self._arrivals:
            return  # too old to report, or a duplicate (the first arrival counts)
        self._arrivals[seq] = round(arrival * 4000)
        if seq > self._highest:
            self._highest = seq
        if self._next < 0 or seq < self._next:
            # Late: report from here again, so the sender learns it did arrive.
            self._next = seq
        if len(self._arrivals) > MAX_PENDING:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        # Insertion order is arrival order: close enough to oldest first.
        oldest = next(iter(self._arrivals))
        del self._arrivals[oldest]
        self._next = max(self._next, oldest + 1)

    def feedback(self, media_ssrc: int) -> list[bytes]:
        """Feedback packets for everything since the last call; [] if nothing new.

        Sequence numbers in the range that never arrived are reported as not
        received. A new packet starts when a delta does not fit 16 bits or one
        packet holds ``MAX_RECEIVED_PER_PACKET`` received packets.
        """
        start, end = self._next, self._highest
        if start < 0 or start > end:
            return []
        arrivals = self._arrivals
        received = self._recorded_between(start, end + 1)
        packets: list[bytes] = []
        base = start
        reference = -1  # ticks of the current packet's reference time
        previous = 0
        symbols: list[int] = []
        deltas: list[int] = []
        count = 0
        previous_end = start - 1
        for seq in received:
            ticks = arrivals[seq]
            delta = ticks - previous
            if reference >= 0 and (
                count == MAX_RECEIVED_PER_PACKET
                or not -0x8000 <= delta < 0x8000
                or seq - base >= 0xFFFF  # the status count is 16 bits
            ):
                packets.append(self._packet(media_ssrc, base, reference, symbols, deltas))
                base, reference, symbols, deltas, count = previous_end + 1, -1, [], [], 0
            if reference < 0:
                reference = ticks - ticks % TICKS_PER_REFERENCE
                delta = ticks - reference
            symbols.extend([NOT_RECEIVED] * (seq - base - len(symbols)))
            symbols.append(SMALL_DELTA if 0 <= delta <= 0xFF else LARGE_DELTA)
            deltas.append(delta)
            previous, previous_end = ticks, seq
            count += 1
        packets.append(self._packet(media_ssrc, base, reference, symbols, deltas))
        self._next = end + 1
        self._forget_below(end + 1 - HISTORY)
        return packets

    def _forget_below(self, limit: int) -> None:
        """Drop arrivals older than ``limit`` (on_packet refuses those from now on)."""
        if limit <= self._pruned:
            return
        low = self._pruned if self._pruned >= 0 else None
        for seq in self._recorded_between(low, limit):
            del self._arrivals[seq]
        self._pruned = limit

    def _recorded_between(self, low: int | None, high: int) -> list[int]:
        """The recorded sequence numbers in ``low`` .. ``high - 1``, in order
        (``low`` None: from the oldest). Walks the numbers when they are
        fewer than twice the keys (the usual tenth of a second), else the keys
        (after a jump in the numbers), so a round never scans the whole history."""
        arrivals = self._arrivals
        if low is not None and high - low <= 2 * len(arrivals):
            return [seq for seq in range(low, high) if seq in arrivals]
        return sorted(seq for seq in arrivals if (low is None or seq >= low) and seq < high)

    def _packet(
        self, media_ssrc: int, base: int, reference: int, symbols: list[int], deltas: list[int]
    ) -> bytes:
        body = bytearray(_encode_chunks(symbols))
        for delta, symbol in zip(deltas, (s for s in symbols if s), strict=True):
            if symbol == SMALL_DELTA:
                body.append(delta)
            else:
                body += delta.to_bytes(2, "big", signed=True)
        padding = -(_FIXED.size + len(body)) % 4
        if padding:
            body += bytes(padding - 1) + bytes([padding])
        words = (_FIXED.size + len(body)) // 4 - 1
        fb_count = self._fb_count
        self._fb_count = (fb_count + 1) & 0xFF
        header = _FIXED.pack(
            0x80 | (0x20 if padding else 0) | FMT_TRANSPORT_CC,
            PT_RTPFB,
            words,
            self.sender_ssrc & 0xFFFFFFFF,
            media_ssrc & 0xFFFFFFFF,
            base & 0xFFFF,
            len(symbols),
            ((reference // TICKS_PER_REFERENCE) & 0xFFFFFF) << 8 | fb_count,
        )
        return header + bytes(body)


def _encode_chunks(symbols: list[int]) -> bytes:
    """Status chunks for ``symbols``: run-length where a run pays off, else vectors.

    A run of 14 or more (or the whole rest) takes a run-length chunk; otherwise a
    one-bit vector covers 14 symbols if none of them is a large delta, a run of
    7 or more takes a run-length chunk, and a two-bit vector covers the next 7.
    Vectors past the end are filled with "not received"; the receiver reads
    only the packet status count.
    """
    out = bytearray()
    n = len(symbols)
    i = 0
    while i < n:
        symbol = symbols[i]
        run = 1
        while i + run < n and run < _MAX_RUN and symbols[i + run] == symbol:
            run += 1
        if run >= 14 or i + run == n:
            word = (symbol << 13) | run
            i += run
        elif LARGE_DELTA not in symbols[i : i + 14]:
            word = 0x8000
            for bit, s in enumerate(symbols[i : i + 14]):
                word |= s << (13 - bit)
            i += 14
        elif run >= 7:
            word = (symbol << 13) | run
            i += run
        else:
            word = 0xC000
            for slot, s in enumerate(symbols[i : i + 7]):
                word |= s << (12 - 2 * slot)
            i += 7
        out += word.to_bytes(2, "big")
    return bytes(out)


@dataclass(frozen=True, slots=True)
class TransportCcFeedback:
    """One decoded transport-cc feedback packet.

    ``packets`` lists ``(seq, delta)`` for every reported sequence number (16-bit),
    ``delta`` in 250 us ticks from the previous received packet (from the
    reference time for the first), None if not received.
    """

    sender_ssrc: int
    media_ssrc: int
    base_seq: int
    reference_time: int  # 64 ms units, 24 bits as sent
    fb_count: int
    packets: list[tuple[int, int | None]]

    def arrivals_us(self) -> list[tuple[int, int | None]]:
        """``(seq, arrival)`` with arrival in microseconds on the reference-time clock."""
        at = self.reference_time * TICKS_PER_REFERENCE
        out: list[tuple[int, int | None]] = []
        for seq, delta in self.packets:
            if delta is None:
                out.append((seq, None))
            else:
                at += delta
                out.append((seq, at * TICK_US))
        return out


def parse_transport_cc(data: bytes) -> TransportCcFeedback:
    """Decode one whole RTPFB fmt 15 packet (header included); ``ValueError`` if malformed."""
    if len(data) < _FIXED.size:
        raise ValueError("transport-cc feedback too short")
    first, ptype, words, sender, media, base, count, ref_fb = _FIXED.unpack_from(data)
    end = 4 * (words + 1)
    if first >> 6 != 2 or ptype != PT_RTPFB or first & 0x1F != FMT_TRANSPORT_CC:
        raise ValueError("not a transport-cc feedback packet")
    if end > len(data):
        raise ValueError("transport-cc feedback truncated")
    if first & 0x20:
        if not 0 < data[end - 1] <= end - _FIXED.size:
            raise ValueError("bad padding")
        end -= data[end - 1]
    pos = _FIXED.size
    symbols: list[int] = []
    while len(symbols) < count:
        if pos + 2 > end:
            raise ValueError("status chunks truncated")
        word = (data[pos] << 8) | data[pos + 1]
        pos += 2
        if not word & 0x8000:
            if word >> 13 == 3:
                raise ValueError("reserved status symbol")
            symbols.extend([word >> 13] * (word & _MAX_RUN))
        elif not word & 0x4000:
            symbols.extend((word >> (13 - bit)) & 0x1 for bit in range(14))
        else:
            symbols.extend((word >> (12 - 2 * slot)) & 0x3 for slot in range(7))
    packets: list[tuple[int, int | None]] = []
    for offset, symbol in enumerate(symbols[:count]):
        seq = (base + offset) & 0xFFFF
        if symbol == NOT_RECEIVED:
            packets.append((seq, None))
            continue
        if symbol == 3:
            raise ValueError("reserved status symbol")
        size = 1 if symbol == SMALL_DELTA else 2
        if pos + size > end:
            raise ValueError("receive deltas truncated")
        delta = int.from_bytes(data[pos : pos + size], "big", signed=size == 2)
        packets.append((seq, delta))
        pos += size
    return TransportCcFeedback(sender, media, base, ref_fb >> 8, ref_fb & 0xFF, packets)
