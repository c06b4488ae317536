"""SubscribeTransport: the peer connection on which the server sends one participant
everything it should receive.

The server offers. Whenever the set of consumers changes, the transport
renegotiates: one negotiation at a time, each offer carrying a revision number
the answer must echo. A consumer starts when the answer that describes it has
been applied.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCSessionDescription

from . import aiortc_bridge as bridge
from .consumer import Consumer
from .errors import NegotiationError, TransportClosed
from .ice import add_remote_candidate
from .producer import Producer
from .sdp_check import check_media_lines
from .send_slot import SendSlot
from .settings import SfuSettings
from .stats import SfuStats
from .tasks import TaskGroup

logger = logging.getLogger(__name__)

#: Offers in a row that may fail before the transport waits for the next change.
NEGOTIATION_ATTEMPTS = 5

#: ``send_offer(revision, sdp, slots)``: deliver an offer to the client.
OfferSink = Callable[[int, str, list[SendSlot]], Awaitable[None]]


class SubscribeTransport:
    """Sends media to one participant. ``close()`` closes its consumers too."""

    def __init__(
        self,
        settings: SfuSettings,
        send_offer: OfferSink,
        stats: SfuStats,
        app_data: dict[str, Any] | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.app_data: dict[str, Any] = dict(app_data or {})
        self.closed = False
        self.consumers: dict[str, Consumer] = {}  # by producer id
        self.slots: list[SendSlot] = []
        self.pc = bridge.create_peer_connection(settings.ice_servers)
        self.revision = 0
        self._settings = settings
        self._stats = stats
        self._send_offer = send_offer
        self._dirty = False
        self._negotiator: asyncio.Task[None] | None = None
        self._answer: asyncio.Future[str] | None = None
        self._applied: asyncio.Future[None] | None = None
        self._tasks = TaskGroup(f"subscribe transport {self.id}")
        self._watched: set[int] = set()
        self._send_path: bridge.RtpSendPath | None = None
        self.negotiation_failures = 0

    @property
    def connection_state(self) -> str:
        state: str = self.pc.connectionState
        return state

    def consume(self, producer: Producer, app_data: dict[str, Any] | None = None) -> Consumer:
        """Start sending ``producer`` to this participant (after the next negotiation)."""
        if self.closed:
            raise TransportClosed("the subscribe transport is closed")
        existing = self.consumers.get(producer.id)
        if existing is not None:
            return existing
        slot = self._free_slot(producer.kind)
        consumer = Consumer(producer, slot, self._settings, app_data)
        self.consumers[producer.id] = consumer
        self._renegotiate()
        return consumer

    def set_hidden(self, consumer: Consumer, hidden: bool) -> None:
        """Pause (hidden) or resume one consumer without renegotiating."""
        consumer.hidden = hidden
        if hidden:
            consumer.pause()
        elif consumer.slot.ready:
            consumer.resume()

    async def stop_consuming(self, producer_id: str) -> None:
        """Stop sending one producer; its slot is kept for the next one of its kind."""
        consumer = self.consumers.pop(producer_id, None)
        if consumer is not None:
            await consumer.close()
            if not self.closed:
                self._renegotiate()

    def _free_slot(self, kind: str) -> SendSlot:
        for slot in self.slots:
            if slot.kind == kind and slot.consumer is None:
                return slot
        transceiver = bridge.add_send_transceiver(self.pc, kind)
        if self._send_path is None:
            # max-bundle: every slot goes out through the first transceiver's transport.
            self._send_path = bridge.RtpSendPath(bridge.dtls_transport_of(transceiver))
        slot = SendSlot(transceiver, self._stats, self._send_path)
        self.slots.append(slot)
        return slot

    # -- negotiation --------------------------------------------------------------

    def _renegotiate(self) -> None:
        self._dirty = True
        if self._negotiator is None or self._negotiator.done():
            self._negotiator = self._tasks.spawn(self._negotiate())

    async def _negotiate(self) -> None:
        failures = 0
        while self._dirty and not self.closed:
            self._dirty = False
            try:
                await self._negotiate_once()
                failures = 0
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
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        # Only slots that got a mid are in this offer: one added while the
        # offer was being made (someone joined meanwhile) waits for the next.
        offered = [s for s in self.slots if s.mid is not None]
        if len(offered) < len(self.slots):
            self._dirty = True
        for slot in offered:
            self._hook_slot(slot)
        self.revision += 1
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        self._applied = loop.create_future()
        await self._send_offer(self.revision, self.pc.localDescription.sdp, offered)
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

    def _hook_slot(self, slot: SendSlot) -> None:
        sender = slot.transceiver.sender

        def on_keyframe_request() -> None:
            if slot.consumer is not None:
                slot.consumer.request_keyframe()

        async def on_nack(sequence_number: int) -> None:
            self._stats.nacks_received += 1
            if slot.consumer is not None:
                slot.consumer.retransmit(sequence_number)

        bridge.hook_sender_feedback(sender, on_keyframe_request, on_nack)

    def _watch_connection(self) -> None:
        """Once the DTLS transport connects, restart video consumers from a keyframe."""
        transport = bridge.dtls_transport_of(self.slots[0].transceiver) if self.slots else None
        if transport is None or id(transport) in self._watched:
            return
        self._watched.add(id(transport))

        @transport.on("statechange")
        def on_state() -> None:
            if self._send_path is not None:
                self._send_path.reset()
            if transport.state == "connected":
                for consumer in self.consumers.values():
                    consumer.resync()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()
        await self._tasks.cancel_all()
        for consumer in list(self.consumers.values()):
            await consumer.close()
        self.consumers.clear()
        await self.pc.close()
