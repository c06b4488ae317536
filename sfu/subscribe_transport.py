"""SubscribeTransport: the peer connection on which the server sends one participant
everything it should receive.

The server offers. Whenever the set of consumers changes, the transport
renegotiates: one negotiation at a time, each offer carrying a revision number
the answer must echo. A consumer starts when the answer that describes it has
been applied. Every offer carries spare slots (``SfuSettings.spare_slots`` of
each kind): a new consumer takes one that is already answered for and starts
at once, and the next offer only brings a new spare (issue 21: the others see
a newcomer without waiting for their own answers).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiortc import RTCSessionDescription

from . import aiortc_bridge as bridge
from . import rtcp, timeline
from .allocation import Allocation, Allocator, LayerInfo, TrackDemand
from .announced_address import announce_address
from .bandwidth_estimate import DownlinkEstimate, LinkCapacity, ProvenRate
from .bandwidth_probe import BandwidthProbe
from .bitrate_meter import BitrateMeter
from .consumer import Consumer
from .errors import MediaPortsFull, NegotiationError, TransportClosed
from .ice import add_remote_candidate
from .port_range import shared_port_range
from .producer import Producer
from .sdp_check import check_media_lines
from .send_slot import SendSlot
from .settings import SfuSettings
from .speaker_selection import SpeakerSelection
from .stats import SfuStats
from .tasks import TaskGroup

logger = logging.getLogger(__name__)

#: Offers in a row that may fail before the transport waits for the next change.
NEGOTIATION_ATTEMPTS = 5
#: How long (s) a negotiation waits, at most, for a newcomer's receiving
#: connection to come up before offering the newcomer's tracks (``yield_to``).
ARRIVAL_PRIORITY_S = 1.0

#: ``send_offer(revision, sdp, slots)``: deliver an offer to the client.
OfferSink = Callable[[int, str, list[SendSlot]], Awaitable[None]]

#: The estimate of a subscriber nothing is known about yet (bit/s).
UNLIMITED = 100_000_000
#: What an estimate decays to when the browser stops sending REMB (bit/s).
STALE_ESTIMATE = 1_000_000
#: Bit/s set aside for each audio stream a subscriber receives, at least
#: (Opus with FEC), and the share above its measured rate (bursts, NACKs).
AUDIO_RESERVE = 24_000
AUDIO_HEADROOM = 1.1
#: On a link known to be full, the share of its delivered rate to spend.
CAPACITY_SHARE = 0.85
#: Retransmissions may take at most this share of the subscriber's estimate.
RETRANSMISSION_SHARE = 0.3


class SubscribeTransport:
    """Sends media to one participant. ``close()`` closes its consumers too."""

    def __init__(
        self,
        settings: SfuSettings,
        send_offer: OfferSink,
        stats: SfuStats,
        app_data: dict[str, Any] | None = None,
        speakers: SpeakerSelection[Producer] | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.app_data: dict[str, Any] = dict(app_data or {})
        self.closed = False
        self.consumers: dict[str, Consumer] = {}  # by producer id
        self.slots: list[SendSlot] = []
        self.pc = bridge.create_peer_connection(settings.ice_servers)
        self.revision = 0
        self._track_lists = 0
        self._settings = settings
        #: The room's speaker ranking (None: every audio is forwarded).
        self._speakers = speakers
        self._ports = shared_port_range(settings.rtc_ports) if settings.rtc_ports else None
        #: Why this transport gave up for good (no media port), or None.
        self.failure: MediaPortsFull | None = None
        self._stats = stats
        self._send_offer = send_offer
        self._dirty = False
        self._negotiator: asyncio.Task[None] | None = None
        self._answer: asyncio.Future[str] | None = None
        self._applied: asyncio.Future[None] | None = None
        self._tasks = TaskGroup(f"subscribe transport {self.id}")
        self._watched: set[int] = set()
        self._send_path: bridge.RtpSendPath | None = None
        self._next_reports = 0.0
        self.negotiation_failures = 0
        #: Resolved when this transport's connection is first up, or when it
        #: closes: what others' negotiations wait for (``yield_to``).
        self.first_connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        #: Newcomers' ``first_connected`` the next negotiation waits for.
        self._arrivals: set[asyncio.Future[None]] = set()
        #: Resolved once the first offer was handed to ``send_offer`` (or on close).
        self._first_offer_sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        #: What this subscriber's downlink takes (from its REMB and receiver
        #: reports). No limit until the first REMB: a browser sends one within
        #: a second, and a client that never does must not be starved.
        self.estimate = DownlinkEstimate(
            initial=UNLIMITED, ceiling=UNLIMITED, conservative=STALE_ESTIMATE
        )
        self.allocation: Allocation | None = None
        self._allocator = Allocator()
        self._capacity = LinkCapacity()
        # Two-second rates, one-second ones in the first seconds: a new
        # subscriber's video must not wait, paused, while its browser's first
        # REMBs are far too low.
        self._proven = ProvenRate()
        self._retransmitted = BitrateMeter()
        self.retransmissions_refused = 0
        #: While some video is paused for bandwidth or below what its tile could
        #: show, one step more is tried now and then (see sfu/bandwidth_probe.py):
        #: the browser's estimate only grows when more arrives.
        self.probe = BandwidthProbe()
        self._tasks.spawn(self._allocate_periodically())

    @property
    def _who(self) -> str:
        """Whose transport this is, for the timeline."""
        return str(self.app_data.get("participant_id", self.id))

    @property
    def connection_state(self) -> str:
        state: str = self.pc.connectionState
        return state

    @property
    def connection_lost(self) -> bool:
        """The peer connection shut itself down under us: aiortc does so once
        its DTLS transport closed (the client closed its side, or ICE consent
        expired). Nothing can be added to it or sent on it any more."""
        return not self.closed and self.pc.connectionState == "closed"

    def consume(self, producer: Producer, app_data: dict[str, Any] | None = None) -> Consumer:
        """Start sending ``producer`` to this participant (after the next negotiation)."""
        if self.closed or self.connection_lost:
            raise TransportClosed("the subscribe transport is closed")
        existing = self.consumers.get(producer.id)
        if existing is not None:
            return existing
        slot = self._free_slot(producer.kind)
        consumer = Consumer(producer, slot, self._settings, app_data)
        self.consumers[producer.id] = consumer
        if self._speakers is not None and consumer.kind == "audio":
            consumer.silenced = True  # until the ranking says otherwise
            self.select_audio(self._speakers.ranked())
        self._renegotiate()
        return consumer

    def set_hidden(self, consumer: Consumer, hidden: bool) -> None:
        """Pause (hidden) or resume one consumer without renegotiating."""
        if consumer.hidden != hidden and not hidden:
            self.probe_soon()
        consumer.hidden = hidden
        if hidden:
            consumer.pause()
        elif consumer.slot.ready:
            consumer.resume()
        if self._speakers is not None and consumer.kind == "audio":
            # One voice fewer (or more) this subscriber may hear: the next
            # in the ranking takes (or gives back) its place.
            self.select_audio(self._speakers.ranked())

    def select_audio(self, ranking: Sequence[Producer], dropped: Sequence[Producer] = ()) -> None:
        """Forward the audio of the first ``audio_forward_speakers`` producers
        of ``ranking`` this subscriber may hear (not hidden: its own zone),
        silence the rest of the ranking and the ``dropped`` ones. Producers
        never ranked stay silenced (their consumers start so)."""
        limit = self._settings.audio_forward_speakers
        chosen = 0
        for producer in ranking:
            consumer = self.consumers.get(producer.id)
            if consumer is None:
                continue  # its own voice
            if consumer.hidden or consumer.closed or chosen >= limit:
                consumer.set_silenced(True)
                continue
            chosen += 1
            consumer.set_silenced(False)
        for producer in dropped:
            consumer = self.consumers.get(producer.id)
            if consumer is not None:
                consumer.set_silenced(True)

    async def stop_consuming(self, producer_id: str) -> None:
        """Stop sending one producer; its slot is kept for the next one of its kind."""
        consumer = self.consumers.pop(producer_id, None)
        if consumer is not None:
            await consumer.close()
            if not self.closed:
                self._renegotiate()

    def _free_slot(self, kind: str) -> SendSlot:
        free = [s for s in self.slots if s.kind == kind and s.consumer is None]
        if free:
            return min(free, key=lambda s: not s.ready)  # an answered one starts at once
        return self._add_slot(kind)

    def _keep_spare_slots(self) -> None:
        """Give the next offer ``spare_slots`` free slots of each kind."""
        for kind in ("audio", "video"):
            free = sum(1 for s in self.slots if s.kind == kind and s.consumer is None)
            for _ in range(self._settings.spare_slots - free):
                self._add_slot(kind)

    def _add_slot(self, kind: str) -> SendSlot:
        transceiver = bridge.add_send_transceiver(self.pc, kind)
        bridge.take_sender_reports(transceiver.sender)  # send_sender_reports sends them
        if self._send_path is None:
            # max-bundle: every slot goes out through the first transceiver's transport.
            self._send_path = bridge.RtpSendPath(bridge.dtls_transport_of(transceiver))
        slot = SendSlot(transceiver, self._stats, self._send_path)
        self.slots.append(slot)
        return slot

    def next_track_list(self) -> int:
        """A number for a list of this transport's tracks sent now, with an
        offer or alone: the client keeps the list with the highest number
        (one sent alone may overtake the list of an offer it is answering)."""
        self._track_lists += 1
        return self._track_lists

    # -- negotiation --------------------------------------------------------------

    def _renegotiate(self) -> None:
        self._dirty = True
        if self._negotiator is None or self._negotiator.done():
            self._negotiator = self._tasks.spawn(self._negotiate())

    async def first_offer_sent(self, limit_s: float) -> None:
        """Wait, at most ``limit_s``, until the first offer is on its way to
        the client, if one is being made. The join acknowledgement waits for
        it, so the client gets the offer first and can answer it before it
        publishes (issue 21)."""
        if self._negotiator is None or self._negotiator.done() or self._first_offer_sent.done():
            return
        await asyncio.wait({self._first_offer_sent}, timeout=limit_s)

    @property
    def offered_slots(self) -> list[SendSlot]:
        """The slots some offer has carried (they have a mid)."""
        return [s for s in self.slots if s.mid is not None]

    @property
    def negotiating(self) -> bool:
        """An offer is being made or is out, or another one is due."""
        return self._dirty or not (self._negotiator is None or self._negotiator.done())

    @property
    def arriving(self) -> bool:
        """An offer is out and the connection has not yet come up."""
        return (
            self.revision >= 1
            and not self.first_connected.done()
            and self.failure is None
            and not self.closed
        )

    def yield_to(self, newcomer: SubscribeTransport) -> None:
        """Let the next negotiation wait until ``newcomer``'s connection is up,
        at most ``ARRIVAL_PRIORITY_S``.

        A newcomer's publish adds its tracks to everyone's subscription; the
        renegotiations that follow would take the server's loop exactly while
        the newcomer's own connection does its ICE and DTLS handshakes. They
        wait instead, and whatever else changes meanwhile goes into the same
        offer (issue 21: in the meeting in under a second). Only a transport
        whose connection is up waits, and only for one whose offer is out:
        arrivals never wait for each other.
        """
        if newcomer.arriving and self.first_connected.done() and not self.closed:
            self._arrivals.add(newcomer.first_connected)

    async def _let_arrivals_connect(self) -> None:
        arrivals = {a for a in self._arrivals if not a.done()}
        self._arrivals.clear()
        if arrivals:
            timeline.step(self._who, "subscriber: offer waits for a newcomer")
            await asyncio.wait(arrivals, timeout=ARRIVAL_PRIORITY_S)

    async def _negotiate(self) -> None:
        failures = 0
        while self._dirty and not self.closed and self.failure is None:
            await self._let_arrivals_connect()
            if self.closed:
                return
            self._dirty = False
            try:
                await self._negotiate_once()
                failures = 0
            except MediaPortsFull as exc:
                # aiortc gathers once per peer connection: offering again
                # would offer no candidates. The participant is told at the
                # join when the range is full; this is the rare race after it.
                self.failure = exc
                self.negotiation_failures += 1
                self._stats.negotiation_failures += 1
                logger.warning("subscriber transport %s gave up: %s", self.id, exc.message)
                return
            except Exception as exc:  # one failed negotiation must not end the loop
                if not isinstance(exc, (TimeoutError, NegotiationError)):
                    logger.exception("subscriber negotiation crashed")
                self.negotiation_failures += 1
                self._stats.negotiation_failures += 1
                self._answer = self._applied = None
                failures += 1
                logger.warning("subscriber negotiation failed (%d): %s", failures, exc)
                if failures >= NEGOTIATION_ATTEMPTS:
                    return  # the next change of consumers starts again
                # The answer was lost or late: offer again (a fresh revision),
                # so consumers waiting for this negotiation do not wait forever.
                await asyncio.sleep(min(8.0, 0.5 * 2**failures))
                self._dirty = True

    async def _negotiate_once(self) -> None:
        timeline.step(self._who, "subscriber: making an offer")
        self._keep_spare_slots()
        offer = await bridge.create_offer(self.pc)
        await bridge.set_local_offer(self.pc, offer, self._ports)
        timeline.step(self._who, "subscriber: offer made")
        # Only slots that got a mid are in this offer: one added while the
        # offer was being made (someone joined meanwhile) waits for the next.
        offered = self.offered_slots
        if len(offered) < len(self.slots):
            self._dirty = True
        self.revision += 1
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        self._applied = loop.create_future()
        offer_sdp = self.pc.localDescription.sdp
        if self._settings.announced_address is not None:
            offer_sdp = announce_address(offer_sdp, self._settings.announced_address)
        await self._send_offer(self.revision, offer_sdp, offered)
        timeline.step(self._who, f"subscriber: offer {self.revision} sent")
        if not self._first_offer_sent.done():
            self._first_offer_sent.set_result(None)
        answer_sdp = await asyncio.wait_for(
            self._answer, timeout=self._settings.negotiation_timeout_s
        )
        self._answer = None
        applied, self._applied = self._applied, None
        assert applied is not None
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except Exception as exc:  # malformed answer: many exception types
            error = NegotiationError(f"the answer was refused: {exc}", code="invalid_sdp")
            applied.set_exception(error)
            raise error from exc
        applied.set_result(None)
        timeline.step(self._who, f"subscriber: answer {self.revision} applied")
        self._watch_connection()
        for slot in offered:
            slot.configure()
            if slot.consumer is not None and slot.consumer.paused:
                slot.consumer.resume()

    async def accept_answer(self, revision: int, sdp: str) -> None:
        """Apply the client's answer to offer ``revision``; raises if it is refused."""
        if self.closed:
            raise TransportClosed("the subscribe transport is closed")
        if self._answer is None or self._answer.done() or revision != self.revision:
            raise NegotiationError(
                f"no offer with revision {revision} is waiting for an answer",
                code="stale_answer",
            )
        check_media_lines(sdp, require_media=False)
        timeline.step(self._who, f"subscriber: answer {revision} received")
        applied = self._applied
        self._answer.set_result(sdp)
        if applied is not None:
            await asyncio.shield(applied)

    async def add_ice_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """Add a candidate the client trickled after its answer."""
        if self.closed:
            raise TransportClosed("the subscribe transport is closed")
        await add_remote_candidate(self.pc, candidate, sdp_mid, sdp_mline_index)

    def _watch_connection(self) -> None:
        """Once the DTLS transport connects, restart video consumers from a keyframe."""
        transport = bridge.dtls_transport_of(self.slots[0].transceiver) if self.slots else None
        if transport is None or id(transport) in self._watched:
            return
        self._watched.add(id(transport))
        bridge.take_incoming_rtcp(transport, self._on_rtcp)
        if timeline.enabled():  # the ICE steps of a join, for scripts/bench_join.py
            ice = transport.transport

            @ice.on("statechange")
            def on_ice_state() -> None:
                timeline.step(self._who, f"subscriber: ICE {ice.state}")

        @transport.on("statechange")
        def on_state() -> None:
            if self._send_path is not None:
                self._send_path.reset()
            timeline.step(self._who, f"subscriber: DTLS {transport.state}")
            if transport.state in ("connected", "failed") and not self.first_connected.done():
                # Failed: nobody should wait for it any longer either.
                self.first_connected.set_result(None)
            if transport.state == "connected":
                for consumer in self.consumers.values():
                    consumer.resync()

    # -- bandwidth ------------------------------------------------------------------

    def _on_rtcp(self, data: bytes) -> None:
        """Act on the subscriber's feedback: the only RTCP path of this
        transport (aiortc never sees it). PLI/FIR ask the slot's consumer for
        a keyframe, NACK for a resend; REMB, receiver reports' loss and the
        round trip measured from their LSR/DLSR feed the estimate. Other
        types (SDES, BYE, transport-cc, which browsers send to the SFU only
        when offered) are skipped without being built."""
        now = time.monotonic()
        by_ssrc: dict[int, SendSlot] | None = None
        for feedback in rtcp.parse_feedback(data):
            kind = feedback.kind
            if kind == "remb":
                self.estimate.on_remb(feedback.bitrate, now, feedback.ssrcs)
                continue
            if kind == "transport_cc":
                continue
            if by_ssrc is None:
                by_ssrc = {slot.ssrc: slot for slot in self.slots}
            if kind in ("rr", "sr"):
                for block in feedback.reports:
                    slot = by_ssrc.get(block.ssrc)
                    if slot is None:
                        continue
                    if slot.kind == "video":
                        self.estimate.on_loss(block.fraction_lost, now)
                    rtt = slot.round_trip(block.lsr, block.dlsr)
                    if rtt is not None:
                        self.estimate.on_rtt(rtt)
            elif kind == "nack":
                slot = by_ssrc.get(feedback.media_ssrc)
                if slot is not None:
                    for sequence_number in feedback.lost:
                        self._on_nack(slot, sequence_number, now)
            elif kind in ("pli", "fir"):
                ssrcs = feedback.ssrcs if kind == "fir" else (feedback.media_ssrc,)
                for ssrc in ssrcs:
                    slot = by_ssrc.get(ssrc)
                    if slot is not None and slot.consumer is not None:
                        slot.consumer.request_keyframe()

    def send_sender_reports(self, now: float) -> None:
        """Send the slots' RTCP sender reports when due (every 0.5-1.5 s,
        RFC 3550's randomised interval): one compound packet per 40 slots
        that have sent something, with the CNAME. Called from the router's
        housekeeping, so a room has one ticker for all of them instead of a
        timer per sender."""
        if now < self._next_reports or self._send_path is None:
            return
        self._next_reports = now + 0.5 + random.random()
        reports = [slot.sender_report() for slot in self.slots if slot.packets_sent]
        if not reports:
            return
        first = self.slots[0]
        sdes = rtcp.sdes_cname(first.ssrc, bridge.sender_cname(first.transceiver.sender))
        step = rtcp.MAX_SENDER_REPORTS
        for start in range(0, len(reports), step):
            self._send_path.send_rtcp(b"".join(reports[start : start + step]) + sdes)

    def _on_nack(self, slot: SendSlot, sequence_number: int, now: float) -> None:
        self._stats.nacks_received += 1
        if slot.consumer is None:
            return
        allowed = RETRANSMISSION_SHARE * self.estimate.estimate(now)
        if self._retransmitted.bitrate(now) > allowed:
            # The link is full: resending into it only deepens the loss.
            self.retransmissions_refused += 1
            self._stats.retransmissions_refused += 1
            return
        sent = slot.consumer.retransmit(sequence_number)
        if sent:
            self._retransmitted.add(sent, now)

    def set_preference(
        self, consumer: Consumer, priority: int, tile_height: int | None, screen: bool = False
    ) -> None:
        """How much ``consumer`` matters to this subscriber (0 pinned/spotlit,
        1 active speaker, 2 visible) and how tall its tile is (device px)."""
        grew = (priority == 0 < consumer.priority) or (
            tile_height is not None and tile_height > (consumer.tile_height or 0)
        )
        consumer.priority, consumer.tile_height, consumer.screen = priority, tile_height, screen
        if grew:
            self.probe_soon()  # a pin or a bigger tile (not the speaker moving)

    def probe_soon(self) -> None:
        """The view changed (a pin, bigger tiles, another page): try what it
        wants at the next allocation instead of waiting for the next probe."""
        self.probe.soon()

    async def _allocate_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._settings.allocation_interval_s)
            try:
                self.allocate(time.monotonic())
            except Exception:
                logger.exception("layer allocation failed")

    def allocate(self, now: float) -> Allocation:
        """Choose each video consumer's layer within this subscriber's estimate."""
        demands: list[TrackDemand] = []
        reserve = 0
        audible = silenced = 0
        for consumer in self.consumers.values():
            if consumer.closed or consumer.hidden:
                continue
            if consumer.kind == "audio":
                if consumer.silenced:
                    silenced += 1  # not a speaker this subscriber gets now
                    continue
                # What it really takes: a fixed guess starved video on thin
                # links (two Opus streams are ~60 kbit/s, not 80).
                measured = consumer.producer.layers[0].meter.bitrate(now) * AUDIO_HEADROOM
                reserve += max(AUDIO_RESERVE, int(measured))
                audible += 1
                continue
            current = consumer.current_layer
            producer = consumer.producer
            layers = tuple(
                LayerInfo(
                    layer.index,
                    layer.meter.bitrate(now) if layer.index == current
                    else producer.candidate_bitrate(layer, current, now),
                    layer.width, layer.height,
                )
                for layer in producer.layers
            )  # fmt: skip
            if not any(layer.bitrate for layer in layers):
                continue  # nothing arrives from the publisher: nothing to decide
            demands.append(
                TrackDemand(consumer.id, layers, consumer.priority, consumer.tile_height,
                            consumer.screen)
            )  # fmt: skip
        if silenced:
            # Room for the speakers that may start at any moment (speaker
            # selection), not for every silent microphone in the room.
            free = min(self._settings.audio_forward_speakers, audible + silenced) - audible
            reserve += AUDIO_RESERVE * max(0, free)
        # The REMB measures the video only (only video carries abs-send-time):
        # the audio's reserve comes on top of it, as on top of the proven video.
        estimate = self.estimate.estimate(now, uncovered=reserve)
        sent = sum(slot.octets_sent for slot in self.slots)
        loss = self.estimate.loss if self.estimate.reported else None
        capacity = self._capacity.update(sent, loss, now)
        if capacity is not None:
            # A full link: spend a little under what it delivered, however
            # far the loss-based cut has fallen meanwhile.
            estimate = max(estimate, int(CAPACITY_SHARE * capacity))
        video_sent = sum(slot.octets_sent for slot in self.slots if slot.kind == "video")
        proven = self._proven.update(video_sent, loss, now)
        if proven is not None:
            # What the link carried cleanly a moment ago, however low the REMB.
            estimate = max(estimate, reserve + proven)
        budget = estimate - self._retransmitted.bitrate(now)
        previous = self.allocation
        wanting = previous is not None and (bool(previous.paused) or previous.deficient)

        def one_step() -> int | None:
            step = self._allocator.resume_budget(reserve, demands)
            return step if step is not None else self._allocator.upgrade_budget(reserve, demands)

        probing = self.probe.budget(now, estimate, self.estimate.loss, wanting, one_step)
        if probing is not None:
            budget = max(budget, probing)
        # The first low estimates pause nothing for a while (issue 17).
        if not self.estimate.start.over:  # no pass over the demands after it
            keep = self._allocator.keep_budget(reserve, demands)
            budget = self.estimate.held_budget(now, budget, keep, uncovered=reserve)
        allocation = self._allocator.update(max(0, budget), reserve, demands)
        self.allocation = allocation
        self._apply(allocation)
        return allocation

    def _apply(self, allocation: Allocation) -> None:
        """Set targets and bandwidth pauses."""
        by_id = {c.id: c for c in self.consumers.values()}
        for key, layer in allocation.layers.items():
            consumer = by_id.get(key)
            if consumer is None:
                continue
            if layer is None:
                if not consumer.bandwidth_paused:
                    consumer.bandwidth_paused = True
                    consumer.pause()
                continue
            consumer.set_target_layer(layer)
            if consumer.bandwidth_paused:
                consumer.bandwidth_paused = False
                if consumer.slot.ready:
                    # Not from the cache: the keyframe and up to 1.5 s after
                    # it, at once, overflow the thin link that paused it (the
                    # loss fails the probe, and video stayed off for good).
                    consumer.resume(replay=False)

    def bandwidth_paused(self) -> list[Consumer]:
        """Consumers whose video is paused because the downlink cannot take it."""
        return [c for c in self.consumers.values() if c.bandwidth_paused and not c.closed]

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()
        for waited in (self.first_connected, self._first_offer_sent):
            if not waited.done():
                waited.set_result(None)  # nobody waits for a closed transport
        await self._tasks.cancel_all()
        for consumer in list(self.consumers.values()):
            await consumer.close()
        self.consumers.clear()
        await self.pc.close()
