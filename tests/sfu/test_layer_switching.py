"""A consumer of a simulcast producer forwards one layer and switches only at a
keyframe of the target layer, keeping the outgoing stream continuous.

Real Producer, Consumer and SendSlot (its transceiver from a real aiortc peer
connection); the slot writes to a UDP socket on loopback, and the test reads
what a subscriber would receive.
"""

from __future__ import annotations

import asyncio
import itertools
import socket

from hand_fed_simulcast import SSRCS, Publisher, consumer_of, received


async def test_the_first_layer_starts_at_a_keyframe(receiver: socket.socket) -> None:
    publisher = Publisher()
    consumer = await consumer_of(publisher, receiver)
    publisher.send(0)
    publisher.send(0, keyframe=True)
    publisher.send(0)
    assert [layer for _, layer in received(receiver)] == [0, 0]
    assert consumer.current_layer == 0


async def test_an_upgrade_keeps_the_current_layer_until_the_target_keyframe(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    consumer = await consumer_of(publisher, receiver)
    publisher.send(0, keyframe=True)
    consumer.set_target_layer(2)
    await asyncio.sleep(0.05)
    assert publisher.plis[-1] == SSRCS[2]  # asked the top layer for a keyframe
    for _ in range(3):
        publisher.send(0)
        publisher.send(1, keyframe=True)  # not the target: never forwarded
        publisher.send(2)  # the target, but not at a keyframe yet
    publisher.send(2, keyframe=True)
    publisher.send(0)  # the old layer stops at the switch
    publisher.send(2)
    got = received(receiver)
    assert [layer for _, layer in got] == [0, 0, 0, 0, 2, 2]
    # One continuous stream: no gap, no repeat in the outgoing sequence numbers.
    seqs = [seq for seq, _ in got]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
    assert consumer.current_layer == 2 and consumer.layer_switches == 1


async def test_an_upgrade_before_the_first_picture_starts_on_the_lower_layer_and_then_switches(
    receiver: socket.socket,
) -> None:
    """The allocator raises a new subscriber's layer before its first
    keyframe came: the picture starts at whichever of the two layers has a
    keyframe first, rather than waiting for the target's."""
    publisher = Publisher()
    consumer = await consumer_of(publisher, receiver)
    consumer.set_target_layer(2)
    # The publisher keeps encoding both meanwhile (dynacast).
    assert set(consumer.wanted_layers()) == {0, 2}
    publisher.send(0, keyframe=True)  # the first layer's keyframe, asked for on creation
    publisher.send(2)  # the target, not at a keyframe yet
    publisher.send(0)
    publisher.send(2, keyframe=True)
    publisher.send(0)  # the lower layer stops at the switch
    publisher.send(2)
    got = received(receiver)
    assert [layer for _, layer in got] == [0, 0, 2, 2]
    seqs = [seq for seq, _ in got]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
    assert consumer.current_layer == 2 and consumer.layer_switches == 1
    assert consumer not in publisher.producer.layers[0].consumers
    assert consumer.wanted_layers() == (2,)


async def test_a_subscriber_that_connects_after_the_upgrade_starts_from_the_cached_lower_keyframe(
    receiver: socket.socket,
) -> None:
    """The first layer's keyframe (asked for when the consumer was made)
    waits in the cache; the target was raised before the subscriber's
    connection came up and has no keyframe yet: the subscriber gets the
    cached picture at once, and the target's keyframe is asked for."""
    publisher = Publisher()
    publisher.send(0, keyframe=True)
    publisher.send(0)
    consumer = await consumer_of(publisher, receiver, resume=False)
    consumer.set_target_layer(2)
    consumer.resume()
    consumer.resync()  # what the subscriber's transport does once connected
    assert [layer for _, layer in received(receiver)] == [0, 0]
    assert consumer.replays == 1 and consumer.current_layer == 0
    await asyncio.sleep(0.05)
    assert publisher.plis[-1] == SSRCS[2]
    publisher.send(2, keyframe=True)
    publisher.send(0)
    assert [layer for _, layer in received(receiver)] == [2]
    assert consumer.current_layer == 2


async def test_a_downgrade_also_waits_for_a_keyframe_of_the_lower_layer(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    consumer = await consumer_of(publisher, receiver)
    consumer.set_target_layer(2)
    publisher.send(2, keyframe=True)
    consumer.set_target_layer(0)
    publisher.send(2)
    publisher.send(0)
    publisher.send(0, keyframe=True)
    publisher.send(2)
    assert [layer for _, layer in received(receiver)] == [2, 2, 0]


async def test_going_back_to_the_current_layer_cancels_the_switch(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    consumer = await consumer_of(publisher, receiver)
    consumer.set_target_layer(1)
    publisher.send(1, keyframe=True)
    consumer.set_target_layer(2)
    consumer.set_target_layer(1)
    publisher.send(2, keyframe=True)
    publisher.send(1)
    assert [layer for _, layer in received(receiver)] == [1, 1]
    assert publisher.producer.layers[2].consumers == []


async def test_a_nack_from_before_a_switch_is_not_answered_from_the_new_layer(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    consumer = await consumer_of(publisher, receiver)
    publisher.send(0, keyframe=True)
    publisher.send(0)
    consumer.set_target_layer(1)
    publisher.send(1, keyframe=True)
    publisher.send(1)
    before_switch, last_low, first_high, second_high = [s for s, _ in received(receiver)]
    assert consumer.retransmit(last_low) == 0
    assert consumer.retransmit(second_high) > 0
    assert received(receiver) == [(second_high, 1)]
    assert before_switch != first_high


async def test_pausing_and_resuming_waits_for_a_keyframe_of_the_target(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    consumer = await consumer_of(publisher, receiver)
    consumer.set_target_layer(1)
    publisher.send(1, keyframe=True)
    consumer.pause()
    publisher.send(1, keyframe=True)
    consumer.resume()
    publisher.send(1)
    publisher.send(1, keyframe=True)
    assert [layer for _, layer in received(receiver)] == [1, 1]


async def test_keyframes_tell_each_layers_size_and_the_sink_layer_is_the_highest(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    for layer in (0, 1, 2):
        publisher.send(layer, keyframe=True)
    sizes = [(layer.width, layer.height) for layer in publisher.producer.layers]
    assert sizes == [(160, 90), (320, 180), (640, 360)]
    assert publisher.producer.sender_report is None
    publisher.producer.set_sender_report(publisher.producer.layers[2], 1 << 32, 5)
    report = publisher.producer.sender_report
    assert report is not None and report.rtp_timestamp == 5
