"""Keyframe requests without storms (issue 15, point 5), on a real Producer.

The publisher's side is a list that records which SSRC each PLI would go to:
the producer's throttling and coalescing are what is tested, per simulcast
layer. Intervals are asserted only as lower bounds ("not before"), never as
"within", so a loaded machine cannot break them.
"""

from __future__ import annotations

import asyncio
import itertools
import struct
import time
from collections.abc import Callable

from sfu import Producer, SfuSettings, SfuStats, rtp
from sfu.aiortc_bridge import Codec

#: SSRCs of the three layers (q, h, f), lowest first.
SSRCS = (1001, 1002, 1003)
INTERVAL = 0.3


class Publisher:
    """Where the producer's keyframe requests (PLIs) land: (time, ssrc) each."""

    def __init__(self, connected: bool = True) -> None:
        self.plis: list[tuple[float, int]] = []
        self.connected = connected

    async def send_pli(self, ssrc: int) -> bool:
        if self.connected:
            self.plis.append((time.monotonic(), ssrc))
        return self.connected

    def count(self, ssrc: int) -> int:
        return sum(1 for _, s in self.plis if s == ssrc)


def simulcast_producer(
    publisher: Publisher, interval: float = INTERVAL, bound: bool = True
) -> Producer:
    """Three layers; ``bound``: their SSRCs already known (``SSRCS``)."""
    producer = Producer(
        kind="video",
        codec=Codec("video/VP8", 90000, 96),
        mid="0",
        ssrc=None,
        audio_level_id=None,
        rids=["q", "h", "f"],
        settings=SfuSettings(keyframe_interval_s=interval),
        send_keyframe_request=publisher.send_pli,
        stats=SfuStats(),
        app_data={"participant_id": "p"},
    )
    for layer, ssrc in zip(producer.layers, SSRCS, strict=True):
        if bound:
            layer.bind(ssrc)
    return producer


async def settle() -> None:
    """Let the producer's spawned request tasks run (no time passes on purpose)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_request_for_one_layer_does_not_hold_back_another_layer() -> None:
    publisher = Publisher()
    producer = simulcast_producer(publisher, interval=30.0)
    producer.request_keyframe(0)
    await settle()
    # The low layer was just asked (and its quiet interval is long): the high
    # layer's request still goes out at once, and so does the middle one's.
    producer.request_keyframe(2)
    producer.request_keyframe(1)
    await settle()
    assert [ssrc for _, ssrc in publisher.plis] == [SSRCS[0], SSRCS[2], SSRCS[1]]
    await producer.close()


async def test_a_storm_on_one_layer_becomes_one_request_per_interval() -> None:
    publisher = Publisher()
    producer = simulcast_producer(publisher)
    # A subscriber on a lossy link asks for the top layer 50 times in a row.
    for _ in range(50):
        producer.request_keyframe(2)
    await settle()
    assert publisher.count(SSRCS[2]) == 1
    # The rest is not lost: exactly one deferred request, after the interval.
    await wait_for(lambda: publisher.count(SSRCS[2]) == 2)
    first, second = (t for t, s in publisher.plis if s == SSRCS[2])
    assert second - first >= INTERVAL * 0.9
    await asyncio.sleep(INTERVAL * 2)
    assert publisher.count(SSRCS[2]) == 2
    # The other layers were never asked.
    assert publisher.count(SSRCS[0]) == publisher.count(SSRCS[1]) == 0
    await producer.close()


async def test_sustained_requests_stay_under_one_per_interval() -> None:
    publisher = Publisher()
    producer = simulcast_producer(publisher, interval=0.2)
    started = time.monotonic()
    while time.monotonic() - started < 1.5:
        producer.request_keyframe(1)  # about 100 requests a second
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - started
    await asyncio.sleep(0.3)  # the last deferred one, if any
    sent = publisher.count(SSRCS[1])
    assert 2 <= sent <= (elapsed + 0.3) / 0.2 + 2, sent
    times = [t for t, s in publisher.plis if s == SSRCS[1]]
    assert all(b - a >= 0.2 * 0.9 for a, b in itertools.pairwise(times))
    await producer.close()


async def test_all_layers_at_once_is_throttled_per_layer() -> None:
    publisher = Publisher()
    producer = simulcast_producer(publisher, interval=30.0)
    producer.request_keyframe(0)
    await settle()
    # The recorder asks for every layer: the two not asked lately go at once,
    # the low one waits for its own interval.
    producer.request_keyframe()
    await settle()
    assert sorted(ssrc for _, ssrc in publisher.plis) == [SSRCS[0], SSRCS[1], SSRCS[2]]
    await producer.close()


async def test_a_request_the_publisher_could_not_get_does_not_throttle_the_next() -> None:
    publisher, producer = await asked_before_connected(2)
    producer.request_keyframe(2)
    await settle()
    assert publisher.count(SSRCS[2]) == 1
    await producer.close()


async def test_closing_cancels_a_deferred_request() -> None:
    publisher = Publisher()
    producer = simulcast_producer(publisher, interval=0.1)
    producer.request_keyframe(0)
    producer.request_keyframe(0)  # deferred
    await settle()
    await producer.close()
    await asyncio.sleep(0.3)
    assert publisher.count(SSRCS[0]) == 1


def vp8_packet(ssrc: int, seq: int, keyframe: bool) -> rtp.RtpView:
    """One single-packet VP8 frame (descriptor S=1; frame tag P=0 for a keyframe)."""
    keyframe_tag = b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", 320, 180)
    tag = keyframe_tag if keyframe else b"\x01\x00\x00"
    header = struct.pack("!BBHII", 0x80, 0x80 | 96, seq, seq * 3000, ssrc)
    return rtp.parse(header + b"\x10" + tag + bytes(20))


async def asked_before_connected(layer: int) -> tuple[Publisher, Producer]:
    """A producer asked for a keyframe on ``layer`` while its publisher could
    not be reached; the publisher is reachable now, and nothing was sent."""
    publisher = Publisher(connected=False)
    producer = simulcast_producer(publisher, interval=30.0)
    producer.request_keyframe(layer)
    await settle()
    assert publisher.plis == []
    publisher.connected = True
    return publisher, producer


async def test_a_request_the_publisher_could_not_get_goes_out_with_its_first_packet() -> None:
    """Issue 21, point 3: a newcomer's first keyframe request, made before its
    connection is up, is sent the moment media arrives, not after the asker's
    retry interval (nobody asks again here, and the quiet interval is long)."""
    publisher, producer = await asked_before_connected(2)
    producer.receive(vp8_packet(SSRCS[2], 1, keyframe=False), producer.layers[2])
    await settle()
    assert publisher.count(SSRCS[2]) == 1
    # Owed once: later packets do not ask again.
    producer.receive(vp8_packet(SSRCS[2], 2, keyframe=False), producer.layers[2])
    await settle()
    assert publisher.count(SSRCS[2]) == 1
    await producer.close()


async def test_an_owed_request_is_dropped_when_the_first_packet_is_a_keyframe() -> None:
    publisher, producer = await asked_before_connected(0)
    producer.receive(vp8_packet(SSRCS[0], 1, keyframe=True), producer.layers[0])
    await settle()
    assert publisher.plis == []
    await producer.close()


async def test_a_request_for_a_layer_not_bound_yet_goes_out_when_it_binds() -> None:
    """A simulcast layer's SSRC is learnt from its first packet; a keyframe
    asked for before that is not dropped but sent then."""
    publisher = Publisher()
    fresh = simulcast_producer(publisher, interval=30.0, bound=False)
    fresh.request_keyframe(1)
    await settle()
    assert publisher.plis == []
    fresh.layers[1].bind(SSRCS[1])
    fresh.receive(vp8_packet(SSRCS[1], 7, keyframe=False), fresh.layers[1])
    await settle()
    assert publisher.count(SSRCS[1]) == 1
    await fresh.close()
