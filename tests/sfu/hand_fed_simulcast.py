"""A simulcast producer fed by hand, and consumers of it that send to a
loopback socket standing in for a subscriber (the ``receiver`` fixture).

Real Producer, Consumer and SendSlot (its transceiver from a real aiortc peer
connection).
"""

from __future__ import annotations

import socket
import struct

from aiortc import RTCPeerConnection

from sfu import aiortc_bridge as bridge
from sfu import rtp
from sfu.consumer import Consumer
from sfu.producer import Producer
from sfu.send_slot import SendSlot
from sfu.settings import SfuSettings
from sfu.stats import SfuStats

SSRCS = (1001, 1002, 1003)
VP8 = bridge.Codec("video/VP8", 90000, 96)


class Publisher:
    """A simulcast producer fed by hand, one sequence per layer."""

    def __init__(self, settings: SfuSettings | None = None) -> None:
        self.plis: list[int] = []
        self.producer = Producer(
            kind="video", codec=VP8, mid="0", ssrc=None, audio_level_id=None,
            rids=["q", "h", "f"], settings=settings or SfuSettings(),
            send_keyframe_request=self._pli,
            stats=SfuStats(), app_data={},
        )  # fmt: skip
        for layer, ssrc in zip(self.producer.layers, SSRCS, strict=True):
            layer.bind(ssrc)
        self.seq = [100, 20_000, 40_000]

    async def _pli(self, ssrc: int) -> bool:
        self.plis.append(ssrc)
        return True

    def send(self, layer: int, keyframe: bool = False) -> None:
        """One single-packet frame of ``layer``; its payload names the layer."""
        seq = self.seq[layer]
        self.seq[layer] = (seq + 1) & 0xFFFF
        # VP8 descriptor (S=1, partition 0), then the frame tag: P=0 for a keyframe.
        tag = b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", 160 << layer, 90 << layer)
        payload = b"\x10" + (tag if keyframe else b"\x01\x00\x00") + bytes([layer])
        header = struct.pack("!BBHII", 0x80, 0x80 | 96, seq, seq * 3000, SSRCS[layer])
        self.producer.receive(rtp.parse(header + payload), self.producer.layers[layer])

    def probe(self, layer: int) -> None:
        """A padding-only packet (a bandwidth probe) on ``layer``'s own SSRC
        and next number."""
        seq = self.seq[layer]
        self.seq[layer] = (seq + 1) & 0xFFFF
        header = struct.pack("!BBHII", 0xA0, 96, seq, seq * 3000, SSRCS[layer])
        packet = header + bytes(99) + b"\x64"  # 100 bytes of padding, the last says so
        self.producer.receive(rtp.parse(packet), self.producer.layers[layer])

    def probes_between_frames(self, layer: int) -> None:
        """On ``layer``: a keyframe and a frame, two probes, two frames (six
        numbers, four packets to forward)."""
        self.send(layer, keyframe=True)
        self.send(layer)
        self.probe(layer)
        self.probe(layer)
        self.send(layer)
        self.send(layer)


def datagrams(sock: socket.socket) -> list[bytes]:
    """Every packet that arrived (read until the socket's timeout)."""
    out = []
    while True:
        try:
            out.append(sock.recv(2048))
        except TimeoutError:
            return out


def received(sock: socket.socket) -> list[tuple[int, int]]:
    """(sequence number, layer) of every packet that arrived."""
    return [(struct.unpack_from("!H", data, 2)[0], data[-1]) for data in datagrams(sock)]


async def consumer_of(
    publisher: Publisher, receiver: socket.socket, resume: bool = True
) -> Consumer:
    """A consumer of ``publisher`` sending to ``receiver``; forwarding (resumed)
    unless ``resume`` is False."""
    pc = RTCPeerConnection()
    sender_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    path = bridge.RtpSendPath.on_socket(sender_sock, receiver.getsockname())
    slot = SendSlot(bridge.add_send_transceiver(pc, "video"), SfuStats(), path)
    slot.codec = VP8
    consumer = Consumer(publisher.producer, slot, SfuSettings())
    if resume:
        consumer.resume()
    return consumer
