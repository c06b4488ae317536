"""The room media report shows a simulcast publisher's layers (RID, SSRC, bit
rate, frame size) and which layer a subscriber's consumer forwards.

Real Producer, Consumer and SendSlot (its transceiver from a real aiortc peer
connection, writing to a UDP socket on loopback); the publisher's packets are
made by hand, as in tests/sfu/test_layer_switching.py.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest
from aiortc import RTCPeerConnection

from conf_server.meeting.media_report import consumer_report, producer_report
from sfu import aiortc_bridge as bridge
from sfu import rtp
from sfu.consumer import Consumer
from sfu.producer import Producer
from sfu.send_slot import SendSlot
from sfu.settings import SfuSettings
from sfu.stats import SfuStats

SSRCS = (1001, 1002, 1003)
VP8 = bridge.Codec("video/VP8", 90000, 96)


async def _pli(ssrc: int) -> bool:
    return True


def simulcast_producer() -> Producer:
    producer = Producer(
        kind="video", codec=VP8, mid="0", ssrc=None, audio_level_id=None,
        rids=["q", "h", "f"], settings=SfuSettings(), send_keyframe_request=_pli,
        stats=SfuStats(), app_data={"participant_id": "p_alice", "source": "camera"},
    )  # fmt: skip
    for layer, ssrc in zip(producer.layers, SSRCS, strict=True):
        layer.bind(ssrc)
    return producer


def send_keyframe(producer: Producer, layer: int, seq: int) -> None:
    """One single-packet VP8 keyframe of ``layer``, 160x90 doubled per layer."""
    tag = b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", 160 << layer, 90 << layer)
    header = struct.pack("!BBHII", 0x80, 0x80 | 96, seq, seq * 3000, SSRCS[layer])
    producer.receive(rtp.parse(header + b"\x10" + tag + bytes(200)), producer.layers[layer])


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


async def test_report_shows_each_layer_and_the_consumers_current_layer(receiver):
    producer = simulcast_producer()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    path = bridge.RtpSendPath.on_socket(sender, receiver.getsockname())
    pc = RTCPeerConnection()
    slot = SendSlot(bridge.add_send_transceiver(pc, "video"), SfuStats(), path)
    slot.codec = VP8
    consumer = Consumer(producer, slot, SfuSettings())
    consumer.resume()
    try:
        for seq in range(10):
            for layer in range(3):
                send_keyframe(producer, layer, 100 * layer + seq)
        consumer.set_target_layer(2)
        send_keyframe(producer, 2, 210)

        report = producer_report(producer, time.monotonic())
        assert report["simulcast"] and report["source"] == "camera"
        layers = report["layers"]
        assert [layer["rid"] for layer in layers] == ["q", "h", "f"]
        assert [layer["ssrc"] for layer in layers] == list(SSRCS)
        assert all(layer["bitrate"] > 0 for layer in layers)
        assert [(layer["width"], layer["height"]) for layer in layers] == [
            (160, 90), (320, 180), (640, 360),
        ]  # fmt: skip
        assert layers[0]["packets_received"] == 10 and layers[0]["packets_lost"] == 0

        forwarded = consumer_report(consumer)
        assert forwarded["participant_id"] == "p_alice"
        assert forwarded["current_layer"] == 2 and forwarded["target_layer"] == 2
        assert forwarded["layer_switches"] == 1 and forwarded["packets_sent"] > 10
    finally:
        await producer.close()
        await pc.close()
        sender.close()
