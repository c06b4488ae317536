"""Relays between nodes' SFUs (issue 17, point 3): a track published on one
router reaches subscribers of another router through one authenticated UDP
link, once however many subscribe there.

Two routers in one process stand for two nodes; each has its own relay
endpoint on loopback. The publisher and the subscribers are real aiortc peers.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from media_peers import collect_counters, is_increasing
from relay_nodes import SECRET, SETTINGS

from sfu import rtcp
from sfu.relay_link import RelayEndpoint
from sfu.relay_tracks import InvalidRelayedTrack, RelayedTrack


class SequenceNumbers:
    """A packet sink that notes the sequence numbers a producer forwards."""

    def __init__(self) -> None:
        self.numbers: list[int] = []

    def on_rtp(self, view: Any) -> None:
        self.numbers.append(view.sequence_number)

    def on_close(self) -> None:
        pass


async def wait_for_track(tracks: dict[str, Any], kind: str) -> Any:
    for _ in range(200):
        if kind in tracks:
            return tracks[kind]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} track arrived")


async def test_a_track_crosses_once_and_every_subscriber_of_the_other_node_sees_it(nodes):
    a, b = nodes
    producer = await a.publish_camera()
    # Node A relays the producer; what node B needs travels as JSON (through
    # the deployment's control plane, in a real deployment).
    out = a.router.relay_out(a.endpoint, a.peers["node-b"], producer, "node-a")
    track = RelayedTrack.from_dict(json.loads(json.dumps(out.track.to_dict())))
    relayed = b.router.relay_in(b.endpoint, b.peers["node-a"], track)
    assert relayed.producer.app_data["relayed_from"] == "node-a"

    # Two subscribers on node B, both joined after the publisher's first
    # keyframe: they decode only because a fresh one was asked for.
    first, second = await b.subscriber(), await b.subscriber()
    for tracks in (first, second):
        counters = await collect_counters(await wait_for_track(tracks, "video"), 10)
        assert is_increasing(counters), counters

    # Once over the link, whatever the number of subscribers behind it.
    assert a.endpoint.stats.rtp_sent == out.packets_sent + out.retransmissions
    assert out.packets_sent <= producer.packets_received
    assert relayed.producer.packets_received <= out.packets_sent
    assert len(producer.consumers) == 1  # the relay: node B's subscribers are not A's
    assert a.endpoint.stats.rejected == b.endpoint.stats.rejected == 0


async def test_keyframe_requests_and_nacks_cross_back_to_the_publishing_node(nodes):
    a, b = nodes
    producer = await a.publish_camera()
    out = a.router.relay_out(a.endpoint, a.peers["node-b"], producer, "node-a")
    relayed = b.router.relay_in(b.endpoint, b.peers["node-a"], out.track)
    tracks = await b.subscriber()
    await collect_counters(await wait_for_track(tracks, "video"), 5)

    # A keyframe asked for on node B reaches the publisher's producer on A.
    await asyncio.sleep(SETTINGS.keyframe_interval_s)  # past both throttles
    asked_before = producer.layers[0].last_keyframe_request
    relayed.producer.request_keyframe(0)
    for _ in range(100):
        if producer.layers[0].last_keyframe_request > asked_before:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("node B's keyframe request never reached node A's producer")

    # A NACK from B is answered from A's packet cache.
    seen = SequenceNumbers()
    producer.add_sink(seen)
    for _ in range(100):
        if len(seen.numbers) >= 3:
            break
        await asyncio.sleep(0.02)
    recent = seen.numbers[-3:]
    assert len(recent) == 3
    nack = rtcp.generic_nack(1, out.ssrcs[0], recent)
    b.endpoint.send_rtcp(b.peers["node-a"], nack)
    for _ in range(100):
        if out.retransmissions >= len(recent):
            break
        await asyncio.sleep(0.02)
    assert out.retransmissions >= len(recent)


async def test_the_link_takes_only_authentic_fresh_packets_from_known_nodes(nodes):
    a, b = nodes
    producer = await a.publish_camera()
    out = a.router.relay_out(a.endpoint, a.peers["node-b"], producer, "node-a")
    relayed = b.router.relay_in(b.endpoint, b.peers["node-a"], out.track)
    for _ in range(100):
        if relayed.producer.packets_received > 5:
            break
        await asyncio.sleep(0.02)
    received = relayed.producer.packets_received
    assert received > 5

    # From an address that is no node of ours: dropped, whatever it holds.
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.1", 0))
    stranger.sendto(bytes([0x80, 96]) + bytes(100), b.address)
    stranger.close()

    # Node A's address, but a sender that does not know the secret (node A
    # restarted by an attacker on its port: same name, same epoch).
    a.endpoint.close()
    await asyncio.sleep(0.1)  # (asyncio closes the socket on a later loop turn)
    forger = RelayEndpoint("node-a", b"not the deployment's secret!!!!!", a.endpoint.epoch)
    await forger.start(*a.address)
    forged_peer = forger.add_peer("node-b", b.address, b.endpoint.epoch)
    # (An SSRC of its own: libsrtp checks the index before it authenticates,
    # so a forgery of an index the stream already had counts as a copy.)
    packet = bytes([0x80, 96, 0, 1, 0, 0, 0, 1]) + (0x0BADF00D).to_bytes(4, "big") + bytes(50)
    forger.send_rtp(forged_peer, packet)
    forger.send_rtcp(forged_peer, rtcp.pli(1, out.ssrcs[0]))

    # And the real key, but a packet sent twice: the copy is a replay. (A
    # stream of its own, so its sequence number is fresh for the sender.)
    forger.close()
    await asyncio.sleep(0.1)
    real = a.peers["node-b"].outbound.protect(
        bytes([0x80, 96, 0, 9, 0, 0, 0, 9]) + (0x12345678).to_bytes(4, "big") + bytes(50)
    )
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.bind(a.address)
    raw.sendto(real, b.address)
    raw.sendto(real, b.address)
    raw.close()

    for _ in range(100):
        if b.endpoint.stats.rejected >= 3 and b.endpoint.stats.replayed >= 1:
            break
        await asyncio.sleep(0.02)
    assert b.endpoint.stats.rejected == 3  # stranger, forged RTP, forged RTCP
    # The copy, counted apart: copies are also what a NACK answer crossing a
    # late original makes, so "rejected" stays a count of foreign datagrams.
    assert b.endpoint.stats.replayed == 1
    assert b.endpoint.stats.unrouted == 1  # the authentic copy: no track has that SSRC


def receive_buffer_limit() -> int:
    """The kernel's cap on socket receive buffers (``net.core.rmem_max``)."""
    return int(Path("/proc/sys/net/core/rmem_max").read_text())


async def test_a_burst_while_the_receiving_node_is_busy_is_not_lost():
    """One socket carries every relayed track of a node: a burst that arrives
    while its loop is busy (here: 1 000 packets of 1 000 bytes, about 2 MB of
    kernel buffer on loopback, sent before the receiver's loop runs once) waits
    in the socket's buffer instead of being dropped by the kernel, as it was at
    the default buffer size (about 90 such packets)."""
    if receive_buffer_limit() < 2 * 1024 * 1024:
        pytest.skip("net.core.rmem_max caps socket buffers below this burst")
    a = RelayEndpoint("node-a", SECRET)
    b = RelayEndpoint("node-b", SECRET)
    a_address = await a.start("127.0.0.1")
    b_address = await b.start("127.0.0.1")
    try:
        to_b = a.add_peer("node-b", b_address, b.epoch)
        from_a = b.add_peer("node-a", a_address, a.epoch)
        arrived: list[int] = []
        from_a.rtp_routes[0x5EED] = lambda plain: arrived.append(int.from_bytes(plain[2:4], "big"))
        burst = 1000
        for sequence in range(burst):  # no await: node B's loop does not read meanwhile
            header = bytes([0x80, 96]) + sequence.to_bytes(2, "big") + bytes(4)
            assert a.send_rtp(to_b, header + (0x5EED).to_bytes(4, "big") + bytes(1000))
        for _ in range(200):  # a bound for a hang, not a speed
            if len(arrived) == burst:
                break
            await asyncio.sleep(0.05)
        assert arrived == list(range(burst))
        assert a.stats.dropped == 0 and b.stats.rejected == 0
    finally:
        a.close()
        b.close()


def test_a_track_description_from_elsewhere_is_checked():
    good = {
        "origin": "node-a",
        "producer_id": "p1",
        "kind": "video",
        "mime_type": "video/VP8",
        "clock_rate": 90000,
        "payload_type": 96,
        "ssrcs": [1, 2, 3],
        "rids": ["q", "h", "f"],
        "audio_level_id": None,
        "app_data": {"source": "camera"},
    }
    assert RelayedTrack.from_dict(good).to_dict() == good
    for bad in (
        {**good, "kind": "text"},
        {**good, "ssrcs": []},
        {**good, "ssrcs": [1, 1, 2]},
        {**good, "ssrcs": [0, 1, 2]},
        {**good, "rids": ["q"]},
        {**good, "clock_rate": "fast"},
        {k: v for k, v in good.items() if k != "payload_type"},
        "not a dict",
    ):
        with pytest.raises(InvalidRelayedTrack):
            RelayedTrack.from_dict(bad)


def test_a_relay_secret_must_be_long_enough():
    with pytest.raises(ValueError):
        RelayEndpoint("node-a", b"short")
