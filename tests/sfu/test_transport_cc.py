"""Transport-wide CC feedback: record arrivals, build RTPFB fmt 15, decode, compare."""

from __future__ import annotations

import contextlib
import random
import struct

import pytest
from aiortc.rtp import RtcpPacket, RtcpRtpfbPacket
from hypothesis import given, settings
from hypothesis import strategies as st

from sfu import rtcp
from sfu.transport_cc import (
    MAX_RECEIVED_PER_PACKET,
    TICK_US,
    TransportCcRecorder,
    parse_transport_cc,
)


def ticks(arrival: float) -> int:
    return round(arrival * 4000)


def decoded(packets: list[bytes]) -> list[tuple[int, int | None]]:
    """``(seq, arrival_us or None)`` over all packets, with the 24-bit reference unwrapped away."""
    out: list[tuple[int, int | None]] = []
    for packet in packets:
        out.extend(parse_transport_cc(packet).arrivals_us())
    return out


def expected(arrivals: dict[int, float], first: int, count: int) -> list[tuple[int, int | None]]:
    out: list[tuple[int, int | None]] = []
    for i in range(count):
        seq = (first + i) & 0xFFFF
        out.append((seq, ticks(arrivals[seq]) * TICK_US if seq in arrivals else None))
    return out


def check_wire_format(packet: bytes) -> None:
    """Length field, padding and header as RFC 3550 / RFC 4585 want them."""
    assert len(packet) % 4 == 0
    first, ptype, words = struct.unpack_from("!BBH", packet)
    assert (first >> 6, first & 0x1F, ptype) == (2, 15, 205)
    assert 4 * (words + 1) == len(packet)
    if first & 0x20:
        assert 1 <= packet[-1] <= 3 and packet[-packet[-1] : -1] == bytes(packet[-1] - 1)
    assert [f.kind for f in rtcp.parse_feedback(packet)] == ["transport_cc"]


def test_gaps_reordering_and_the_wrap_round_trip_at_250_us_resolution():
    recorder = TransportCcRecorder(sender_ssrc=0xAAAA)
    order = [65530, 65531, 65533, 65532, 65535, 1, 2, 0, 5, 6]  # 65534, 3, 4 lost
    arrivals = {seq: 1000.0 + i * 0.0031 for i, seq in enumerate(order)}
    for seq in order:
        recorder.on_packet(seq, arrivals[seq])
    packets = recorder.feedback(media_ssrc=0xBBBB)
    assert len(packets) == 1
    check_wire_format(packets[0])
    fb = parse_transport_cc(packets[0])
    assert (fb.sender_ssrc, fb.media_ssrc, fb.base_seq, fb.fb_count) == (0xAAAA, 0xBBBB, 65530, 0)
    assert decoded(packets) == expected(arrivals, 65530, 13)
    # Reordered packets give negative deltas (2-byte symbols).
    assert any(delta is not None and delta < 0 for _, delta in fb.packets)


def test_reference_time_is_in_64_ms_units_and_the_first_delta_is_small():
    recorder = TransportCcRecorder(1)
    recorder.on_packet(7, 12.345678)
    fb = parse_transport_cc(recorder.feedback(2)[0])
    assert fb.reference_time == int(12.345678 / 0.064)
    [(seq, delta)] = fb.packets
    assert seq == 7 and delta is not None and 0 <= delta < 256


def test_aiortc_reads_the_header_of_an_unpadded_feedback():
    recorder = TransportCcRecorder(0x1234)
    for seq in range(16):  # 1 chunk + 16 one-byte deltas: 38 bytes -> padded; 18 is not
        recorder.on_packet(seq, 5.0 + seq * 0.001)
    recorder.on_packet(16, 5.016)
    recorder.on_packet(17, 5.017)
    [packet] = recorder.feedback(0x5678)
    assert not packet[0] & 0x20  # 20 + 2 + 18 = 40 bytes, no padding needed
    [parsed] = RtcpPacket.parse(packet)
    assert isinstance(parsed, RtcpRtpfbPacket)
    assert (parsed.fmt, parsed.ssrc, parsed.media_ssrc) == (15, 0x1234, 0x5678)


def test_a_run_of_received_packets_takes_one_run_length_chunk():
    recorder = TransportCcRecorder(1)
    for seq in range(100):
        recorder.on_packet(seq, 1.0 + seq * 0.002)
    [packet] = recorder.feedback(2)
    assert len(packet) == 20 + 2 + 100 + 2  # header, one chunk, 1-byte deltas, padding
    assert packet[20:22] == bytes.fromhex("2064")  # T=0, S=1 (small), run 100
    assert packet[0] & 0x20 and packet[-1] == 2


def test_each_call_reports_only_what_is_new_and_counts_feedback_packets():
    recorder = TransportCcRecorder(1)
    for seq in range(10):
        recorder.on_packet(seq, 1.0 + seq * 0.001)
    first = recorder.feedback(2)
    assert recorder.feedback(2) == []
    recorder.on_packet(12, 1.02)  # 10 and 11 lost across the boundary
    [second] = recorder.feedback(2)
    fb = parse_transport_cc(second)
    assert (fb.base_seq, fb.fb_count) == (10, 1)
    assert [delta is None for _, delta in fb.packets] == [True, True, False]
    assert parse_transport_cc(first[0]).fb_count == 0
    for seq in range(13, 313):
        recorder.on_packet(seq, 2.0 + seq / 1000)
        recorder.feedback(2)
    recorder.on_packet(313, 3.0)
    assert parse_transport_cc(recorder.feedback(2)[0]).fb_count == 302 & 0xFF


def test_a_packet_reported_lost_that_arrives_late_is_reported_again():
    recorder = TransportCcRecorder(1)
    arrivals = {0: 1.0, 1: 1.001, 3: 1.003}
    for seq, at in arrivals.items():
        recorder.on_packet(seq, at)
    assert [d is None for _, d in parse_transport_cc(recorder.feedback(2)[0]).packets] == [
        False,
        False,
        True,
        False,
    ]
    arrivals[2] = 1.150  # a retransmission, 150 ms later
    arrivals[4] = 1.151
    recorder.on_packet(2, arrivals[2])
    recorder.on_packet(4, arrivals[4])
    packets = recorder.feedback(2)
    assert parse_transport_cc(packets[0]).base_seq == 2
    assert decoded(packets) == expected(arrivals, 2, 3)


def test_a_gap_in_time_too_long_for_a_delta_starts_a_new_packet():
    recorder = TransportCcRecorder(1)
    arrivals = {0: 1.0, 1: 1.001, 3: 10.5, 4: 10.501}  # 9.5 s > 32767 x 250 us
    for seq, at in arrivals.items():
        recorder.on_packet(seq, at)
    packets = recorder.feedback(2)
    assert len(packets) == 2
    assert [parse_transport_cc(p).base_seq for p in packets] == [0, 2]
    assert [parse_transport_cc(p).fb_count for p in packets] == [0, 1]
    assert decoded(packets) == expected(arrivals, 0, 5)
    for packet in packets:
        check_wire_format(packet)


def test_many_packets_split_and_cover_the_range_exactly_once():
    rng = random.Random(7)
    recorder = TransportCcRecorder(1)
    arrivals: dict[int, float] = {}
    at = 50.0
    for seq in range(65000, 65000 + 900):
        at += rng.uniform(0, 0.004)
        if rng.random() < 0.1:
            continue  # lost
        arrivals[seq & 0xFFFF] = at
        recorder.on_packet(seq & 0xFFFF, at)
    last = max(s + (65536 if s < 65000 else 0) for s in arrivals)
    packets = recorder.feedback(2)
    assert len(packets) == pytest.approx(len(arrivals) / MAX_RECEIVED_PER_PACKET, abs=1)
    assert all(len(p) < 1200 for p in packets)
    for packet in packets:
        check_wire_format(packet)
    assert decoded(packets) == expected(arrivals, 65000, last - 65000 + 1)


def test_a_long_loss_run_spans_several_run_length_chunks():
    recorder = TransportCcRecorder(1)
    recorder.on_packet(0, 1.0)
    recorder.on_packet(20_000, 1.1)
    packets = recorder.feedback(2)
    fb = parse_transport_cc(packets[0])
    assert len(fb.packets) == 20_001
    assert sum(delta is None for _, delta in fb.packets) == 19_999
    assert len(packets[0]) < 60


def test_duplicates_keep_their_first_arrival():
    recorder = TransportCcRecorder(1)
    recorder.on_packet(0, 1.0)
    recorder.on_packet(1, 1.01)
    recorder.on_packet(1, 1.05)
    assert decoded(recorder.feedback(2)) == [(0, 4000 * TICK_US), (1, 4040 * TICK_US)]


def test_a_late_packet_from_before_the_first_one_is_reported():
    recorder = TransportCcRecorder(1)
    recorder.on_packet(5, 1.0)
    recorder.on_packet(65530, 1.001)  # sent before 5, across the wrap
    packets = recorder.feedback(2)
    assert decoded(packets) == expected({5: 1.0, 65530: 1.001}, 65530, 12)


def test_a_long_call_keeps_a_bounded_history_and_reports_each_round_once():
    """Hours of packets in 0.1-s rounds: each round reports exactly its own
    packets, and the history never grows past HISTORY plus one round."""
    from sfu.transport_cc import HISTORY

    recorder = TransportCcRecorder(1)
    seq, at = 100, 1.0
    for _ in range(300):
        sent = {}
        for _ in range(50):
            seq = (seq + 1) & 0xFFFF
            at += 0.002
            sent[seq] = at
            recorder.on_packet(seq, at)
        first = next(iter(sent))
        assert decoded(recorder.feedback(2)) == expected(sent, first, len(sent))
        assert len(vars_of(recorder)["_arrivals"]) <= HISTORY + 50
    # A packet older than the kept history is refused, not reported again.
    recorder.on_packet((seq - HISTORY - 10) & 0xFFFF, at)
    assert recorder.feedback(2) == []


def vars_of(recorder: TransportCcRecorder) -> dict[str, object]:
    return {name: getattr(recorder, name) for name in recorder.__slots__}


def test_nothing_recorded_means_no_feedback():
    assert TransportCcRecorder(1).feedback(2) == []


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 0xFFFF), st.floats(0, 0.2, allow_nan=False)),
        min_size=1,
        max_size=60,
    )
)
def test_random_arrivals_round_trip(steps: list[tuple[int, float]]) -> None:
    recorder = TransportCcRecorder(1)
    seq, at = steps[0][0], 10.0
    arrivals: dict[int, float] = {}
    first = seq
    for jump, wait in steps:
        seq = (seq + 1 + jump % 5) & 0xFFFF  # small gaps, across the wrap sometimes
        at += wait
        arrivals.setdefault(seq, at)
        recorder.on_packet(seq, at)
    first = (first + 1 + steps[0][0] % 5) & 0xFFFF
    count = ((seq - first) & 0xFFFF) + 1
    assert decoded(recorder.feedback(2)) == expected(arrivals, first, count)


@settings(max_examples=1000, deadline=None)
@given(st.binary(min_size=0, max_size=120))
def test_decoding_garbage_raises_only_value_error(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_transport_cc(b"\x8f\xcd" + data)


def test_exact_bytes_of_a_two_bit_status_vector_packet():
    recorder = TransportCcRecorder(1)
    recorder.on_packet(100, 64.000250)  # 256,001 ticks: reference 1000 x 64 ms, delta 1
    recorder.on_packet(102, 64.075250)  # 300 ticks later: a large (2-byte) delta
    [packet] = recorder.feedback(2)
    assert packet == bytes.fromhex(
        "afcd0006"
        "00000001"
        "00000002"  # P=1 FMT=15 PT=205 len 6, sender, media
        "00640003"
        "0003e800"  # base 100, 3 statuses, reference 1000, fb count 0
        "d200"  # status vector, 2-bit symbols: small, not received, large, then 4 x 0
        "01"
        "012c"  # deltas 1 and 300
        "000003"  # padding, last byte counts it
    )


def test_exact_bytes_of_a_one_bit_status_vector_packet():
    recorder = TransportCcRecorder(1)
    for seq, at in ((5, 64.0), (7, 64.001), (8, 64.002)):
        recorder.on_packet(seq, at)
    [packet] = recorder.feedback(2)
    # Symbols 1 0 1 1 in a 1-bit vector: 1 0 | 1 0 1 1 0000000000 -> 0xac00.
    assert packet[12:] == bytes.fromhex("000500040003e800ac00000404000003")
