"""Two things a consumer's outgoing stream must survive without a break: a
publisher's padding-only packets (bandwidth probes on the stream's own
numbers, which are never forwarded), and a replay of the cached keyframe
(whose timestamps must fit the time that passed, not run ahead of it).

Real Producer, Consumer and SendSlot (see hand_fed_simulcast); the slot
writes to a loopback socket standing in for the subscriber.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import time

from hand_fed_simulcast import Publisher, consumer_of, datagrams

VIDEO_CLOCK = 90_000


def arrivals(sock: socket.socket) -> list[tuple[int, int]]:
    """(sequence number, timestamp) of every packet that arrived."""
    return [struct.unpack_from("!HI", data, 2) for data in datagrams(sock)]


async def test_padding_leaves_no_gap_and_no_wrong_retransmission(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    consumer = await consumer_of(publisher, receiver)
    publisher.probes_between_frames(0)
    got = arrivals(receiver)
    assert len(got) == 4
    assert all((b[0] - a[0]) & 0xFFFF == 1 for a, b in itertools.pairwise(got)), got
    # The SFU got every number: nothing lost, nothing to ask the publisher for.
    layer = publisher.producer.layers[0]
    assert layer.stream is not None and layer.stream.packets_lost == 0
    # A NACK after the probes is answered with the packet sent under that
    # number; one before them is not answered (its number now maps elsewhere).
    third, first = got[2], got[0]
    assert consumer.retransmit(third[0]) > 0
    assert arrivals(receiver) == [third]
    assert consumer.retransmit(first[0]) == 0


async def test_a_replayed_keyframe_keeps_the_timestamps_in_step_with_the_clock(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    consumer = await consumer_of(publisher, receiver)
    publisher.send(0, keyframe=True)
    publisher.send(0)
    last_seq, last_ts = arrivals(receiver)[-1]
    paused_at = time.monotonic()
    consumer.pause()
    # While paused: a keyframe and five frames after it (a sixth of a second
    # of the stream: hand-fed frames are 3000 ticks apart) go to the cache.
    publisher.send(0, keyframe=True)
    for _ in range(5):
        publisher.send(0)
    await asyncio.sleep(0.4)
    consumer.resume()
    consumer.resync()  # what the connected subscriber's transport does: replay
    elapsed = time.monotonic() - paused_at
    assert consumer.replays == 1
    got = arrivals(receiver)
    assert [seq for seq, _ in got] == [(last_seq + i) & 0xFFFF for i in range(1, 7)]
    # The newest replayed frame is now; the keyframe a sixth of a second before.
    newest = (got[-1][1] - last_ts) & 0xFFFFFFFF
    assert abs(newest / VIDEO_CLOCK - elapsed) < 0.05, (newest / VIDEO_CLOCK, elapsed)
    assert (got[-1][1] - got[0][1]) & 0xFFFFFFFF == 5 * 3000
