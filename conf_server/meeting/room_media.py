"""RoomMedia: the media of one room, translated between participants and the SFU.

It decides who receives what (everyone receives every other participant's
tracks, less the audio of people in one's own zone and the video of tiles off
one's page; of the audio left, the SFU forwards only the current speakers',
``audio_forward_speakers``) and reports media events upward through
callbacks. It is the only place that puts participant ids into the SFU's
``app_data``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sfu import (
    Consumer,
    Producer,
    PublishTransport,
    Router,
    SfuSettings,
    SfuStats,
    SubscribeTransport,
    timeline,
)
from sfu.send_slot import SendSlot
from sfu.tasks import TaskGroup

logger = logging.getLogger(__name__)

OfferCallback = Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]
SpeakerCallback = Callable[[str], Coroutine[Any, Any, None]]
#: ``tracks_changed(participant_id, payload)``: tell one participant which
#: track each of its receiving mids carries now (``subscriber_tracks``).
TracksCallback = Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]
#: ``quality_changed(participant_id, payload)``: tell one participant its media quality.
QualityCallback = Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]
#: ``publish_layers(participant_id, payload)``: tell a publisher which camera
#: layers to send (dynacast; see docs/protocol.md, ``publish_layers``).
LayersCallback = Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]

#: How often each participant's ``media_quality`` is looked at (sent when it changed).
QUALITY_INTERVAL_S = 1.0


@dataclass(frozen=True)
class ViewPreferences:
    """How a viewer shows others' video: tile heights (device px) by participant
    id, and the tiles it pinned (or the host spotlit): those come first."""

    sizes: dict[str, int] = field(default_factory=dict)
    pinned: frozenset[str] = frozenset()


class RoomMedia:
    """Publish and subscribe transports of every participant of one room."""

    def __init__(
        self,
        settings: SfuSettings,
        send_offer: OfferCallback,
        speaker_changed: SpeakerCallback,
        stats: SfuStats,
        quality_changed: QualityCallback | None = None,
        publish_layers: LayersCallback | None = None,
        tracks_changed: TracksCallback | None = None,
    ) -> None:
        self.router = Router(settings, self, stats)
        self.publishers: dict[str, PublishTransport] = {}
        self.subscribers: dict[str, SubscribeTransport] = {}
        #: participant id -> participants whose video it shows (absent: everyone).
        self.views: dict[str, set[str]] = {}
        #: participant id -> the physical room (acoustic zone) it sits in.
        self.zones: dict[str, str] = {}
        #: participant id -> tile sizes and pins of its view.
        self.preferences: dict[str, ViewPreferences] = {}
        #: participant id -> how many people who join after its view was set
        #: that view shows at once (``set_view``'s ``later``), and who was
        #: here then: a newcomer's video goes out before the viewer's page has
        #: put it in its view (a round trip through a busy page).
        self._later: dict[str, tuple[int, frozenset[str]]] = {}
        self.active_speaker: str | None = None
        self._send_offer = send_offer
        self._speaker_changed = speaker_changed
        self._quality_changed = quality_changed
        self._quality_sent: dict[str, dict[str, Any]] = {}
        self._publish_layers = publish_layers
        self._tracks_changed = tracks_changed
        self._track_lists_due: set[str] = set()
        self._tasks = TaskGroup("room media")
        if quality_changed is not None:
            self._tasks.spawn(self._report_quality())

    # -- participants ---------------------------------------------------------------

    def add_subscriber(self, participant_id: str) -> SubscribeTransport:
        """Create the participant's subscribe transport and feed it every other producer."""
        existing = self.subscribers.get(participant_id)
        if existing is not None:
            return existing

        async def send_offer(revision: int, sdp: str, slots: list[SendSlot]) -> None:
            payload = {"revision": revision, "sdp": sdp, **self._track_list(transport, slots)}
            await self._send_offer(participant_id, payload)

        transport = self.router.create_subscribe_transport(
            send_offer, {"participant_id": participant_id}
        )
        self.subscribers[participant_id] = transport
        self._show_newcomer(participant_id)
        for producer in self.router.producers.values():
            if producer.app_data["participant_id"] != participant_id:
                self._consume(participant_id, transport, producer)
        return transport

    def _consume(self, viewer: str, transport: SubscribeTransport, producer: Producer) -> None:
        consumer = transport.consume(producer)
        self._prefer(viewer, transport, consumer)
        transport.set_hidden(consumer, not self._shows(viewer, producer))
        if consumer.slot.ready:
            # On a spare slot the client has answered for: the media goes
            # out now, and the client learns whose it is without an offer.
            self._send_track_list_soon(viewer)

    def _track_list(self, transport: SubscribeTransport, slots: list[SendSlot]) -> dict[str, Any]:
        """``tracks`` (what each offered slot carries) and its ``tracks_version``."""
        tracks = [self._describe(slot) for slot in slots if slot.consumer is not None]
        return {"tracks": tracks, "tracks_version": transport.next_track_list()}

    def _send_track_list_soon(self, viewer: str) -> None:
        if self._tracks_changed is None or viewer in self._track_lists_due:
            return
        self._track_lists_due.add(viewer)
        self._tasks.spawn(self._send_track_list(viewer))

    async def _send_track_list(self, viewer: str) -> None:
        assert self._tracks_changed is not None
        await asyncio.sleep(0)  # the other tracks of the same publish join this list
        self._track_lists_due.discard(viewer)
        transport = self.subscribers.get(viewer)
        if transport is None or transport.closed:
            return
        offered = transport.offered_slots
        payload = {"revision": transport.revision, **self._track_list(transport, offered)}
        await self._tracks_changed(viewer, payload)

    def _prefer(self, viewer: str, transport: SubscribeTransport, consumer: Consumer) -> None:
        """Tell the SFU how much one video matters to ``viewer`` and how big it shows."""
        if consumer.kind != "video":
            return
        owner = consumer.producer.app_data["participant_id"]
        screen = consumer.producer.app_data.get("source") == "screen"
        preferences = self.preferences.get(viewer, ViewPreferences())
        if owner in preferences.pinned:
            priority = 0
        elif owner == self.active_speaker:
            priority = 1
        else:
            priority = 2
        height = None if screen else preferences.sizes.get(owner)
        transport.set_preference(consumer, priority, height, screen)

    def _shows(self, viewer: str, producer: Producer) -> bool:
        owner = producer.app_data["participant_id"]
        if producer.kind == "audio":
            # People in one room hear each other through the air: forwarding
            # their audio to each other's devices would only make echo.
            zone = self.zones.get(viewer)
            return zone is None or self.zones.get(owner) != zone
        view = self.views.get(viewer)
        return view is None or owner in view

    def set_zone(self, participant_id: str, zone: str | None) -> None:
        """Place a participant in a physical room (None: remote). Audio between
        participants of one zone is never forwarded; video is unaffected."""
        if zone is None:
            self.zones.pop(participant_id, None)
        else:
            self.zones[participant_id] = zone
        for viewer, transport in self.subscribers.items():
            for consumer in transport.consumers.values():
                owner = consumer.producer.app_data["participant_id"]
                if participant_id in (viewer, owner):
                    transport.set_hidden(consumer, not self._shows(viewer, consumer.producer))

    def set_view(
        self,
        viewer: str,
        visible: set[str],
        preferences: ViewPreferences | None = None,
        later: int = 0,
    ) -> None:
        """Forward video to ``viewer`` only from ``visible`` participants (audio
        does not follow the page), each in the size its tile shows, pinned
        tiles first; and from the first ``later`` people who join from now on
        (the view has room for them: they will be in the next one)."""
        self.views[viewer] = visible
        self.preferences[viewer] = preferences or ViewPreferences()
        if later > 0:
            self._later[viewer] = (later, frozenset(self.subscribers) | frozenset(self.publishers))
        else:
            self._later.pop(viewer, None)
        transport = self.subscribers.get(viewer)
        if transport is None:
            return
        for consumer in transport.consumers.values():
            self._prefer(viewer, transport, consumer)
            transport.set_hidden(consumer, not self._shows(viewer, consumer.producer))

    def _show_newcomer(self, newcomer: str) -> None:
        """Put ``newcomer`` into the views that keep room for people who join
        later (before its consumers are made: they start unhidden)."""
        for viewer, (later, present) in list(self._later.items()):
            view = self.views.get(viewer)
            if viewer == newcomer or newcomer in present or view is None or newcomer in view:
                continue
            view.add(newcomer)
            if later > 1:
                self._later[viewer] = (later - 1, present)
            else:
                del self._later[viewer]

    @staticmethod
    def _describe(slot: SendSlot) -> dict[str, Any]:
        assert slot.consumer is not None
        producer = slot.consumer.producer
        return {
            "mid": slot.mid,
            "kind": slot.kind,
            "producer_id": producer.id,
            "participant_id": producer.app_data["participant_id"],
            "source": producer.app_data["source"],
        }

    async def publish(self, participant_id: str, sdp: str, sources: dict[str, str]) -> str:
        transport = self.publishers.get(participant_id)
        if transport is None:
            transport = self.router.create_publish_transport({"participant_id": participant_id})
            self.publishers[participant_id] = transport
            self._show_newcomer(participant_id)  # one who only sends (join.receive false)
        app_data = {mid: {"source": source} for mid, source in sources.items()}
        return await transport.negotiate(sdp, app_data)

    def sources_of(self, participant_id: str) -> set[str]:
        transport = self.publishers.get(participant_id)
        if transport is None:
            return set()
        return {p.app_data["source"] for p in transport.producers.values()}

    def set_paused(self, participant_id: str, source: str, paused: bool) -> None:
        """Stop (or restart) forwarding one source of a participant."""
        transport = self.publishers.get(participant_id)
        if transport is None:
            return
        for producer in transport.producers.values():
            if producer.app_data["source"] == source and producer.paused != paused:
                producer.paused = paused
                if not paused:
                    for consumer in producer.consumers:
                        consumer.resync()

    async def remove_participant(self, participant_id: str) -> None:
        """Close the participant's transports (its producers, and consumers of them)."""
        self.views.pop(participant_id, None)
        self._later.pop(participant_id, None)
        self.zones.pop(participant_id, None)
        self.preferences.pop(participant_id, None)
        self._quality_sent.pop(participant_id, None)
        for transports in (self.publishers, self.subscribers):
            transport = transports.pop(participant_id, None)
            if transport is not None:
                await self.router.close_transport(transport)

    # -- RouterObserver ---------------------------------------------------------------

    def producer_added(self, producer: Producer) -> None:
        owner = producer.app_data["participant_id"]
        relayed = "relayed_from" in producer.app_data
        if producer.dynacast is not None and self._publish_layers is not None and not relayed:
            # A relayed track's layers are the publishing node's to ask for
            # (its dynacast hears this node's wishes over the relay).
            producer.on_layers_changed(self._layers_changed)
        # A newcomer's receiving connection comes up first; the others'
        # offers with its tracks follow (SubscribeTransport.yield_to).
        newcomer = self.subscribers.get(owner)
        for participant_id, transport in self.subscribers.items():
            # A receive connection that closed under its participant (the
            # client closed it, or ICE consent expired) takes no new tracks:
            # adding them would fail this publish for a stranger's connection.
            if participant_id != owner and not transport.closed and not transport.connection_lost:
                if newcomer is not None:
                    transport.yield_to(newcomer)
                self._consume(participant_id, transport, producer)

    def _layers_changed(self, producer: Producer) -> None:
        """Tell the publisher which of its camera's layers to send now."""
        assert self._publish_layers is not None
        payload = {
            "mid": producer.mid,
            "source": producer.app_data.get("source"),
            "layers": producer.publishing_layers(),
        }
        timeline.step(producer.owner, f"publish_layers {payload['layers']}")
        self._tasks.spawn(self._publish_layers(producer.app_data["participant_id"], payload))

    def producer_closed(self, producer: Producer) -> None:
        for transport in list(self.subscribers.values()):
            if producer.id in transport.consumers and not transport.closed:
                self._tasks.spawn(transport.stop_consuming(producer.id))

    def active_speaker_changed(self, producer: Producer | None) -> None:
        if producer is not None:
            self.active_speaker = producer.app_data["participant_id"]
            for viewer, transport in self.subscribers.items():
                for consumer in transport.consumers.values():
                    self._prefer(viewer, transport, consumer)
            self._tasks.spawn(self._speaker_changed(producer.app_data["participant_id"]))

    # -- media quality ------------------------------------------------------------------

    def quality_of(self, participant_id: str, now: float) -> dict[str, Any] | None:
        """What ``media_quality`` tells a participant (see docs/protocol.md)."""
        transport = self.subscribers.get(participant_id)
        if transport is None:
            return None
        estimate = transport.estimate
        paused = sorted(
            {c.producer.app_data["participant_id"] for c in transport.bandwidth_paused()}
        )
        layers: dict[str, dict[str, Any]] = {}
        for consumer in transport.consumers.values():
            if consumer.kind != "video" or consumer.paused:
                continue
            if consumer.producer.app_data.get("source") != "camera":
                continue
            index = consumer.current_layer
            layer = consumer.producer.layers[index] if index is not None else None
            owner = consumer.producer.app_data["participant_id"]
            layers[owner] = {"height": layer.height if layer is not None else None}
        publisher = self.publishers.get(participant_id)
        rtt = estimate.rtt
        return {
            "estimate": round(estimate.estimate(now) / 50_000) * 50_000,
            "loss": round(estimate.loss, 2),
            "rtt": round(rtt, 2) if rtt is not None else None,
            "paused": paused,
            "layers": layers,
            "uplink": (
                {"loss": round(publisher.uplink_loss(), 2)} if publisher is not None else None
            ),
        }

    async def _report_quality(self) -> None:
        """Send each participant its ``media_quality`` whenever it changed."""
        assert self._quality_changed is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(QUALITY_INTERVAL_S)
            for participant_id in list(self.subscribers):
                payload = self.quality_of(participant_id, loop.time())
                if payload is None or payload == self._quality_sent.get(participant_id):
                    continue
                self._quality_sent[participant_id] = payload
                try:
                    await self._quality_changed(participant_id, payload)
                except Exception:
                    logger.exception("could not send media_quality")

    def stats(self) -> dict[str, int]:
        return self.router.stats()

    async def close(self) -> None:
        await self._tasks.cancel_all()
        await self.router.close()
        self.publishers.clear()
        self.subscribers.clear()
