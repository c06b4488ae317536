"""Lost audio is repaired by NACK like video: the SFU asks the publisher for a
missing Opus packet (at once, then once more), forwards the resent packet once
when it comes, and answers a subscriber's NACK with the original packet.

Real Producer, Consumer and SendSlot (its transceiver from a real aiortc peer
connection); the slot writes to a UDP socket on loopback, and the test reads
what a subscriber would receive.
"""

from __future__ import annotations

import socket
import struct

from aiortc import RTCPeerConnection

from sfu import aiortc_bridge as bridge
from sfu import rtp
from sfu.consumer import Consumer
from sfu.producer import Producer
from sfu.producer_layer import AUDIO_NACK_RETRIES
from sfu.publish_transport import ASSUMED_RTT
from sfu.send_slot import SendSlot
from sfu.settings import SfuSettings
from sfu.stats import SfuStats

SSRC = 4242
OPUS = bridge.Codec("audio/opus", 48000, 111)


def opus_packet(seq: int) -> rtp.RtpView:
    """One 20 ms Opus packet whose payload names its sequence number."""
    header = struct.pack("!BBHII", 0x80, 111, seq & 0xFFFF, seq * 960, SSRC)
    return rtp.parse(header + b"opus" + struct.pack("!H", seq & 0xFFFF))


def payload_seq(data: bytes) -> int:
    """The publisher's sequence number, read back from the payload."""
    return int(struct.unpack_from("!H", data, len(data) - 2)[0])


class Microphone:
    """An audio producer fed by hand."""

    def __init__(self) -> None:
        self.stats = SfuStats()
        self.producer = Producer(
            kind="audio", codec=OPUS, mid="0", ssrc=SSRC, audio_level_id=None,
            settings=SfuSettings(), send_keyframe_request=self._pli, stats=self.stats,
        )  # fmt: skip
        self.layer = self.producer.layers[0]

    async def _pli(self, ssrc: int) -> bool:
        raise AssertionError("audio never asks for a keyframe")

    def send(self, *seqs: int, now: float = 0.0) -> None:
        for seq in seqs:
            self.producer.receive(opus_packet(seq), self.layer, now)


def received(sock: socket.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(sock.recv(2048))
        except TimeoutError:
            return out


def out_seq(data: bytes) -> int:
    return int(struct.unpack_from("!H", data, 2)[0])


async def consumer_of(microphone: Microphone, receiver: socket.socket) -> Consumer:
    pc = RTCPeerConnection()
    sender_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    path = bridge.RtpSendPath.on_socket(sender_sock, receiver.getsockname())
    slot = SendSlot(bridge.add_send_transceiver(pc, "audio"), microphone.stats, path)
    slot.codec = OPUS
    consumer = Consumer(microphone.producer, slot, SfuSettings())
    consumer.resume()
    return consumer


def test_a_gap_in_audio_is_asked_for_at_once_then_once_more_then_given_up() -> None:
    microphone = Microphone()
    microphone.send(100, 101, 102, 103, 104, 106, now=10.0)
    nacks = microphone.layer.nacks
    assert nacks.fresh  # the transport sends the NACK now, not at its next round
    assert nacks.due(10.0, ASSUMED_RTT) == [105]
    assert nacks.due(10.05, ASSUMED_RTT) == []  # not before a round trip
    assert nacks.due(10.1, ASSUMED_RTT) == [105]
    assert AUDIO_NACK_RETRIES == 2
    # A third answer would come some 300 ms late: no jitter buffer waits that long.
    assert nacks.due(10.2, ASSUMED_RTT) == []
    assert nacks.failed == 1 and nacks.missing == 0


def test_an_audio_packet_far_behind_is_not_asked_for() -> None:
    microphone = Microphone()
    microphone.send(100, now=1.0)
    microphone.send(*range(102, 140), now=1.0)  # 101 is now 38 packets (760 ms) old
    assert microphone.layer.nacks.due(1.0, ASSUMED_RTT) == []


async def test_a_resent_audio_packet_fills_its_gap_and_is_forwarded_once(
    receiver: socket.socket,
) -> None:
    microphone = Microphone()
    consumer = await consumer_of(microphone, receiver)
    microphone.send(100, 101, 102, 104, 105)
    microphone.send(103)  # the publisher's resend, on the original SSRC and number
    microphone.send(103)  # resent twice (both NACKs answered): the second is dropped
    got = received(receiver)
    assert [payload_seq(d) for d in got] == [100, 101, 102, 104, 105, 103]
    # In the subscriber's numbering too the late packet fills the hole.
    first = out_seq(got[0])
    assert [(out_seq(d) - first) & 0xFFFF for d in got] == [0, 1, 2, 4, 5, 3]
    assert consumer.packets_sent == 6
    assert microphone.producer.duplicates == 1
    stream = microphone.layer.stream
    assert stream is not None and stream.packets_lost == 0
    assert microphone.layer.nacks.recovered == 1 and microphone.layer.nacks.missing == 0


async def test_a_subscribers_audio_nack_is_answered_with_the_original_packet(
    receiver: socket.socket,
) -> None:
    microphone = Microphone()
    consumer = await consumer_of(microphone, receiver)
    microphone.send(*range(100, 110))
    sent = {out_seq(d): d for d in received(receiver)}
    lost = sorted(sent)[4]
    assert consumer.retransmit(lost) == len(sent[lost])
    [again] = received(receiver)
    assert again == sent[lost]  # same number, timestamp, SSRC and payload
    assert consumer.retransmissions == 1
    assert microphone.stats.retransmissions == 1


async def test_the_audio_cache_answers_nacks_for_about_a_second(
    receiver: socket.socket,
) -> None:
    microphone = Microphone()
    consumer = await consumer_of(microphone, receiver)
    size = SfuSettings().audio_packet_cache_size
    assert size & (size - 1) == 0 and 1.0 <= size * 0.020 <= 2.0
    microphone.send(*range(0, 200))
    newest = out_seq(received(receiver)[-1])
    assert consumer.retransmit((newest - (size - 1)) & 0xFFFF) > 0
    assert consumer.retransmit((newest - size) & 0xFFFF) == 0  # overwritten
    assert len(received(receiver)) == 1
