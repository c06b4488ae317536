"""Lost audio is repaired by NACK through the SFU, with real aiortc peers.

A publisher's lost Opus packet is asked for by the SFU, resent by the
publisher (aiortc keeps audio history like a browser and resends on the same
SSRC) and reaches the subscriber once; a subscriber's NACK for an Opus packet
is answered with the original. Packets are lost on purpose at the
publisher's DTLS transport: the first copy of a chosen packet is never
encrypted and sent, its resend is.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import sdp
from media_peers import ToneAudioTrack

from sfu import rtp
from sfu.consumer import Consumer

#: Packets lost on the publisher's link, one in every ``LOSS_EVERY``.
LOSSES = 5
LOSS_EVERY = 10


def is_rtp(data: bytes) -> bool:
    """RTP, not RTCP (payload types 200-206 sit where RTP has marker + type)."""
    return len(data) >= 12 and not 192 <= data[1] <= 223


def opus_feedback(description: str) -> list[str]:
    media = next(m for m in sdp.SessionDescription.parse(description).media if m.kind == "audio")
    opus = next(c for c in media.rtp.codecs if c.mimeType.lower() == "audio/opus")
    return [f.type for f in opus.rtcpFeedback if not f.parameter]


class Uplink:
    """Wraps a publisher's DTLS transport: records the payload of every packet
    of ``ssrc`` it sends; the first copy of every ``LOSS_EVERY``-th packet is
    lost (never sent), ``losses`` times; resends pass."""

    def __init__(self, transport: Any, ssrc: int, losses: int = 0) -> None:
        self.ssrc = ssrc
        self.sent: dict[int, bytes] = {}  # sequence number -> payload
        self.lost: list[int] = []
        self.resent: list[int] = []
        self._losses = losses
        self._send = transport._send_rtp
        transport._send_rtp = self._send_rtp

    async def _send_rtp(self, data: bytes) -> None:
        if is_rtp(data):
            view = rtp.parse(data)
            seq = view.sequence_number
            if view.ssrc == self.ssrc and seq in self.sent:
                self.resent.append(seq)
            elif view.ssrc == self.ssrc:
                self.sent[seq] = data[view.payload_offset :]
                if len(self.lost) < self._losses and len(self.sent) % LOSS_EVERY == 0:
                    self.lost.append(seq)
                    return
        await self._send(data)


class Downlink:
    """Wraps a subscriber's DTLS transport: records (sequence number, payload)
    of every decrypted packet of ``ssrc``. With ``losses``, the first copy of
    every ``LOSS_EVERY``-th packet is lost at the socket, before SRTP (whose
    replay protection would refuse a resend of a packet it has seen)."""

    def __init__(self, transport: Any, ssrc: int, losses: int = 0) -> None:
        self.ssrc = ssrc
        self.packets: list[tuple[int, bytes]] = []
        self.lost: list[int] = []
        self._losses = losses
        self._seen = 0
        self._handle = transport._handle_rtp_data
        transport._handle_rtp_data = self._handle_rtp_data
        if losses:
            protocol = transport.transport._connection._nominated[1].protocol
            self._datagram_received = protocol.datagram_received
            protocol.datagram_received = self._on_datagram

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        # SRTP leaves the RTP header in clear: SSRC and sequence number.
        if is_rtp(data) and int.from_bytes(data[8:12], "big") == self.ssrc:
            seq = int.from_bytes(data[2:4], "big")
            if seq not in self.lost:
                self._seen += 1
                if len(self.lost) < self._losses and self._seen % LOSS_EVERY == 0:
                    self.lost.append(seq)
                    return
        self._datagram_received(data, addr)

    async def _handle_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        view = rtp.parse(data)
        if view.ssrc == self.ssrc:
            self.packets.append((view.sequence_number, data[view.payload_offset :]))
        await self._handle(data, arrival_time_ms)

    def copies(self, seq: int) -> list[bytes]:
        return [payload for s, payload in self.packets if s == seq]


async def publish_microphone(server: Any, make_client: Any, room: str) -> tuple[Any, Any, Consumer]:
    """Alice publishes a tone that Bob receives; returns Alice, Bob and his consumer of it."""
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join(room)
    await bob.join(room)
    await alice.publish({"microphone": ToneAudioTrack()})
    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "microphone") is not None)
    subscriber = server.service.media[room].subscribers[bob.participant_id]
    consumer: Consumer = next(iter(subscriber.consumers.values()))
    await bob.wait_for(lambda: consumer.packets_sent > 10)
    # What browsers act on: NACK for Opus in the descriptions they receive.
    assert "nack" in opus_feedback(alice.publish_pc.remoteDescription.sdp)
    assert "nack" in opus_feedback(bob.subscribe_pc.remoteDescription.sdp)
    return alice, bob, consumer


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 (packets counted in wrappers, no event)
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def test_a_lost_audio_packet_is_asked_for_and_its_resend_reaches_the_subscriber(
    server, make_client
):
    alice, bob, consumer = await publish_microphone(server, make_client, "audio-nack-up")
    sender = alice.publish_pc.getTransceivers()[0].sender
    uplink = Uplink(sender.transport, consumer.producer.ssrc, losses=LOSSES)
    downlink = Downlink(
        bob.subscribe_pc.getTransceivers()[0].receiver.transport, consumer.slot.ssrc
    )

    await wait_until(lambda: len(uplink.lost) == LOSSES, timeout=15)
    # The SFU asked for each lost packet and the publisher resent it.
    await wait_until(lambda: set(uplink.resent) >= set(uplink.lost))
    await asyncio.sleep(0.5)  # what the SFU forwards of the resends has arrived

    received: dict[int, list[bytes]] = {}
    for out_seq, payload in downlink.packets:
        received.setdefault(consumer.slot.original_sequence(out_seq), []).append(payload)
    for seq in uplink.lost:
        # Once, however often the publisher resent it, and the very packet.
        assert received.get(seq) == [uplink.sent[seq]], seq
    assert consumer.producer.layers[0].nacks.recovered >= LOSSES


async def test_a_subscribers_audio_nack_is_answered_with_the_original_packet(server, make_client):
    alice, bob, consumer = await publish_microphone(server, make_client, "audio-nack-down")
    uplink = Uplink(alice.publish_pc.getTransceivers()[0].sender.transport, consumer.producer.ssrc)
    receiver = bob.subscribe_pc.getTransceivers()[0].receiver
    downlink = Downlink(receiver.transport, consumer.slot.ssrc, losses=LOSSES)
    await wait_until(lambda: len(downlink.lost) == LOSSES, timeout=15)
    assert not any(downlink.copies(seq) for seq in downlink.lost)

    # What a browser's NetEq does for audio it misses, once NACK is offered.
    before = consumer.retransmissions
    await receiver._send_rtcp_nack(consumer.slot.ssrc, sorted(downlink.lost))
    await wait_until(lambda: consumer.retransmissions - before == LOSSES)
    await asyncio.sleep(0.3)

    for seq in downlink.lost:
        original = uplink.sent[consumer.slot.original_sequence(seq)]
        assert downlink.copies(seq) == [original], seq
