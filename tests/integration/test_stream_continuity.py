"""One unbroken stream per subscribe slot: whatever the SFU does between a
publisher and a subscriber (a simulcast layer switch up or down, dynacast
stopping and restarting a layer, a tile leaving the page and coming back, a
muted camera, a replay of the cached keyframe, a slot handed to another
participant's camera), the subscriber's sequence numbers go on by one, with
no number it would take for a loss and NACK (unless the publisher's own
packet was lost on the way in), and its timestamps go forward with the wall
clock, never ahead of it.

Real conf_bench publishers send pre-encoded simulcast VP8 (three layers with
rids) over real aiortc connections through the real server; the subscriber
notes every packet after SRTP decryption (tests/stream_continuity.py). On
loopback the publishers lose nothing, so any gap is the SFU's.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from stream_continuity import (
    RecordingSubscriber,
    backward_timestamps,
    missing_runs,
    timestamps_ahead,
)

import conf_bench.client
from conf_bench.client import BenchClient, Camera
from conf_bench.layered_publisher import LayeredPublisher, SentLayer
from conf_bench.media import prepared_layers, prepared_media
from sfu import Consumer, Producer

VIDEO_CLOCK = 90_000
#: How far timestamps may run ahead of the wall clock over a whole test: the
#: arrival delays of a loaded machine (the first seconds' packets may come
#: late), not the second or so a mapping error adds at every replay.
AHEAD_LIMIT_S = 0.6


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str = "") -> None:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)


def video_consumer(server: Any, room: str, viewer: BenchClient) -> Consumer | None:
    transport = server.service.media[room].subscribers[viewer.participant_id]
    return next((c for c in transport.consumers.values() if c.kind == "video"), None)


def upstream_lost(producer: Producer) -> int:
    """Packets of the publisher the SFU never received (all layers)."""
    return sum(max(0, layer.stream.packets_lost) for layer in producer.layers if layer.stream)


def layers_known(producer: Producer) -> bool:
    now = time.monotonic()
    return all(
        layer.height is not None and layer.stable_bitrate(now) > 0 for layer in producer.layers
    )


def flowing(consumer: Consumer) -> Callable[[], bool]:
    return lambda: not consumer.paused and consumer.current_layer is not None


async def start_watching(
    server: Any, room: str, camera: BenchClient, viewer: BenchClient, kind: Camera
) -> Consumer:
    """``camera`` publishes its camera (``kind``) and ``viewer`` joins to
    receive it; returns the viewer's consumer of it once that forwards."""
    await camera.join(room, video=True, audio=False, receive=False, camera=kind)
    await viewer.join(room, video=False, audio=False, receive=True)
    await wait_until(lambda: video_consumer(server, room, viewer) is not None, 30, "consumer")
    consumer = video_consumer(server, room, viewer)
    assert consumer is not None
    await wait_until(flowing(consumer), 30, "forwarding")
    return consumer


def assert_unbroken(
    viewer: RecordingSubscriber, ssrc: int, producers: list[Producer], events: list[str]
) -> None:
    """The checks of the module docstring on ``viewer``'s stream ``ssrc``."""
    packets = viewer.streams[ssrc]
    gaps = missing_runs(packets)
    lost = sum(upstream_lost(p) for p in producers)
    assert sum(n for _, n in gaps) <= lost, (
        f"{viewer.name} missed numbers (after, count) {gaps} of {len(packets)} packets, "
        f"the publisher lost {lost}; along {events}"
    )
    assert backward_timestamps(packets) == [], events
    ahead = timestamps_ahead(packets, VIDEO_CLOCK)
    assert ahead <= AHEAD_LIMIT_S, f"timestamps ran {ahead:.2f} s ahead along {events}"


async def show_when_keyframe_is(
    viewer: BenchClient, camera: str, producer: Producer, age: float
) -> None:
    """Show ``camera``'s tile once the top layer's next keyframe is ``age``
    seconds old: it is then replayed from the cache (Consumer.resume), and
    what the replay sends spans about ``age`` seconds of the stream."""
    layer = producer.layers[-1]
    await wait_until(lambda: time.monotonic() - layer.keyframe_at < 0.2, 10, "a keyframe")
    await wait_until(lambda: time.monotonic() - layer.keyframe_at >= age, 10, "its age")
    await viewer.set_view([camera], tile_height=720)


async def test_one_subscriber_sees_one_unbroken_stream_through_switches_pages_and_mutes(
    server: Any, media_cache_dir: Path
) -> None:
    room = "unbroken"
    media, layered = prepared_media(media_cache_dir), prepared_layers(media_cache_dir)
    camera = BenchClient(server.url, "camera", media, layered)
    viewer = RecordingSubscriber(server.url, "viewer", media)
    events: list[str] = []
    try:
        consumer = await start_watching(server, room, camera, viewer, "simulcast")
        producer = consumer.producer
        await wait_until(lambda: layers_known(producer), 60, "three layers arriving")
        pid = camera.participant_id

        # A layer switch up, then down (a small tile) ...
        await viewer.set_view([pid], tile_height=720)
        await wait_until(lambda: consumer.current_layer == 2, 30, "the top layer")
        events.append("up to layer 2")
        await viewer.set_view([pid], tile_height=180)
        await wait_until(lambda: consumer.current_layer == 0, 30, "the lowest layer")
        events.append("down to layer 0")
        # ... after which dynacast stops the upper layers, and a big tile
        # again brings the top one back (a resumed layer, a switch up).
        assert producer.dynacast is not None
        dynacast = producer.dynacast
        await wait_until(lambda: dynacast.publishing == (True, False, False), 30, "dynacast")
        events.append("dynacast paused layers 1, 2")
        await viewer.set_view([pid], tile_height=720)
        await wait_until(lambda: consumer.current_layer == 2, 30, "the resumed top layer")
        events.append("resumed, up to layer 2")

        # The tile leaves the page and comes back (three times): each time
        # the cached keyframe, about a second old, is replayed.
        for _ in range(3):
            replays = consumer.replays
            await viewer.set_view([])
            await wait_until(lambda: consumer.paused, 5, "hidden")
            await asyncio.sleep(1.0)
            await show_when_keyframe_is(viewer, pid, producer, 1.0)
            await wait_until(flowing(consumer), 10, "shown again")
            events.append(f"hidden, shown (replays {consumer.replays - replays})")
            await asyncio.sleep(0.5)

        # Muted: the server stops forwarding while the publisher still sends
        # (a browser's disabled track sends black frames) ...
        await camera.call("mute", {"source": "camera", "muted": True})
        await wait_until(lambda: producer.paused, 5, "paused")
        await asyncio.sleep(1.5)
        await camera.call("mute", {"source": "camera", "muted": False})
        await wait_until(flowing(consumer), 10, "unmuted")
        events.append("muted 1.5 s, still sending")
        await asyncio.sleep(0.5)
        # ... and one that stops sending too.
        publisher = camera.layered_publisher
        assert publisher is not None
        await camera.call("mute", {"source": "camera", "muted": True})
        publisher.set_active(False)
        await asyncio.sleep(1.5)
        publisher.set_active(True)
        await camera.call("mute", {"source": "camera", "muted": False})
        await wait_until(flowing(consumer), 10, "unmuted")
        events.append("muted 1.5 s, not sending")
        await asyncio.sleep(1.0)

        assert consumer.layer_switches >= 3, consumer.layer_switches
        assert_unbroken(viewer, consumer.slot.ssrc, [producer], events)
    finally:
        await asyncio.gather(camera.close(), viewer.close(), return_exceptions=True)


async def test_a_newcomer_and_a_handed_over_slot_see_unbroken_streams(
    server: Any, media_cache_dir: Path
) -> None:
    """A newcomer starts from the replayed cached keyframe; when the camera
    leaves and another participant's camera takes over the slot, the
    subscriber's stream on that slot goes on unbroken."""
    room = "newcomer"
    media, layered = prepared_media(media_cache_dir), prepared_layers(media_cache_dir)
    first = BenchClient(server.url, "first camera", media, layered)
    second = BenchClient(server.url, "second camera", media, layered)
    viewer = RecordingSubscriber(server.url, "viewer", media)
    newcomer = RecordingSubscriber(server.url, "newcomer", media)
    try:
        watched = await start_watching(server, room, first, viewer, "simulcast")
        producer = watched.producer

        # The newcomer joins while the lowest layer's keyframe is fresh: its
        # connection starts from the cache.
        layer = producer.layers[0]
        await wait_until(lambda: time.monotonic() - layer.keyframe_at < 0.3, 10, "a keyframe")
        await newcomer.join(room, video=False, audio=False, receive=True)
        await wait_until(lambda: video_consumer(server, room, newcomer) is not None, 30, "theirs")
        theirs = video_consumer(server, room, newcomer)
        assert theirs is not None
        await wait_until(flowing(theirs), 30, "forwarding to the newcomer")
        await asyncio.sleep(1.0)

        # The first camera leaves; the second one's track takes the free slot.
        slot, ssrc = watched.slot, watched.slot.ssrc
        await first.close()
        await wait_until(lambda: slot.consumer is None, 10, "the slot freed")
        await second.join(room, video=True, audio=False, receive=False, camera="simulcast")
        await wait_until(lambda: slot.consumer is not None, 30, "the slot taken over")
        successor = slot.consumer
        assert isinstance(successor, Consumer)
        await wait_until(flowing(successor), 30, "forwarding the second camera")
        await asyncio.sleep(1.0)

        events = [f"newcomer replays {theirs.replays}", "slot handed over"]
        assert_unbroken(newcomer, theirs.slot.ssrc, [producer], events)
        assert_unbroken(viewer, ssrc, [producer, successor.producer], events)
    finally:
        await asyncio.gather(
            *(c.close() for c in (first, second, viewer, newcomer)), return_exceptions=True
        )


def microphone_of(server: Any, room: str, client: BenchClient) -> Producer:
    transport = server.service.media[room].publishers[client.participant_id]
    return next(p for p in transport.producers.values() if p.kind == "audio")


async def test_a_talker_leaving_and_reentering_the_loudest_keeps_one_unbroken_stream(
    server: Any, media_cache_dir: Path
) -> None:
    """Four talkers, three places (``audio_forward_speakers``): a talker who
    falls silent leaves the places and the fourth takes one; talking again,
    it waits until a place is free and comes back on the same slot. A muted
    microphone (whose publisher goes on sending) leaves and comes back the
    same way. The listener's stream of each talker never skips a number."""
    room = "talkers"
    media = prepared_media(media_cache_dir)
    talkers = [BenchClient(server.url, f"talker-{i}", media) for i in range(4)]
    listener = RecordingSubscriber(server.url, "listener", media)
    events: list[str] = []
    try:
        for talker in talkers:
            await talker.join(room, video=False, audio=True, receive=False, microphone="talking")
        await listener.join(room, video=False, audio=False, receive=True)
        room_media = server.service.media[room]
        speakers = room_media.router.speakers
        transport = room_media.subscribers[listener.participant_id]
        await wait_until(lambda: len(speakers.ranked()) == 4, 30, "four ranked")
        by_producer = {microphone_of(server, room, t).id: t for t in talkers}
        mics = {t.name: microphone_of(server, room, t) for t in talkers}
        await wait_until(lambda: len(transport.consumers) == 4, 30, "four consumers")

        def hears(name: str) -> Callable[[], bool]:
            consumer = transport.consumers[mics[name].id]
            return lambda: consumer.slot.connected and flowing(consumer)()

        def ranked_names() -> list[str]:
            return [by_producer[p.id].name for p in speakers.ranked()]

        order = ranked_names()
        for name in order[:3]:
            await wait_until(hears(name), 30, f"hearing {name}")
        first, second, third, fourth = order

        def voice(name: str) -> Any:
            publisher = next(t for t in talkers if t.name == name).voice_publisher
            assert publisher is not None
            return publisher

        async def fall_silent_then_talk(name: str, replaced_by: str) -> None:
            voice(name).talking = False
            await wait_until(lambda: name not in ranked_names(), 10, f"{name} unranked")
            await wait_until(hears(replaced_by), 10, f"{replaced_by} heard instead")
            voice(name).talking = True
            await wait_until(lambda: name in ranked_names(), 10, f"{name} ranked again")
            events.append(f"{name} silent, {replaced_by} heard; {name} talks again")

        async def mute_then_unmute(name: str, replaced_by: str) -> None:
            client = next(t for t in talkers if t.name == name)
            await client.call("mute", {"source": "microphone", "muted": True})
            await wait_until(lambda: name not in ranked_names(), 10, f"{name} unranked")
            await wait_until(hears(replaced_by), 10, f"{replaced_by} heard instead")
            await client.call("mute", {"source": "microphone", "muted": False})
            await wait_until(lambda: name in ranked_names(), 10, f"{name} ranked again")
            events.append(f"{name} muted, {replaced_by} heard; {name} unmuted")

        # The first leaves (the fourth comes in), the fourth leaves (the first
        # comes back); then the same with muted microphones.
        await fall_silent_then_talk(first, fourth)
        await fall_silent_then_talk(fourth, first)
        await mute_then_unmute(second, fourth)
        await mute_then_unmute(third, second)
        await asyncio.sleep(0.5)

        for talker in talkers:
            consumer = transport.consumers[mics[talker.name].id]
            packets = listener.streams[consumer.slot.ssrc]
            gaps = missing_runs(packets)
            lost = upstream_lost(mics[talker.name])
            assert sum(n for _, n in gaps) <= lost, (talker.name, gaps, lost, events)
            assert backward_timestamps(packets) == [], (talker.name, events)
            ahead = timestamps_ahead(packets, 48_000)
            assert ahead <= AHEAD_LIMIT_S, (talker.name, ahead, events)
    finally:
        await asyncio.gather(*(c.close() for c in (*talkers, listener)), return_exceptions=True)


class ProbingPublisher(LayeredPublisher):
    """Sends, after every third frame of each layer, a padding-only packet on
    the layer's own SSRC and sequence numbers: what libwebrtc sends to probe
    the uplink when no RTX stream is negotiated."""

    padding_sent = 0

    def _send_frame(self, layer: SentLayer, frame: int, clock: int) -> None:
        super()._send_frame(layer, frame, clock)
        if frame % 3:
            return
        timestamp = (layer.timestamp_base + clock) & 0xFFFFFFFF
        # V=2, P (padding), X (extensions); 200 bytes of padding, the last
        # one saying how many.
        header = struct.pack(
            "!BBHII", 0xB0, self._nego.payload_type, layer.sequence, timestamp, layer.ssrc
        )
        layer.sequence = (layer.sequence + 1) & 0xFFFF
        if self._path.send(header + self._extensions(layer) + bytes(199) + b"\xc8"):
            ProbingPublisher.padding_sent += 1


async def test_padding_from_a_publisher_leaves_no_gap_and_no_loss(
    server: Any, media_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Padding-only packets (bandwidth probes) on a camera's own stream are not
    forwarded, yet the subscriber sees no gap where they were, and the SFU
    does not count them as lost (it would NACK them, and its receiver reports
    would tell the publisher's estimator of a loss that never happened)."""
    room = "probing"
    media, layered = prepared_media(media_cache_dir), prepared_layers(media_cache_dir)
    monkeypatch.setattr(conf_bench.client, "LayeredPublisher", ProbingPublisher)
    camera = BenchClient(server.url, "camera", media, layered)
    viewer = RecordingSubscriber(server.url, "viewer", media)
    try:
        consumer = await start_watching(server, room, camera, viewer, "top_layer")
        sent = ProbingPublisher.padding_sent
        await wait_until(lambda: ProbingPublisher.padding_sent >= sent + 30, 10, "probes")
        assert missing_runs(viewer.streams[consumer.slot.ssrc]) == []
        assert upstream_lost(consumer.producer) == 0
    finally:
        await asyncio.gather(camera.close(), viewer.close(), return_exceptions=True)


async def test_a_publisher_restarting_its_stream_on_a_new_ssrc_leaves_no_gap(
    server: Any, media_cache_dir: Path
) -> None:
    """A publisher may restart a stream on a new SSRC (new sequence numbers,
    new timestamps) under the same mid: the SFU binds it to the same layer,
    and the subscriber's slot goes on unbroken from the new stream's first
    keyframe."""
    room = "restart"
    media, layered = prepared_media(media_cache_dir), prepared_layers(media_cache_dir)
    camera = BenchClient(server.url, "camera", media, layered)
    viewer = RecordingSubscriber(server.url, "viewer", media)
    try:
        consumer = await start_watching(server, room, camera, viewer, "top_layer")
        producer = consumer.producer
        await asyncio.sleep(1.0)

        publisher = camera.layered_publisher
        assert publisher is not None
        old = publisher.layers[0]
        new = SentLayer(old.rid, old.stream)
        new.index = old.index
        new.skip_to_keyframe()
        publisher.layers[0] = new
        publisher._by_ssrc = {new.ssrc: new}  # its PLIs name the new SSRC
        await wait_until(lambda: producer.layers[0].ssrc == new.ssrc, 10, "the new SSRC bound")
        await wait_until(flowing(consumer), 10, "forwarding the new stream")
        await asyncio.sleep(1.0)
        assert_unbroken(viewer, consumer.slot.ssrc, [producer], ["restarted on a new SSRC"])
    finally:
        await asyncio.gather(camera.close(), viewer.close(), return_exceptions=True)
