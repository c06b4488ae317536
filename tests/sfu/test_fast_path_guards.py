"""What keeps forwarding fast and bounded: checked on every run of the suite."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from media_peers import alice_sends_to_bob, collect_counters

from sfu import aiortc_bridge as bridge
from sfu import rtp
from sfu.packet_cache import PacketCache
from sfu.stats import SfuStats


async def test_forwarding_runs_no_decoder_no_encoder_and_no_send_queue(server, make_client):
    alice, bob = await alice_sends_to_bob(make_client, "guards", 30)

    media = server.service.media["guards"]
    publisher = media.publishers[alice.participant_id]
    for transceiver in publisher.pc.getTransceivers():
        # The server's receivers never start a decoder thread: starting one
        # waits for it to be scheduled, which holds the event loop on a busy
        # machine (issue 21).
        thread = vars(transceiver.receiver).get("_RTCRtpReceiver__decoder_thread")
        assert not isinstance(thread, threading.Thread), thread
    subscriber = media.subscribers[bob.participant_id]
    carrying = [slot for slot in subscriber.slots if slot.consumer is not None]
    assert carrying
    for slot in subscriber.slots:  # the spare ones too
        assert vars(slot.transceiver.sender)["_RTCRtpSender__encoder"] is None
    for slot in carrying:
        assert slot.packets_sent > 0
    # Every outgoing socket of the server: nothing waits in asyncio's buffers.
    for pc in (publisher.pc, subscriber.pc):
        transport = bridge.dtls_transport_of(pc.getTransceivers()[0])
        for pair in vars(transport.transport._connection)["_nominated"].values():
            assert pair.protocol.transport.get_write_buffer_size() == 0
    decoders = [t for t in threading.enumerate() if t.name.endswith("-decoder")]
    assert len(decoders) <= len(bob.subscribe_pc.getTransceivers())  # the client's only


async def test_published_rtp_is_taken_at_the_socket_not_through_aioice(server, make_client):
    """After the first packet, RTP skips aioice's queue and aiortc's receive
    loop: aiortc's own receive counter stops while the producers keep counting,
    and the media still arrives whole."""
    alice, bob = await alice_sends_to_bob(make_client, "socket-path", 10)

    publisher = server.service.media["socket-path"].publishers[alice.participant_id]
    dtls = bridge.dtls_transport_of(publisher.pc.getTransceivers()[0])
    pair = vars(dtls.transport._connection)["_nominated"][1]
    assert vars(pair.protocol)["_sfu_socket_routes"][0] is not None

    def counts() -> tuple[int, int]:
        through_aiortc = vars(dtls)["_RTCDtlsTransport__rx_packets"]
        received = sum(p.packets_received for p in publisher.producers.values())
        return through_aiortc, received

    before = counts()
    frames = await collect_counters(bob.track_of(alice.participant_id, "camera"), 30)
    after = counts()
    assert after[1] - before[1] > 30, "the producers stopped receiving"
    # RTCP (sender reports, ~1/s per stream) still goes aiortc's way; RTP does not.
    assert after[0] - before[0] < 0.2 * (after[1] - before[1])
    assert frames == sorted(set(frames)), "frames arrived out of order or twice"


def test_send_path_drops_when_the_receiver_cannot_keep_up(tmp_path):
    """A full kernel buffer means drop (and count), never an unbounded queue."""
    address = str(tmp_path / "slow-receiver")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(address)
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.setblocking(False)
    try:
        path = bridge.RtpSendPath.on_socket(sender, address)
        results = [path.send(b"\x80" + bytes(1199)) for _ in range(5000)]
        assert results[0] is True
        assert results.count(False) > 0, "the receiver never read; sends must fail"
        # Once the receiver drains, sending works again.
        receiver.setblocking(False)
        while True:
            try:
                receiver.recv(2000)
            except BlockingIOError:
                break
        assert path.send(b"\x80" + bytes(1199)) is True
    finally:
        sender.close()
        receiver.close()


def test_packet_cache_never_grows_past_its_size():
    import struct

    cache = PacketCache(512)
    for seq in range(20000):
        cache.put(rtp.parse(struct.pack("!BBHII", 0x80, 96, seq & 0xFFFF, 0, 1) + b"x"))
    assert len(cache) == 512
    assert sum(1 for s in range(20000 - 512, 20000) if cache.get(s & 0xFFFF)) == 512


@pytest.mark.parametrize("seconds", [0.00001, 0.0007, 5.0])
def test_latency_histogram_is_a_fixed_set_of_buckets(seconds):
    stats = SfuStats()
    for _ in range(1000):
        stats.observe_latency(seconds)
    assert len(stats.latency_counts) == 13 and sum(stats.latency_counts) == 1000


async def test_forwarding_loop_is_synchronous():
    """No coroutine per consumer: the producer's receive and the send are plain calls."""
    from sfu.consumer import Consumer
    from sfu.producer import Producer
    from sfu.send_slot import SendSlot

    for function in (Producer.receive, Consumer.send, SendSlot.write, Consumer.retransmit):
        assert not asyncio.iscoroutinefunction(function), function.__qualname__
