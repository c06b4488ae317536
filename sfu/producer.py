"""Producer: one incoming track (mic, camera or screen) of one publish transport."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from . import rtp
from .aiortc_bridge import Codec
from .packet_cache import PacketCache
from .settings import SfuSettings
from .sink import PacketSink, SenderReport
from .stats import LATENCY_SAMPLE_EVERY, SfuStats
from .tasks import TaskGroup

KeyframeSender = Callable[[int], Coroutine[Any, Any, bool]]

logger = logging.getLogger(__name__)


class Downstream(Protocol):
    """What a producer needs of each consumer it feeds (:class:`sfu.Consumer` is one).

    The consumer knows its producer and registers itself with
    :meth:`Producer.add_consumer`; the producer knows its consumers only
    through these three calls, so ownership points down without an import
    cycle.
    """

    def send(self, view: rtp.RtpView) -> None: ...

    def resync(self) -> None: ...

    async def close(self) -> None: ...


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
        settings: SfuSettings,
        send_keyframe_request: KeyframeSender,
        stats: SfuStats,
        app_data: dict[str, Any] | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.kind = kind
        self.codec = codec
        self.mid = mid
        self.ssrc = ssrc
        self.app_data: dict[str, Any] = dict(app_data or {})
        self.paused = False
        self.closed = False
        self.consumers: list[Downstream] = []
        #: Taps on the forwarded packets (see :mod:`sfu.sink`); empty costs nothing.
        self.sinks: list[PacketSink] = []
        #: The publisher's last RTCP sender report for this stream, if any came.
        self.sender_report: SenderReport | None = None
        self.packets_received = 0
        self.bytes_received = 0
        self._settings = settings
        self._stats = stats
        self._latency_countdown = LATENCY_SAMPLE_EVERY
        self._audio_level_id = audio_level_id
        self._send_keyframe_request = send_keyframe_request
        self._cache = PacketCache(settings.packet_cache_size) if kind == "video" else None
        self._loudness_sum = 0
        self._loudness_count = 0
        self._last_keyframe_request = -1e9
        self._pending_keyframe: asyncio.TimerHandle | None = None
        self._tasks = TaskGroup(f"producer {self.id}")
        self._close_listeners: list[Callable[[Producer], None]] = []

    def __repr__(self) -> str:
        return f"Producer({self.kind}, mid={self.mid}, ssrc={self.ssrc}, {self.app_data})"

    # -- hot path -------------------------------------------------------------

    def receive(self, view: rtp.RtpView) -> None:
        """Forward one packet to every consumer (called for each packet received)."""
        if self.closed:
            return
        stats = self._stats
        stats.packets_received += 1
        stats.bytes_received += len(view.data)
        self.packets_received += 1
        self.bytes_received += len(view.data)
        if self._cache is not None:
            stats.video_packets_received += 1
            view.keyframe = rtp.is_vp8_keyframe_start(view.data, view.payload_offset)
            self._cache.put(view)
        elif self._audio_level_id is not None:
            value = rtp.find_extension(view.data, self._audio_level_id)
            if value:
                level = value[0] & 0x7F
                view.audio_level = level
                self._loudness_sum += 127 - level
                self._loudness_count += 1
        # Cached for retransmission even when nobody consumes: stamp it now.
        view.stamp()
        if self.paused:
            return
        if self.sinks:
            self._feed_sinks(view)
        if not self.consumers:
            return
        self._latency_countdown -= 1
        if self._latency_countdown:
            for consumer in self.consumers:
                consumer.send(view)
            return
        # One packet in LATENCY_SAMPLE_EVERY: time each consumer's send.
        self._latency_countdown = LATENCY_SAMPLE_EVERY
        started = time.perf_counter()
        for consumer in self.consumers:
            consumer.send(view)
            stats.observe_latency(time.perf_counter() - started)

    def _feed_sinks(self, view: rtp.RtpView) -> None:
        for sink in self.sinks:
            try:
                sink.on_rtp(view)
            except Exception:
                logger.exception("packet sink %r of %r failed", sink, self)

    def cached(self, sequence_number: int) -> rtp.RtpView | None:
        """A recently received packet, for retransmission."""
        return self._cache.get(sequence_number) if self._cache is not None else None

    def take_loudness(self) -> float:
        """Mean loudness (0 silent .. 127 loudest) since the last call, then reset."""
        if not self._loudness_count:
            return 0.0
        mean = self._loudness_sum / self._loudness_count
        self._loudness_sum = self._loudness_count = 0
        return mean

    # -- keyframes ------------------------------------------------------------

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most once per ``keyframe_interval_s``.

        A request inside the quiet interval is not lost: one request is sent
        when the interval ends.
        """
        if self.kind != "video" or self.closed or self.ssrc is None:
            return
        now = time.monotonic()
        wait = self._last_keyframe_request + self._settings.keyframe_interval_s - now
        if wait <= 0:
            self._last_keyframe_request = now
            self._tasks.spawn(self._request_keyframe(self.ssrc))
        elif self._pending_keyframe is None:
            self._pending_keyframe = asyncio.get_running_loop().call_later(
                wait, self._fire_pending_keyframe
            )

    async def _request_keyframe(self, ssrc: int) -> None:
        if await self._send_keyframe_request(ssrc):
            self._stats.keyframe_requests += 1
        else:
            # Not connected yet: lost, so it must not hold back the next request.
            self._last_keyframe_request = -1e9

    def _fire_pending_keyframe(self) -> None:
        self._pending_keyframe = None
        self.request_keyframe()

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

    def remove_sink(self, sink: PacketSink) -> None:
        """Stop feeding ``sink`` (its ``on_close`` is not called)."""
        if sink in self.sinks:
            self.sinks = [s for s in self.sinks if s is not sink]

    def set_sender_report(self, ntp: int, rtp_timestamp: int) -> None:
        """Remember the publisher's RTCP sender report (called by the transport)."""
        self.sender_report = SenderReport(ntp, rtp_timestamp, time.monotonic())

    def on_close(self, listener: Callable[[Producer], None]) -> None:
        self._close_listeners.append(listener)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._pending_keyframe is not None:
            self._pending_keyframe.cancel()
            self._pending_keyframe = None
        for consumer in list(self.consumers):
            await consumer.close()
        self.consumers.clear()
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
