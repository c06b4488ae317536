"""Router: the media side of one room on this node.

Owns every transport (and through them producers and consumers) of the room,
tells its observer when producers appear and disappear, finds the active
speaker from audio levels without decoding, and ranks the current speakers
whose audio subscribers get (:mod:`sfu.speaker_selection`). ``close()`` cascades and is safe to
call twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from . import aiortc_bridge as bridge
from .producer import Producer
from .publish_transport import PublishTransport
from .relay_link import RelayEndpoint, RelayPeer
from .relay_tracks import RelayedTrack, RelayIn, RelayOut
from .settings import SfuSettings
from .speaker import ActiveSpeakerDetector
from .speaker_selection import SpeakerSelection
from .stats import SfuStats
from .subscribe_transport import OfferSink, SubscribeTransport
from .tasks import TaskGroup

logger = logging.getLogger(__name__)


class RouterObserver(Protocol):
    """What the layer above learns from a router."""

    def producer_added(self, producer: Producer) -> None: ...

    def producer_closed(self, producer: Producer) -> None: ...

    def active_speaker_changed(self, producer: Producer | None) -> None: ...


class Router:
    """One room's media: producers, consumers and the transports that carry them."""

    def __init__(
        self, settings: SfuSettings, observer: RouterObserver, stats: SfuStats | None = None
    ) -> None:
        self.settings = settings
        self.sfu_stats = stats if stats is not None else SfuStats()
        self.closed = False
        self.producers: dict[str, Producer] = {}
        self.publish_transports: set[PublishTransport] = set()
        self.subscribe_transports: set[SubscribeTransport] = set()
        self._observer = observer
        self._observers: list[RouterObserver] = [observer]
        self._tasks = TaskGroup("router")
        self._speaker: ActiveSpeakerDetector[Producer] = ActiveSpeakerDetector(
            settings.speaker_threshold
        )
        #: Whose audio goes out (None: everybody's, ``audio_forward_speakers`` = 0).
        self.speakers: SpeakerSelection[Producer] | None = (
            SpeakerSelection(settings.audio_forward_speakers, self._speakers_changed)
            if settings.audio_forward_speakers > 0
            else None
        )
        if settings.ice_addresses:
            bridge.restrict_ice_addresses(settings.ice_addresses)
        self._tasks.spawn(self._housekeeping())

    def add_observer(self, observer: RouterObserver) -> None:
        """Tell ``observer`` too about producers (a recorder, for instance)."""
        if observer not in self._observers:
            self._observers.append(observer)

    def remove_observer(self, observer: RouterObserver) -> None:
        if observer in self._observers and observer is not self._observer:
            self._observers.remove(observer)

    def create_publish_transport(self, app_data: dict[str, Any]) -> PublishTransport:
        transport = PublishTransport(self.settings, self._add_producer, self.sfu_stats, app_data)
        self.publish_transports.add(transport)
        return transport

    def create_subscribe_transport(
        self, send_offer: OfferSink, app_data: dict[str, Any]
    ) -> SubscribeTransport:
        transport = SubscribeTransport(
            self.settings, send_offer, self.sfu_stats, app_data, self.speakers
        )
        self.subscribe_transports.add(transport)
        return transport

    def relay_in(self, endpoint: RelayEndpoint, peer: RelayPeer, track: RelayedTrack) -> RelayIn:
        """A producer of this room fed by another node's relay (:mod:`sfu.relay_tracks`)."""
        relayed = RelayIn(endpoint, peer, track, self.settings, self.sfu_stats)
        self._add_producer(relayed.producer)
        return relayed

    def relay_out(
        self, endpoint: RelayEndpoint, peer: RelayPeer, producer: Producer, origin: str
    ) -> RelayOut:
        """Send ``producer`` (one of this room's) to ``peer``; its
        :attr:`RelayOut.track` is what that node needs for :meth:`relay_in`."""
        if self.producers.get(producer.id) is not producer:
            raise KeyError(f"{producer!r} is not a producer of this router")
        return RelayOut(endpoint, peer, producer, origin)

    async def close_transport(self, transport: PublishTransport | SubscribeTransport) -> None:
        """Close one transport and everything it owns."""
        if isinstance(transport, PublishTransport):
            self.publish_transports.discard(transport)
        else:
            self.subscribe_transports.discard(transport)
        await transport.close()

    def _add_producer(self, producer: Producer) -> None:
        self.producers[producer.id] = producer
        if self.speakers is not None and producer.kind == "audio":
            producer.talker = self.speakers.add(producer)
        producer.on_close(self._producer_closed)
        for observer in list(self._observers):
            observer.producer_added(producer)

    def _producer_closed(self, producer: Producer) -> None:
        self.producers.pop(producer.id, None)
        if self.speakers is not None and producer.talker is not None:
            self.speakers.remove(producer.talker)
        if self._speaker.current is producer:
            self._speaker.current = None
        for observer in list(self._observers):
            observer.producer_closed(producer)

    def _speakers_changed(self, ranking: list[Producer], dropped: list[Producer]) -> None:
        """The speaker ranking changed (on a packet's way, so at once): each
        subscriber starts or stops the audio it now gets or no longer gets."""
        for transport in self.subscribe_transports:
            if transport.closed:
                continue
            try:
                transport.select_audio(ranking, dropped)
            except Exception:
                logger.exception("speaker selection failed for %s", transport.id)

    async def _housekeeping(self) -> None:
        """Periodic work kept off the packet path: active speaker, sender
        reports, the simulcast layers publishers should send (dynacast),
        speakers silent past their hangover."""
        while True:
            await asyncio.sleep(self.settings.speaker_interval_s)
            now = time.monotonic()
            for transport in self.subscribe_transports:
                transport.send_sender_reports(now)
            for producer in self.producers.values():
                if producer.dynacast is not None:
                    producer.update_layers(now)
            if self.speakers is not None:
                self.speakers.expire(now)  # muted or vanished speakers send nothing
            audio = [p for p in self.producers.values() if p.kind == "audio"]
            changed, speaker = self._speaker.update({p: p.take_loudness() for p in audio})
            if changed:
                self._observer.active_speaker_changed(speaker)

    def stats(self) -> dict[str, int]:
        """Counts of live media objects (tests and /metrics use them)."""
        consumers = sum(len(t.consumers) for t in self.subscribe_transports)
        transports: list[PublishTransport | SubscribeTransport] = [
            *self.publish_transports,
            *self.subscribe_transports,
        ]
        return {
            "publish_transports": len(self.publish_transports),
            "subscribe_transports": len(self.subscribe_transports),
            # A transport whose connection closed under it (the client ended
            # it, or ICE consent expired) stays until its participant leaves.
            "open_peer_connections": sum(1 for t in transports if t.pc.connectionState != "closed"),
            "producers": len(self.producers),
            "consumers": consumers,
        }

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self._tasks.cancel_all()
        for publisher in self.publish_transports:
            await publisher.close()
        for subscriber in self.subscribe_transports:
            await subscriber.close()
        self.publish_transports.clear()
        self.subscribe_transports.clear()
        self.producers.clear()


__all__ = ["Router", "RouterObserver"]
