"""Receive statistics for receiver reports: loss, fraction lost, jitter, LSR/DLSR (RFC 3550 A)."""

from __future__ import annotations

import pytest
from aiortc.rtp import RtcpPacket

from sfu import rtcp
from sfu.receive_stream import WINDOW, ReceiveStream

FRAME = 3000  # 90 kHz timestamp step of a 30 fps video frame


def feed(stream: ReceiveStream, seqs: list[int], start: float = 100.0) -> list[bool]:
    """Packets of one frame each, arriving exactly on their timestamp's schedule."""
    return [stream.on_packet(seq, seq * FRAME, start + seq / 30) for seq in seqs]


def test_no_loss_reports_zero_loss_and_the_highest_number():
    stream = ReceiveStream(ssrc=42, clock_rate=90000)
    assert all(feed(stream, list(range(50))))
    block = stream.report_block(now=200.0)
    assert (block.ssrc, block.fraction_lost, block.cumulative_lost) == (42, 0, 0)
    assert block.highest_sequence == 49
    assert stream.packets_received == 50 and stream.packets_lost == 0


def test_fraction_lost_is_per_interval_and_cumulative_loss_adds_up():
    stream = ReceiveStream(42, 90000)
    lost = {3, 17, 18, 40, 41, 42, 60, 77, 88, 95}
    feed(stream, [s for s in range(100) if s not in lost])
    block = stream.report_block(200.0)
    assert block.fraction_lost == (10 << 8) // 100 == 25
    assert block.cumulative_lost == 10
    # Next interval: 100 more, 1 lost out of 100 expected.
    feed(stream, [s for s in range(100, 200) if s != 150])
    block = stream.report_block(201.0)
    assert block.fraction_lost == 2  # 256 // 100
    assert block.cumulative_lost == 11 == stream.packets_lost
    assert stream.packets_received == 189


def test_a_late_packet_fills_its_gap_and_fraction_never_goes_negative():
    stream = ReceiveStream(42, 90000)
    feed(stream, [0, 1, 2, 3, 4, 6, 7, 8, 9])
    assert stream.report_block(200.0).fraction_lost == 25  # 1 of 10
    # The retransmission of 5 arrives with 10: more arrived than expected.
    assert stream.on_packet(5, 5 * FRAME, 201.0)
    feed(stream, [10])
    block = stream.report_block(202.0)
    assert block.fraction_lost == 0
    assert block.cumulative_lost == 0
    assert stream.packets_received == 11


def test_duplicates_are_refused_and_do_not_make_loss_negative():
    stream = ReceiveStream(42, 90000)
    assert feed(stream, [0, 1, 2]) == [True, True, True]
    assert feed(stream, [1, 2, 2]) == [False, False, False]
    assert stream.packets_received == 3 and stream.packets_lost == 0
    block = stream.report_block(200.0)
    assert (block.fraction_lost, block.cumulative_lost) == (0, 0)


def test_extended_highest_sequence_counts_cycles_across_the_wrap():
    stream = ReceiveStream(42, 90000)
    seqs = [65530, 65531, 65532, 65533, 65535, 0, 1, 3, 4, 5]
    assert all(stream.on_packet(s, i * FRAME, 100 + i / 30) for i, s in enumerate(seqs))
    block = stream.report_block(200.0)
    assert block.highest_sequence == (1 << 16) | 5
    assert block.cumulative_lost == 2  # 65534 and 2
    # The lost 65534 arrives late, after the wrap: it counts.
    assert stream.on_packet(65534, 0, 101.0)
    assert stream.packets_lost == 1


def test_a_packet_far_behind_is_refused():
    stream = ReceiveStream(42, 90000)
    feed(stream, list(range(0, 2000)))
    assert not stream.on_packet(2000 - WINDOW - 5, 0, 200.0)
    assert stream.packets_received == 2000


def test_a_single_jump_of_40000_is_ignored_and_the_stream_goes_on():
    stream = ReceiveStream(42, 90000)
    feed(stream, list(range(10)))
    assert not stream.on_packet(40_009, 0, 101.0)
    assert feed(stream, [10, 11]) == [True, True]
    assert stream.highest_sequence == 11 and stream.packets_lost == 0


def test_two_packets_in_a_row_after_a_jump_restart_the_count_there():
    stream = ReceiveStream(42, 90000)
    feed(stream, [0, 1, 2, 4])  # one lost before the jump
    assert not stream.on_packet(40_004, 10 * FRAME, 101.0)
    assert stream.on_packet(40_005, 11 * FRAME, 101.1)
    assert stream.on_packet(40_007, 12 * FRAME, 101.2)  # and one lost after
    block = stream.report_block(200.0)
    assert block.highest_sequence == 40_007
    assert block.cumulative_lost == 2  # the jump itself is not loss
    assert stream.packets_received == 6


def test_jitter_matches_rfc_3550_computed_by_hand():
    stream = ReceiveStream(42, 90000)
    # Frames 3000 ticks (1/30 s) apart; the 2nd is 40 ms after the 1st, the 3rd 30 ms later.
    stream.on_packet(0, 0, 10.0)
    stream.on_packet(1, 3000, 10.040)
    # D = |0.040 * 90000 - 3000| = 600 -> J = 600 / 16 = 37.5
    assert stream.jitter_seconds * 90000 == pytest.approx(37.5)
    stream.on_packet(2, 6000, 10.070)
    # D = |0.030 * 90000 - 3000| = 300 -> J = 37.5 + (300 - 37.5) / 16 = 53.90625
    assert stream.jitter_seconds * 90000 == pytest.approx(53.90625)
    assert stream.report_block(11.0).jitter == 53
    [packet] = RtcpPacket.parse(rtcp.receiver_report(1, [stream.report_block(11.0)]))
    assert packet.reports[0].jitter == 53


def test_packets_of_one_frame_do_not_count_as_jitter():
    stream = ReceiveStream(42, 90000)
    for frame in range(10):
        for part in range(4):  # a burst of 4 packets, 2 ms apart
            stream.on_packet(frame * 4 + part, frame * FRAME, 10 + frame / 30 + part * 0.002)
    assert stream.jitter < 1


def test_a_retransmission_counts_as_received_but_leaves_jitter_alone():
    stream = ReceiveStream(42, 90000)
    feed(stream, [0, 1, 2, 4, 5, 6])
    before = stream.jitter_seconds
    assert stream.packets_lost == 1
    # 3 comes back 300 ms late after a NACK.
    assert stream.on_packet(3, 3 * FRAME, 100 + 3 / 30 + 0.3)
    assert stream.jitter_seconds == before < 1e-9
    assert stream.packets_lost == 0


def test_timestamp_wrap_is_not_jitter():
    stream = ReceiveStream(42, 48000)
    for i in range(10):
        stream.on_packet(i, (0xFFFFFFFF - 2000 + i * 960) & 0xFFFFFFFF, 10 + i * 0.02)
    assert stream.jitter < 1


def test_lsr_and_dlsr_come_from_the_last_sender_report():
    stream = ReceiveStream(42, 90000)
    feed(stream, [0])
    block = stream.report_block(50.0)
    assert (block.lsr, block.dlsr) == (0, 0)
    stream.on_sender_report(0x0123456789ABCDEF, arrival=50.0)
    block = stream.report_block(51.5)
    assert block.lsr == 0x456789AB
    assert block.dlsr == 98304  # 1.5 s in 1/65536 s


def test_a_report_before_any_packet_is_all_zero():
    block = ReceiveStream(42, 90000).report_block(1.0)
    assert (block.fraction_lost, block.cumulative_lost, block.highest_sequence) == (0, 0, 0)
