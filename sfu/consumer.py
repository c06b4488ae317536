"""Consumer: one outgoing copy of one producer's track, to one subscriber."""

from __future__ import annotations

import time
import uuid
from typing import Any

from . import rtp
from .producer import Producer
from .send_slot import SendSlot
from .settings import SfuSettings


class Consumer:
    """Moves packets of ``producer`` into ``slot``.

    Starts paused. A video consumer that (re)starts waits for a keyframe and
    asks for one, so the subscriber never gets frames it cannot decode.
    """

    def __init__(
        self,
        producer: Producer,
        slot: SendSlot,
        settings: SfuSettings,
        app_data: dict[str, Any] | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.producer = producer
        self.slot = slot
        self.kind = producer.kind
        self.app_data: dict[str, Any] = dict(app_data or {})
        self.paused = True
        #: Kept paused by the subscriber's view (e.g. its tile is on another page).
        self.hidden = False
        self.closed = False
        self.packets_sent = 0
        self.retransmissions = 0
        self._settings = settings
        self._needs_sync = True
        self._last_keyframe_ask = 0.0
        slot.consumer = self
        producer.add_consumer(self)

    def __repr__(self) -> str:
        return f"Consumer({self.kind}, mid={self.slot.mid}, producer={self.producer.id[:8]})"

    def send(self, view: rtp.RtpView) -> None:
        """Forward one packet of the producer (hot path)."""
        if self.paused:
            return
        slot = self.slot
        if self._needs_sync:
            if self.kind == "video" and not view.keyframe:
                now = time.monotonic()
                if now - self._last_keyframe_ask > self._settings.keyframe_retry_s:
                    self._last_keyframe_ask = now
                    self.producer.request_keyframe()
                return
            slot.rebase(view)
            self._needs_sync = False
        if slot.write(view):
            self.packets_sent += 1
        else:
            # Not connected yet (or any more): start again cleanly when it is.
            self._needs_sync = True

    def retransmit(self, out_sequence_number: int) -> None:
        """Answer a subscriber's NACK from the producer's packet cache."""
        if self.closed or self.slot.consumer is not self:
            return
        view = self.producer.cached(self.slot.original_sequence(out_sequence_number))
        if view is not None and self.slot.write(view, retransmission=True):
            self.retransmissions += 1

    def request_keyframe(self) -> None:
        """A subscriber lost a picture (PLI/FIR): ask the publisher, throttled."""
        if not self.closed:
            self.producer.request_keyframe()

    def resume(self) -> None:
        if self.closed or not self.paused or self.hidden:
            return
        self.paused = False
        self._needs_sync = True
        self._last_keyframe_ask = time.monotonic()
        # Before the transport connects a keyframe would be lost, and the
        # throttle would then delay the request made on connect (resync).
        if self.slot.connected:
            self.producer.request_keyframe()

    def pause(self) -> None:
        self.paused = True

    def resync(self) -> None:
        """Start over from the next keyframe (e.g. after the transport connected)."""
        if not self.paused and not self.closed:
            self._needs_sync = True
            self._last_keyframe_ask = time.monotonic()
            self.producer.request_keyframe()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.paused = True
        self.producer.remove_consumer(self)
        if self.slot.consumer is self:
            self.slot.consumer = None
