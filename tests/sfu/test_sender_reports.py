"""A slot's RTCP sender report describes the rewritten stream at the moment it
is sent (RFC 3550 6.4.1: the NTP time of sending and the RTP timestamp that
corresponds to it), also across a pause and a layer switch, so a receiver
that maps RTP timestamps to wallclock time with it (A/V sync, the remote NTP
estimate) places the packets where they were sent.

Real Producer, Consumer and SendSlot (its transceiver from a real aiortc peer
connection), writing to a loopback socket. Times are bracketed by the clock
readings taken around each event, so the checks hold however slowly the
machine runs.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time

from hand_fed_simulcast import Publisher, consumer_of

from sfu import rtcp

NTP_EPOCH_OFFSET = 2208988800
CLOCK = 90000
#: Float rounding of the clocks and the 1/90000-s timestamp step.
SLACK_S = 0.002


def timestamps(sock: socket.socket) -> list[int]:
    """RTP timestamps of the packets that arrived."""
    out: list[int] = []
    while True:
        try:
            data = sock.recv(2048)
        except TimeoutError:
            return out
        out.append(struct.unpack_from("!I", data, 4)[0])


def ts_seconds(later: int, earlier: int) -> float:
    return ((later - earlier) & 0xFFFFFFFF) / CLOCK


async def test_a_sender_report_maps_the_stream_at_the_moment_it_is_sent(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    consumer = await consumer_of(publisher, receiver)
    slot = consumer.slot
    sent_from = time.time()
    publisher.send(0, keyframe=True)
    sent_until = time.time()
    [packet_ts] = timestamps(receiver)

    await asyncio.sleep(0.3)  # nothing forwarded meanwhile: a paused slot
    report_from = time.time()
    [report] = rtcp.parse_feedback(slot.sender_report())
    report_until = time.time()
    assert (report.kind, report.sender_ssrc, report.packet_count) == ("sr", slot.ssrc, 1)
    # Its NTP time is when it was made, not when the last packet went out ...
    report_time = report.ntp / 2**32 - NTP_EPOCH_OFFSET
    assert report_from - SLACK_S <= report_time <= report_until + SLACK_S
    # ... and its RTP timestamp moved on with it: the last packet's plus the
    # time since (the last packet's own timestamp would say 0.3 s too early).
    moved = ts_seconds(report.rtp_timestamp, packet_ts)
    assert report_from - sent_until - SLACK_S <= moved <= report_until - sent_from + SLACK_S

    # A layer switch 0.2 s later continues the stream where the report put it:
    # the new layer's first packet lands at its sending time on that mapping.
    consumer.set_target_layer(2)
    await asyncio.sleep(0.2)
    switch_from = time.time()
    publisher.send(2, keyframe=True)
    switch_until = time.time()
    [switched_ts] = timestamps(receiver)
    assert consumer.current_layer == 2
    placed = report_time + ts_seconds(switched_ts, report.rtp_timestamp)
    assert switch_from - SLACK_S - (report_until - report_from) <= placed
    assert placed <= switch_until + SLACK_S + (report_until - report_from)
