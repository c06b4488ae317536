"""Producer: one incoming track (mic, camera or screen) of one publish transport."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from . import native_send, rtp, timeline
from .aiortc_bridge import Codec
from .dynacast import Dynacast
from .producer_layer import Downstream, ProducerLayer
from .settings import SfuSettings
from .sink import PacketSink, SenderReport
from .speaker_selection import Talker
from .stats import LATENCY_SAMPLE_EVERY, SfuStats
from .tasks import TaskGroup

KeyframeSender = Callable[[int], Coroutine[Any, Any, bool]]

logger = logging.getLogger(__name__)


class Producer:
    """One published track. Owns its consumers; ``close()`` cascades and is idempotent."""

    def __init__(
        self,
        *,
        kind: str,
        codec: Codec,
        mid: str,
        ssrc: int | None,
        audio_level_id: int | None,
        rids: list[str] | None = None,
        settings: SfuSettings,
        send_keyframe_request: KeyframeSender,
        stats: SfuStats,
        app_data: dict[str, Any] | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.kind = kind
        self.codec = codec
        self.mid = mid
        #: The streams of this track, lowest first: one per simulcast rid, or one.
        self.layers = [
            ProducerLayer(
                kind=kind, index=i, rid=rid, clock_rate=codec.clock_rate,
                cache_size=settings.packet_cache_size,
                audio_cache_size=settings.audio_packet_cache_size,
            )
            for i, rid in enumerate(rids or [None])
        ]  # fmt: skip
        if ssrc is not None and not rids:
            self.layers[0].bind(ssrc)
        self.app_data: dict[str, Any] = dict(app_data or {})
        self.paused = False
        self.closed = False
        self.consumers: list[Downstream] = []
        #: Taps on the forwarded packets (see :mod:`sfu.sink`); empty costs nothing.
        self.sinks: list[PacketSink] = []
        self.duplicates = 0
        self.packets_received = 0
        self.bytes_received = 0
        self._settings = settings
        self._stats = stats
        self._latency_countdown = LATENCY_SAMPLE_EVERY
        #: Each consumer's send in one compiled call where it is built.
        self._fan_out = native_send.compiled_fan_out()
        self._audio_level_id = audio_level_id
        self._send_keyframe_request = send_keyframe_request
        self._video = kind == "video"
        self._loudness_sum = 0
        self._loudness_count = 0
        self._pending_keyframes: dict[int, asyncio.TimerHandle] = {}
        #: The layer packet sinks (the recorder) get: the highest that has
        #: sent a keyframe, so a recording is as sharp as the publisher sends.
        self._sink_layer = 0 if len(self.layers) == 1 else -1
        self._tasks = TaskGroup(f"producer {self.id}")
        self._close_listeners: list[Callable[[Producer], None]] = []
        #: Which layers the publisher should send (simulcast video only).
        self.dynacast: Dynacast | None = (
            Dynacast(len(self.layers), time.monotonic(), enabled=settings.dynacast)
            if self._video and self.simulcast
            else None
        )
        self._layer_listeners: list[Callable[[Producer], None]] = []
        #: Audio with speaker selection on: its place among the room's
        #: speakers (set by the router); its packets go to consumers only
        #: while it is ranked (:mod:`sfu.speaker_selection`).
        self.talker: Talker[Producer] | None = None

    def __repr__(self) -> str:
        return f"Producer({self.kind}, mid={self.mid}, ssrc={self.ssrc}, {self.app_data})"

    @property
    def ssrc(self) -> int | None:
        """The SSRC of the lowest layer (the only one without simulcast)."""
        return self.layers[0].ssrc

    @property
    def simulcast(self) -> bool:
        return len(self.layers) > 1

    @property
    def audio_level_id(self) -> int | None:
        """The header extension id of the RFC 6464 audio level in its packets."""
        return self._audio_level_id

    @property
    def sender_report(self) -> SenderReport | None:
        """The publisher's last RTCP sender report for the stream sinks get."""
        layer = self.layers[self._sink_layer] if self._sink_layer >= 0 else self.layers[0]
        return layer.sender_report

    # -- hot path -------------------------------------------------------------

    def receive(
        self, view: rtp.RtpView, layer: ProducerLayer | None = None, now: float | None = None
    ) -> None:
        """Forward one packet of ``layer`` (default: the first), arrived at
        ``now`` (``time.monotonic()``; default: now), to the consumers of that
        layer (called for each packet received)."""
        if self.closed:
            return
        if layer is None:
            layer = self.layers[0]
        if now is None:
            now = time.monotonic()
        stream = layer.stream
        if stream is not None and not stream.on_packet(view.sequence_number, view.timestamp, now):
            self.duplicates += 1  # a retransmission of what already came
            return
        if view.padding_only:
            self._skip_padding(view, layer, now)
            return
        stats = self._stats
        size = len(view.data)
        stats.packets_received += 1
        stats.bytes_received += size
        self.packets_received += 1
        self.bytes_received += size
        layer.meter.add(size, now)
        keyframe = False
        if self._video:
            stats.video_packets_received += 1
            keyframe = view.keyframe = rtp.is_vp8_keyframe_start(view.data, view.payload_offset)
            if keyframe:
                self._on_keyframe(layer, view)
                layer.keyframe_sequence = view.sequence_number
                layer.keyframe_at = now
            if layer.keyframe_owed:
                # Media arrives, so the publisher can be told now, not after
                # the asker's retry interval.
                layer.keyframe_owed = False
                if not keyframe:
                    self.request_keyframe(layer.index)
        elif self._audio_level_id is not None:
            value = rtp.find_extension(view.data, self._audio_level_id)
            if value:
                level = value[0] & 0x7F
                view.audio_level = level
                self._loudness_sum += 127 - level
                self._loudness_count += 1
        # Audio too: browsers resend Opus on NACK (same SSRC and number), and
        # a late packet that fills a gap is accepted above, forwarded once.
        layer.cache.put(view)
        layer.nacks.on_packet(view.sequence_number, now, keyframe)
        if self.paused:
            # What arrives while paused (a muted camera, or a host stopped
            # it) is never replayed to a consumer later (Consumer.resync).
            layer.keyframe_sequence = None
            return
        talker = self.talker
        # Ranked or not, decided on this packet: a first syllable goes out
        # with it (the ranking may resume consumers right here). Sinks (the
        # recorder) and relays to other nodes take every packet.
        if talker is None or talker.heard(view.audio_level, now):
            consumers = layer.consumers
        else:
            consumers = layer.every_packet
        to_sinks = bool(self.sinks) and layer.index == self._sink_layer
        if not consumers and not to_sinks:
            return  # e.g. a simulcast layer nobody gets now: never stamped
        # Once for all consumers and sinks. (A cached packet nobody took is
        # stamped if a retransmission ever asks for it: Consumer.retransmit.)
        view.stamp()
        if to_sinks:
            self._feed_sinks(view)
        if not consumers:
            return
        index = layer.index
        self._latency_countdown -= 1
        fan_out = self._fan_out
        if self._latency_countdown:
            if fan_out is not None:
                fan_out(consumers, view, index, None)
                return
            for consumer in consumers:
                consumer.send(view, index)
            return
        # One packet in LATENCY_SAMPLE_EVERY: time each consumer's send.
        self._latency_countdown = LATENCY_SAMPLE_EVERY
        if fan_out is not None:
            times: list[float] = []
            fan_out(consumers, view, index, times)
            for seconds in times:
                stats.observe_latency(seconds)
            return
        started = time.perf_counter()
        for consumer in consumers:
            consumer.send(view, index)
            stats.observe_latency(time.perf_counter() - started)

    def _skip_padding(self, view: rtp.RtpView, layer: ProducerLayer, now: float) -> None:
        """A padding-only packet (a bandwidth probe) on ``layer``'s own
        numbers: received (so it is no loss to NACK or report) and cached (a
        replay from the cache finds no hole), never forwarded; each consumer
        forwarding ``layer`` closes the number it leaves (Consumer.skip)."""
        layer.cache.put(view)
        layer.nacks.on_packet(view.sequence_number, now, False)
        if not self.paused:
            for consumer in layer.consumers:
                consumer.skip(view, layer.index)

    def _on_keyframe(self, layer: ProducerLayer, view: rtp.RtpView) -> None:
        layer.keyframes += 1
        timeline.step(self.owner, f"video layer {layer.index}: keyframe received")
        size = rtp.vp8_keyframe_size(view.data, view.payload_offset)
        if size is not None:
            layer.width, layer.height = size
        if layer.index > self._sink_layer:
            self._sink_layer = layer.index  # sinks move up, at a keyframe, never down

    def _feed_sinks(self, view: rtp.RtpView) -> None:
        for sink in self.sinks:
            try:
                sink.on_rtp(view)
            except Exception:
                logger.exception("packet sink %r of %r failed", sink, self)

    def cached(self, layer: int, sequence_number: int) -> rtp.RtpView | None:
        """A recently received packet of ``layer``, for retransmission."""
        return self.layers[layer].cache.get(sequence_number)

    def take_loudness(self) -> float:
        """Mean loudness (0 silent .. 127 loudest) since the last call, then reset."""
        if not self._loudness_count:
            return 0.0
        mean = self._loudness_sum / self._loudness_count
        self._loudness_sum = self._loudness_count = 0
        return mean

    # -- keyframes ------------------------------------------------------------

    @property
    def owner(self) -> str:
        """Whose track this is (its participant id), for the timeline."""
        return str(self.app_data.get("participant_id", self.id))

    def request_keyframe(self, layer: int | None = None) -> None:
        """Ask the publisher for a keyframe on ``layer`` (all layers: None), at
        most once per ``keyframe_interval_s`` per layer.

        Requests are coalesced per layer: however many subscribers ask, the
        publisher gets one request per interval; one inside the quiet interval
        is not lost but sent when the interval ends. One the publisher cannot
        get yet (no connection, or the layer's SSRC unknown) is sent with the
        layer's first packet (``ProducerLayer.keyframe_owed``).
        """
        if not self._video or self.closed:
            return
        targets = self.layers if layer is None else self.layers[layer : layer + 1]
        now = time.monotonic()
        dynacast = self.dynacast
        for target in targets:
            if dynacast is not None and not dynacast.publishing[target.index]:
                if layer is None:
                    continue  # "every layer" means every layer being sent
                # A layer the publisher was told to stop: ask it back; its
                # first packets are a keyframe, or the request goes with them.
                if dynacast.want(target.index, now):
                    self._layers_changed()
                target.keyframe_owed = True
                continue
            if target.ssrc is None:
                target.keyframe_owed = True  # asked when its first packet binds it
                continue
            wait = target.last_keyframe_request + self._settings.keyframe_interval_s - now
            if wait <= 0:
                target.last_keyframe_request = now
                timeline.step(self.owner, f"video: keyframe asked, layer {target.index}")
                self._tasks.spawn(self._request_keyframe(target, target.ssrc))
            elif target.index not in self._pending_keyframes:
                self._pending_keyframes[target.index] = asyncio.get_running_loop().call_later(
                    wait, self._fire_pending_keyframe, target.index
                )

    async def _request_keyframe(self, layer: ProducerLayer, ssrc: int) -> None:
        if await self._send_keyframe_request(ssrc):
            self._stats.keyframe_requests += 1
        else:
            # Not connected yet: lost, so it must not hold back the next
            # request, and it is owed as soon as media arrives.
            layer.last_keyframe_request = -1e9
            layer.keyframe_owed = True

    def _fire_pending_keyframe(self, layer: int) -> None:
        self._pending_keyframes.pop(layer, None)
        self.request_keyframe(layer)

    # -- dynacast -------------------------------------------------------------

    def wanted_layers(self) -> set[int]:
        """The layers some consumer forwards or waits for, or the sinks take."""
        wanted: set[int] = set()
        for consumer in self.consumers:
            wanted.update(consumer.wanted_layers())
        if self.sinks:
            wanted.add(self._sink_layer if self._sink_layer >= 0 else len(self.layers) - 1)
        return wanted

    def update_layers(self, now: float) -> None:
        """Pause the layers nobody took for a while, resume wanted ones
        (see :mod:`sfu.dynacast`); listeners hear of any change."""
        if self.dynacast is None or self.closed:
            return
        bitrates = [layer.meter.bitrate(now) for layer in self.layers]
        if self.dynacast.update(self.wanted_layers(), bitrates, now):
            self._layers_changed()

    def publishing_layers(self) -> dict[str, bool]:
        """Per rid: whether the publisher should send it (all True without dynacast)."""
        publishing = self.dynacast.publishing if self.dynacast is not None else ()
        return {
            layer.rid: publishing[layer.index] if publishing else True
            for layer in self.layers
            if layer.rid is not None
        }

    def candidate_bitrate(self, layer: ProducerLayer, current: int | None, now: float) -> int:
        """The rate the allocator sees for ``layer`` of a consumer forwarding
        ``current``: its stable measured rate, or, for a paused layer above
        ``current``, the rate it had (see :meth:`sfu.dynacast.Dynacast.candidate_bitrate`)."""
        stable = layer.stable_bitrate(now)
        if self.dynacast is None:
            return stable
        return self.dynacast.candidate_bitrate(layer.index, stable, current, now)

    def on_layers_changed(self, listener: Callable[[Producer], None]) -> None:
        """Call ``listener`` whenever the layers the publisher should send change."""
        self._layer_listeners.append(listener)

    def _layers_changed(self) -> None:
        for listener in self._layer_listeners:
            try:
                listener(self)
            except Exception:
                logger.exception("layer listener of %r failed", self)

    # -- lifecycle --------------------------------------------------------------

    def add_consumer(self, consumer: Downstream) -> None:
        self.consumers.append(consumer)

    def remove_consumer(self, consumer: Downstream) -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)

    def add_sink(self, sink: PacketSink) -> None:
        """Hand every packet this producer forwards to ``sink`` as well."""
        if not self.closed and sink not in self.sinks:
            # A new list, never mutated: a sink may add or remove sinks from
            # inside on_rtp while the list is being iterated.
            self.sinks = [*self.sinks, sink]
            self.update_layers(time.monotonic())  # the recorder's layer, now

    def remove_sink(self, sink: PacketSink) -> None:
        """Stop feeding ``sink`` (its ``on_close`` is not called)."""
        if sink in self.sinks:
            self.sinks = [s for s in self.sinks if s is not sink]

    def set_sender_report(self, layer: ProducerLayer, ntp: int, rtp_timestamp: int) -> None:
        """Remember the publisher's RTCP sender report of one layer (called by the transport)."""
        now = time.monotonic()
        layer.sender_report = SenderReport(ntp, rtp_timestamp, now)
        if layer.stream is not None:
            layer.stream.on_sender_report(ntp, now)

    def on_close(self, listener: Callable[[Producer], None]) -> None:
        self._close_listeners.append(listener)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for handle in self._pending_keyframes.values():
            handle.cancel()
        self._pending_keyframes.clear()
        for consumer in list(self.consumers):
            await consumer.close()
        self.consumers.clear()
        for layer in self.layers:
            layer.consumers = []
        await self._tasks.cancel_all()
        sinks, self.sinks = self.sinks, []
        for sink in sinks:
            try:
                sink.on_close()
            except Exception:
                logger.exception("packet sink %r of %r failed to close", sink, self)
        for listener in self._close_listeners:
            listener(self)
        self._close_listeners.clear()
        self._layer_listeners.clear()
