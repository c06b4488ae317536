"""The public packet tap of a producer (recording subscribes through it)."""

from __future__ import annotations

import inspect
import struct

from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket, RtcpSenderInfo, RtcpSrPacket

from sfu import Producer, SfuSettings, SfuStats, rtp
from sfu.aiortc_bridge import Codec


async def _no_keyframe(_ssrc: int) -> bool:
    return False


def make_producer(kind: str = "audio") -> Producer:
    codec = Codec("audio/opus", 48000, 111) if kind == "audio" else Codec("video/VP8", 90000, 96)
    return Producer(
        kind=kind,
        codec=codec,
        mid="0",
        ssrc=42,
        audio_level_id=None,
        settings=SfuSettings(),
        send_keyframe_request=_no_keyframe,
        stats=SfuStats(),
        app_data={"participant_id": "p"},
    )


def packet(seq: int) -> rtp.RtpView:
    return rtp.parse(struct.pack("!BBHII", 0x80, 111, seq, seq * 960, 42) + b"opus")


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.seen: list[int] = []
        self.closed = 0
        self.fail = fail

    def on_rtp(self, view: rtp.RtpView) -> None:
        self.seen.append(view.sequence_number)
        if self.fail:
            raise RuntimeError("broken sink")

    def on_close(self) -> None:
        self.closed += 1


async def test_sink_sees_forwarded_packets_but_nothing_while_paused():
    producer = make_producer()
    sink = Recorder()
    producer.add_sink(sink)
    producer.receive(packet(1))
    producer.paused = True
    producer.receive(packet(2))
    producer.paused = False
    producer.receive(packet(3))
    producer.remove_sink(sink)
    producer.receive(packet(4))
    assert sink.seen == [1, 3]


async def test_a_sink_may_remove_itself_while_packets_are_delivered():
    producer = make_producer()

    class Once(Recorder):
        def on_rtp(self, view: rtp.RtpView) -> None:
            super().on_rtp(view)
            producer.remove_sink(self)

    once, other = Once(), Recorder()
    producer.add_sink(once)
    producer.add_sink(other)
    producer.receive(packet(1))
    producer.receive(packet(2))
    assert (once.seen, other.seen) == ([1], [1, 2])


async def test_a_failing_sink_does_not_stop_the_others_and_all_are_closed():
    producer = make_producer()
    broken, healthy = Recorder(fail=True), Recorder()
    producer.add_sink(broken)
    producer.add_sink(healthy)
    producer.receive(packet(1))
    producer.receive(packet(2))
    assert healthy.seen == [1, 2] and broken.seen == [1, 2]
    await producer.close()
    await producer.close()
    assert (broken.closed, healthy.closed) == (1, 1)
    assert producer.sinks == []


def test_sender_reports_are_found_in_a_compound_rtcp_packet():
    info = RtcpSenderInfo(
        ntp_timestamp=0x1234_5678_9ABC_DEF0, rtp_timestamp=777, packet_count=1, octet_count=2
    )
    sr = bytes(RtcpSrPacket(ssrc=42, sender_info=info))
    rr = bytes(
        RtcpRrPacket(
            ssrc=1,
            reports=[
                RtcpReceiverInfo(
                    ssrc=2,
                    fraction_lost=0,
                    packets_lost=0,
                    highest_sequence=0,
                    jitter=0,
                    lsr=0,
                    dlsr=0,
                )
            ],
        )
    )
    assert rtp.sender_reports(rr + sr) == [(42, 0x1234_5678_9ABC_DEF0, 777)]
    assert rtp.sender_reports(b"\x00garbage") == []


def test_the_rtcp_hook_still_finds_the_private_handler():
    assert inspect.iscoroutinefunction(RTCDtlsTransport._handle_rtcp_data)
    assert list(inspect.signature(RTCDtlsTransport._handle_rtcp_data).parameters) == [
        "self",
        "data",
    ]
    assert "await self._handle_rtcp_data(data)" in inspect.getsource(RTCDtlsTransport._recv_next)
