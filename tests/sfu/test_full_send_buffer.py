"""A packet the subscriber's socket cannot take (its send buffer is full) is
lost as on the network: its sequence number stays taken, so the subscriber
sees the gap, NACKs it and gets it again from the producer's cache, and the
stream goes on without waiting for a keyframe.

Real Producer, Consumer, SendSlot and RtpSendPath, and a buffer the kernel
itself finds full: the slot sends on a non-blocking Unix datagram socket
whose receiver reads nothing until the test drains it, so the kernel refuses
datagrams with EAGAIN (``BlockingIOError``) as it does when a UDP socket's
send buffer is full. (Over loopback a UDP send buffer never fills: the
kernel hands each datagram on at once.)
"""

from __future__ import annotations

import socket
import struct
import uuid
from collections.abc import Iterator

import pytest
from aiortc import RTCPeerConnection
from hand_fed_simulcast import VP8, Publisher, datagrams

from sfu import aiortc_bridge as bridge
from sfu.consumer import Consumer
from sfu.send_slot import SendSlot
from sfu.settings import SfuSettings
from sfu.stats import SfuStats

#: The hand-fed publisher's timestamps step this much per packet.
TICKS_PER_PACKET = 3000


class ConnectedSocketPath(bridge.RtpSendPath):
    """The real send path on a plain socket, as on a connected transport
    (``on_socket`` paths have no DTLS transport, so they say they are not
    connected, which is what a consumer restarts on)."""

    @property
    def connected(self) -> bool:
        return True


@pytest.fixture
def unix_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(sender, receiver): Unix datagram sockets; the receiver reads nothing
    until asked, so the kernel soon refuses the sender's datagrams."""
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(b"\0sfu-full-buffer-" + uuid.uuid4().hex.encode())
    receiver.settimeout(0.01)
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.setblocking(False)
    yield sender, receiver
    sender.close()
    receiver.close()


def numbers(packets: list[bytes]) -> list[tuple[int, int]]:
    """(sequence number, timestamp) of each packet."""
    return [struct.unpack_from("!HI", data, 2) for data in packets]


def consumer_on(pair: tuple[socket.socket, socket.socket], publisher: Publisher) -> Consumer:
    """A started consumer of ``publisher``'s lowest layer, sending into ``pair``."""
    sender, receiver = pair
    path = ConnectedSocketPath.on_socket(sender, receiver.getsockname())
    transceiver = bridge.add_send_transceiver(RTCPeerConnection(), "video")
    slot = SendSlot(transceiver, SfuStats(), path)
    slot.codec = VP8
    consumer = Consumer(publisher.producer, slot, SfuSettings())
    consumer.resume()
    return consumer


def send_until_refused(publisher: Publisher, stats: SfuStats, drops: int = 3) -> int:
    """Delta frames of layer 0 until the kernel has refused ``drops`` of
    them; how many were sent."""
    sent = 0
    while stats.packets_dropped < drops and sent < 10_000:
        publisher.send(0)
        sent += 1
    # (Before the fix the consumer stopped at the first refusal, waiting for a keyframe.)
    assert stats.packets_dropped == drops, "the socket never filled, or forwarding stopped"
    return sent


async def test_a_packet_the_full_socket_drops_leaves_a_gap_the_subscriber_can_nack(
    unix_pair: tuple[socket.socket, socket.socket],
) -> None:
    receiver = unix_pair[1]
    publisher = Publisher()
    consumer = consumer_on(unix_pair, publisher)
    stats = consumer.slot.stats
    publisher.send(0, keyframe=True)
    total = 1 + send_until_refused(publisher, stats)
    arrived = datagrams(receiver)  # the subscriber reads: room again
    for _ in range(5):
        publisher.send(0)
        total += 1
    arrived += datagrams(receiver)

    # The stream went on after the loss (no wait for a keyframe) ...
    assert len(arrived) == total - stats.packets_dropped
    assert consumer.packets_sent == len(arrived)
    assert consumer.current_layer == 0
    # ... and every packet kept its own place: the lost ones are a gap in
    # the numbers exactly where they were, not renumbered away.
    (seq0, ts0), *_ = got = numbers(arrived)
    places = [
        ((seq - seq0) & 0xFFFF, ((ts - ts0) & 0xFFFFFFFF) // TICKS_PER_PACKET) for seq, ts in got
    ]
    assert all(by_number == by_time for by_number, by_time in places), places
    missing = sorted(set(range(total)) - {place for place, _ in places})
    assert len(missing) == stats.packets_dropped

    # The subscriber's NACK for a lost one is answered with that very packet.
    lost = (seq0 + missing[0]) & 0xFFFF
    assert consumer.retransmit(lost) > 0
    assert numbers(datagrams(receiver)) == [
        (lost, (ts0 + missing[0] * TICKS_PER_PACKET) & 0xFFFFFFFF)
    ]
    assert consumer.retransmissions == 1


async def test_numbers_lost_at_the_end_of_a_run_are_not_given_again_after_a_switch(
    unix_pair: tuple[socket.socket, socket.socket],
) -> None:
    """The subscriber has NACKed the lost numbers: a layer switch (or any
    restart of the stream) goes on after them, never reuses them for other
    packets."""
    receiver = unix_pair[1]
    publisher = Publisher()
    consumer = consumer_on(unix_pair, publisher)
    publisher.send(0, keyframe=True)
    total = 1 + send_until_refused(publisher, consumer.slot.stats)
    (seq0, _), *_ = numbers(datagrams(receiver))
    consumer.set_target_layer(1)
    publisher.send(1, keyframe=True)  # the switch, right after the lost ones
    [switched] = datagrams(receiver)
    assert switched[-1] == 1  # the packet of layer 1
    assert numbers([switched])[0][0] == (seq0 + total) & 0xFFFF
