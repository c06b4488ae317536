"""RTCP feedback building and reading, cross-checked with aiortc's own RTCP parser."""

from __future__ import annotations

import struct

from aiortc.rtp import (
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    pack_remb_fci,
    unpack_remb_fci,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfu import rtcp
from sfu.rtcp import ReportBlock

BLOCK = ReportBlock(
    ssrc=0xDEADBEEF,
    fraction_lost=25,
    cumulative_lost=-3,
    highest_sequence=0x0001_0005,
    jitter=4321,
    lsr=0x456789AB,
    dlsr=98304,
)


def test_receiver_report_is_read_back_by_aiortc_field_for_field():
    data = rtcp.receiver_report(0x11223344, [BLOCK])
    [packet] = RtcpPacket.parse(data)
    assert isinstance(packet, RtcpRrPacket)
    assert packet.ssrc == 0x11223344
    [info] = packet.reports
    assert (
        info.ssrc,
        info.fraction_lost,
        info.packets_lost,
        info.highest_sequence,
        info.jitter,
        info.lsr,
        info.dlsr,
    ) == (0xDEADBEEF, 25, -3, 0x0001_0005, 4321, 0x456789AB, 98304)


def test_receiver_report_clamps_cumulative_loss_to_24_signed_bits():
    blocks = [
        ReportBlock(1, 300, 10**9, 0, 0, 0, 0),
        ReportBlock(2, 0, -(10**9), 0, 0, 0, 0),
    ]
    [packet] = RtcpPacket.parse(rtcp.receiver_report(7, blocks))
    assert [r.packets_lost for r in packet.reports] == [0x7FFFFF, -0x800000]
    assert packet.reports[0].fraction_lost == 255


def test_more_than_31_blocks_become_a_compound_of_receiver_reports():
    blocks = [ReportBlock(ssrc, 0, ssrc, ssrc, 0, 0, 0) for ssrc in range(1, 41)]
    packets = RtcpPacket.parse(rtcp.receiver_report(9, blocks))
    assert [len(p.reports) for p in packets] == [31, 9]
    assert all(isinstance(p, RtcpRrPacket) and p.ssrc == 9 for p in packets)
    assert [r.ssrc for p in packets for r in p.reports] == list(range(1, 41))


def test_a_report_with_nothing_received_is_an_empty_receiver_report():
    data = rtcp.receiver_report(9, [])
    assert len(data) == 8
    assert RtcpPacket.parse(data) == [RtcpRrPacket(ssrc=9, reports=[])]


def test_nack_packs_pid_and_bitmask_across_the_wrap():
    data = rtcp.generic_nack(1, 2, [20, 1, 65535, 0, 65534, 0])
    # PID 65534 with 65535, 0, 1 in its bitmask; then PID 20 alone.
    assert data == bytes.fromhex("81cd00040000000100000002fffe000700140000")
    [packet] = RtcpPacket.parse(data)
    assert isinstance(packet, RtcpRtpfbPacket) and packet.fmt == 1
    assert (packet.ssrc, packet.media_ssrc) == (1, 2)
    assert [seq & 0xFFFF for seq in packet.lost] == [65534, 65535, 0, 1, 20]


def test_nack_bitmask_reaches_16_after_the_pid_and_no_further():
    [one] = RtcpPacket.parse(rtcp.generic_nack(1, 2, [100, 116]))
    assert len(one.lost) == 2 and bytes(one)[-4:] == bytes.fromhex("00648000")
    [two] = RtcpPacket.parse(rtcp.generic_nack(1, 2, [100, 117]))
    assert two.lost == [100, 117]
    assert len(bytes(two)) == 12 + 8


def test_nack_of_nothing_is_no_packet_and_big_lists_split():
    assert rtcp.generic_nack(1, 2, []) == b""
    lost = [i * 20 for i in range(600)]
    packets = rtcp.generic_nacks(1, 2, lost)
    assert len(packets) == 3
    parsed = [seq for p in packets for seq in RtcpPacket.parse(p)[0].lost]
    assert parsed == lost
    assert RtcpPacket.parse(rtcp.generic_nack(1, 2, lost))[0].lost == lost


def test_pli_matches_aiortc():
    data = rtcp.pli(5, 6)
    assert data == bytes(RtcpPsfbPacket(fmt=1, ssrc=5, media_ssrc=6))
    assert RtcpPacket.parse(data) == [RtcpPsfbPacket(fmt=1, ssrc=5, media_ssrc=6)]


def test_remb_matches_aiortc_and_rounds_the_bitrate_down():
    for bitrate in (0, 1000, 0x3FFFF, 1_500_000, 123_456_789):
        data = rtcp.remb(5, bitrate, [10, 11])
        expected = RtcpPsfbPacket(
            fmt=15, ssrc=5, media_ssrc=0, fci=pack_remb_fci(bitrate, [10, 11])
        )
        assert data == bytes(expected)
        [packet] = RtcpPacket.parse(data)
        sent, ssrcs = unpack_remb_fci(packet.fci)
        assert ssrcs == [10, 11]
        assert bitrate * 0.99999 <= sent <= bitrate


def sender_report() -> bytes:
    info = RtcpSenderInfo(
        ntp_timestamp=0x0123456789ABCDEF, rtp_timestamp=90000, packet_count=7, octet_count=800
    )
    block = RtcpReceiverInfo(
        ssrc=3, fraction_lost=1, packets_lost=2, highest_sequence=3, jitter=4, lsr=5, dlsr=6
    )
    return bytes(RtcpSrPacket(ssrc=77, sender_info=info, reports=[block]))


def fir(sender: int, targets: list[int]) -> bytes:
    fci = b"".join(struct.pack("!IB3x", ssrc, n) for n, ssrc in enumerate(targets))
    return bytes(RtcpPsfbPacket(fmt=4, ssrc=sender, media_ssrc=0, fci=fci))


def compound() -> bytes:
    sdes = RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=77, items=[(1, b"cname")])])
    return b"".join(
        [
            sender_report(),
            bytes(sdes),
            rtcp.receiver_report(8, [BLOCK]),
            bytes(RtcpRtpfbPacket(fmt=1, ssrc=8, media_ssrc=9, lost=[5, 7, 30])),
            rtcp.pli(8, 9),
            fir(8, [9, 10]),
            rtcp.remb(8, 1_000_000, [9]),
            bytes(RtcpByePacket(sources=[77])),
        ]
    )


def test_parse_feedback_walks_a_compound_packet_and_skips_what_needs_no_action():
    found = rtcp.parse_feedback(compound())
    assert [f.kind for f in found] == ["sr", "rr", "nack", "pli", "fir", "remb"]
    sr, rr, nack, pli, fir_, remb = found
    assert (sr.sender_ssrc, sr.ntp, sr.rtp_timestamp, sr.packet_count, sr.octet_count) == (
        77,
        0x0123456789ABCDEF,
        90000,
        7,
        800,
    )
    assert sr.reports == (ReportBlock(3, 1, 2, 3, 4, 5, 6),)
    assert rr.sender_ssrc == 8 and rr.reports == (BLOCK,)
    assert (nack.media_ssrc, nack.lost) == (9, (5, 7, 30))
    assert (pli.sender_ssrc, pli.media_ssrc) == (8, 9)
    assert fir_.ssrcs == (9, 10)
    assert (remb.bitrate, remb.ssrcs) == (1_000_000, (9,))


def test_parse_feedback_reads_nack_wrapping_past_65535():
    data = bytes(RtcpRtpfbPacket(fmt=1, ssrc=1, media_ssrc=2, lost=[65534, 65535, 65536]))
    [nack] = rtcp.parse_feedback(data)
    assert nack.lost == (65534, 65535, 0)


def test_parse_feedback_keeps_transport_cc_whole_even_with_padding():
    body = struct.pack("!IIHHI", 1, 2, 100, 1, 0x000001_00) + bytes([0x20, 0x01, 0x04])
    data = struct.pack("!BBH", 0xA0 | 15, 205, (4 + len(body) + 1) // 4 - 1) + body + b"\x01"
    [fb] = rtcp.parse_feedback(data + rtcp.pli(1, 2))[:1]
    assert fb.kind == "transport_cc" and fb.media_ssrc == 2 and fb.packet == data
    assert [f.kind for f in rtcp.parse_feedback(data + rtcp.pli(1, 2))] == ["transport_cc", "pli"]


def test_parse_feedback_stops_at_the_first_malformed_packet():
    good = rtcp.pli(1, 2)
    assert rtcp.parse_feedback(good + b"\x40\xce\x00\x02" + bytes(8) + good) == [
        rtcp.Feedback("pli", 1, 2)
    ]
    # A length running past the end of the datagram.
    assert len(rtcp.parse_feedback(good + b"\x81\xce\x00\x09" + bytes(8))) == 1
    # Bad padding count (0, or longer than the packet).
    assert len(rtcp.parse_feedback(good + b"\xa1\xce\x00\x02" + bytes(8))) == 1
    assert len(rtcp.parse_feedback(good + b"\xa1\xce\x00\x02" + bytes(7) + b"\x20")) == 1
    # A receiver report claiming more blocks than it carries.
    assert rtcp.parse_feedback(b"\x82\xc9\x00\x07" + bytes(28)) == []
    # A REMB listing more SSRCs than it holds.
    broken_remb = bytearray(rtcp.remb(1, 1000, [5]))
    broken_remb[16] = 9
    assert rtcp.parse_feedback(good + bytes(broken_remb)) == [rtcp.Feedback("pli", 1, 2)]


def test_every_truncation_of_a_compound_packet_parses_a_prefix():
    data = compound()
    full = rtcp.parse_feedback(data)
    for cut in range(len(data)):
        found = rtcp.parse_feedback(data[:cut])
        assert found == full[: len(found)]


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_parse_feedback_never_raises_on_random_bytes(data: bytes) -> None:
    for item in rtcp.parse_feedback(data):
        assert isinstance(item, rtcp.Feedback)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=8))
def test_parse_feedback_never_raises_on_mutated_compound_packets(
    edits: list[tuple[int, int]],
) -> None:
    data = bytearray(compound())
    for position, value in edits:
        data[position % len(data)] = value
    for item in rtcp.parse_feedback(bytes(data)):
        assert isinstance(item, rtcp.Feedback)


def test_sender_reports_and_cname_read_back_by_us_and_by_aiortc():
    """The compound the SFU sends each subscriber (issue 17: one packet for all
    its slots instead of one per sender) parses as RFC 3550 says."""
    from aiortc.rtp import RtcpPacket, RtcpSdesPacket, RtcpSrPacket

    compound = (
        rtcp.sender_report(1111, (5 << 32) | 7, 90000, 12, 3400)
        + rtcp.sender_report(2222, 1 << 40, 0xFFFFFFFF, 2**33, 5)
        + rtcp.sdes_cname(1111, "a-cname-of-odd-length")
    )
    ours = rtcp.parse_feedback(compound)
    assert [(f.kind, f.sender_ssrc) for f in ours] == [("sr", 1111), ("sr", 2222)]
    assert (ours[0].ntp, ours[0].rtp_timestamp, ours[0].packet_count, ours[0].octet_count) == (
        (5 << 32) | 7,
        90000,
        12,
        3400,
    )
    assert ours[1].packet_count == 0  # 32-bit counters wrap
    theirs = RtcpPacket.parse(compound)
    assert [type(p) for p in theirs] == [RtcpSrPacket, RtcpSrPacket, RtcpSdesPacket]
    assert theirs[2].chunks[0].items == [(1, b"a-cname-of-odd-length")]
    assert len(rtcp.sdes_cname(1, "abc")) % 4 == 0
