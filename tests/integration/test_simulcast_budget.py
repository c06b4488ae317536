"""The tile-size rule of issue 15 (point 4) with real simulcast publishers: a
subscriber showing a 3x3 page of small tiles gets no layer taller than its
tiles and at most 40 % of the bit rate the same cameras take at their top
layer; pinning one brings that camera up.

Nine conf-bench publishers send three pre-encoded VP8 layers each (180p, 360p,
720p) with rids; the subscriber counts packets at its socket, so it sends no
REMB and the budget does not limit anything here: only tile sizes decide.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from conf_bench.client import BenchClient
from conf_bench.media import prepared_layers, prepared_media

PUBLISHERS = 9
#: A 3x3 page in a 1280x720 window: tiles of about 225 device pixels.
SMALL_TILE = 225


async def wait_until(predicate: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def sent_rate(transport, seconds: float) -> float:
    """Bit/s the SFU sends this subscriber, over ``seconds``."""
    before = sum(slot.octets_sent for slot in transport.slots)
    await asyncio.sleep(seconds)
    return 8 * (sum(slot.octets_sent for slot in transport.slots) - before) / seconds


async def test_small_tiles_get_small_layers_and_a_pin_brings_one_up(server, media_cache_dir):
    media, layered = prepared_media(media_cache_dir), prepared_layers(media_cache_dir)
    publishers = [BenchClient(server.url, f"cam-{i}", media, layered) for i in range(PUBLISHERS)]
    viewer = BenchClient(server.url, "viewer", media)
    gate = asyncio.Semaphore(3)

    async def publish(client: BenchClient) -> None:
        async with gate:
            await client.join("nine", video=True, audio=False, receive=False, camera="simulcast")

    try:
        await asyncio.gather(*(publish(p) for p in publishers))
        ids = [p.participant_id for p in publishers]
        await viewer.join("nine", video=False, audio=False, receive=True)
        transport = server.service.media["nine"].subscribers[viewer.participant_id]
        await wait_until(lambda: len(transport.consumers) == PUBLISHERS, 60)
        consumers = {c.producer.app_data["participant_id"]: c for c in transport.consumers.values()}

        def layers_known() -> bool:
            now = time.monotonic()
            return all(
                layer.height is not None and layer.stable_bitrate(now) > 0
                for c in consumers.values()
                for layer in c.producer.layers
            )

        await wait_until(layers_known, 60)

        def all_on(layer: int) -> Callable[[], bool]:
            return lambda: all(c.current_layer == layer for c in consumers.values())

        # Without tile sizes every camera comes at its top layer.
        await viewer.call("set_view", {"video": ids})
        await wait_until(all_on(2), 60)
        top = await sent_rate(transport, 3.0)

        # A page of nine small tiles: 180p each, never 360p or 720p.
        sizes = dict.fromkeys(ids, SMALL_TILE)
        await viewer.call("set_view", {"video": ids, "sizes": sizes})
        await wait_until(all_on(0), 60)
        small = await sent_rate(transport, 3.0)
        for consumer in consumers.values():
            assert consumer.current_layer == 0
            layer = consumer.producer.layers[0]
            assert layer.height is not None and layer.height <= SMALL_TILE
        print(f"nine cameras: {top / 1e3:.0f} kbit/s at the top layer, {small / 1e3:.0f} small")
        assert small <= 0.4 * top, (small, top)

        # Nobody takes the upper layers now: the publishers are told to stop
        # them (dynacast; the lowest is always sent).
        def upper_layers_paused() -> bool:
            return all(
                c.producer.dynacast is not None
                and c.producer.dynacast.publishing == (True, False, False)
                for c in consumers.values()
            )

        await wait_until(upper_layers_paused, 30)

        # Pinning one (now a big tile) brings that camera up to its top layer:
        # the publisher is asked for it again.
        pinned = ids[0]
        await viewer.call(
            "set_view", {"video": ids, "sizes": {**sizes, pinned: 720}, "pinned": [pinned]}
        )
        took = await wait_until(lambda: consumers[pinned].current_layer == 2, 20)
        print(f"the pinned camera reached its paused top layer after {took:.2f} s")
        assert all(consumers[i].current_layer == 0 for i in ids[1:])
    finally:
        for client in [viewer, *publishers]:
            await client.close()
