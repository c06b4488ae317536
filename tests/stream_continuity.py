"""What a subscriber sees of each forwarded stream, and whether it is unbroken.

A :class:`RecordingSubscriber` is a conf_bench client that receives without
decoding and notes every decrypted RTP packet, per SSRC (one SSRC is one
subscribe slot of the SFU). The checks read those notes as a browser's
receiver would: a sequence number that never came is a loss it would NACK,
a timestamp that goes back upsets its jitter buffer, and timestamps that run
ahead of the wall clock hold its playout back.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from conf_bench.client import BenchClient


@dataclass(frozen=True)
class Packet:
    """One received RTP packet of a stream."""

    at: float
    sequence_number: int
    timestamp: int


class RecordingSubscriber(BenchClient):
    """Receives (``receive=True``) and notes every decrypted packet per SSRC."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.streams: dict[int, list[Packet]] = {}

    def _on_rtp(self, data: bytes, arrival_ms: int) -> None:
        # Not BenchClient's: that one counts at the socket, still encrypted,
        # from the first keyframe on. Here every packet is decrypted.
        self._count_raw(data)
        packet = Packet(
            time.monotonic(), int.from_bytes(data[2:4], "big"), int.from_bytes(data[4:8], "big")
        )
        self.streams.setdefault(int.from_bytes(data[8:12], "big"), []).append(packet)


def _extended(packets: list[Packet]) -> list[tuple[int, Packet]]:
    """Each packet with its sequence number extended past 16-bit wraps."""
    out: list[tuple[int, Packet]] = []
    highest: int | None = None
    for packet in packets:
        if highest is None:
            ext = packet.sequence_number
        else:
            step = ((packet.sequence_number - highest + 0x8000) & 0xFFFF) - 0x8000
            ext = highest + step
        highest = ext if highest is None else max(highest, ext)
        out.append((ext, packet))
    return out


def missing_runs(packets: list[Packet]) -> list[tuple[int, int]]:
    """``(last number before, how many)`` for every run of sequence numbers
    between the first and the last received that never arrived."""
    received = {ext for ext, _ in _extended(packets)}
    if not received:
        return []
    runs: list[tuple[int, int]] = []
    previous = min(received)
    for ext in sorted(received):
        if ext - previous > 1:
            runs.append((previous & 0xFFFF, ext - previous - 1))
        previous = ext
    return runs


def in_order(packets: list[Packet]) -> list[tuple[int, Packet]]:
    """The packets by extended sequence number, each number once (the first copy)."""
    seen: dict[int, Packet] = {}
    for ext, packet in _extended(packets):
        seen.setdefault(ext, packet)
    return sorted(seen.items())


def backward_timestamps(packets: list[Packet]) -> list[tuple[int, int]]:
    """``(sequence number, ticks back)`` wherever, in sequence order, a
    packet's timestamp is below the one before it."""
    out: list[tuple[int, int]] = []
    ordered = in_order(packets)
    for (_, before), (ext, after) in itertools.pairwise(ordered):
        step = ((after.timestamp - before.timestamp + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        if step < 0:
            out.append((ext & 0xFFFF, -step))
    return out


def timestamps_ahead(packets: list[Packet], clock_rate: int, settle_s: float = 2.0) -> float:
    """How far (seconds) the stream's timestamps ran ahead of the wall clock.

    A packet's *lead* is its timestamp (in seconds, continued across wraps)
    minus the time it arrived. While a stream runs live the lead stays put (a
    late arrival only lowers it); a stream that is paused and continues must
    go on with its timestamps moved on by the time that passed, so the lead
    stays put across pauses too. Returns the highest lead less the highest
    lead of the first ``settle_s`` seconds.
    """
    ordered = in_order(packets)
    if not ordered:
        return 0.0
    start = min(p.at for _, p in ordered)
    ticks = 0
    previous = ordered[0][1].timestamp
    first = late = float("-inf")
    for _, packet in ordered:
        ticks += ((packet.timestamp - previous + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        previous = packet.timestamp
        lead = ticks / clock_rate - packet.at
        if packet.at - start <= settle_s:
            first = max(first, lead)
        late = max(late, lead)
    return late - first
