"""Consumer: one outgoing copy of one producer's track, to one subscriber."""

from __future__ import annotations

import time
import uuid
from typing import Any

from . import native_send, rtp, timeline
from .producer import Producer
from .send_slot import SendSlot
from .settings import SfuSettings

#: How old a cached keyframe may be for a consumer whose connection just came
#: up to start from it, and how many packets (the keyframe and what followed)
#: it may send at once for that; otherwise it asks for a new keyframe.
REPLAY_MAX_AGE_S = 1.5
REPLAY_MAX_PACKETS = 200


class Consumer(native_send.ConsumerBase):
    """Moves packets of one layer of ``producer`` into ``slot``.

    Starts paused. A video consumer that (re)starts waits for a keyframe and
    asks for one, so the subscriber never gets frames it cannot decode. Of a
    simulcast producer it forwards exactly one layer (``current_layer``); when
    the subscriber's budget or tile asks for another (``set_target_layer``),
    it keeps forwarding the current one until a keyframe of the target
    arrives, and switches there, so the subscriber sees one continuous stream.
    An upgrade decided before the first picture does not hold that picture
    back: the lower layer asked for first still starts the stream if its
    keyframe comes (or is cached) first, and the switch up follows.

    ``paused``, ``current_layer``, ``packets_sent`` and ``slot`` are fields
    of :data:`sfu.native_send.ConsumerBase`: the compiled fan-out
    (``Producer.receive``) does :meth:`send` in C where it can.
    """

    #: A subscriber gets a talker's audio only while speaker selection ranks
    #: it (:class:`sfu.producer_layer.Downstream`).
    takes_every_packet = False

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
        #: Kept paused because the subscriber's connection cannot take even the lowest layer.
        self.bandwidth_paused = False
        #: Kept paused (audio) because its producer is not among the speakers
        #: this subscriber gets now (:mod:`sfu.speaker_selection`).
        self.silenced = False
        self.closed = False
        self.packets_sent = 0
        self.retransmissions = 0
        self.layer_switches = 0
        #: Times it started from a cached keyframe instead of asking for one (resync).
        self.replays = 0
        #: Set by the subscriber's transport (see SubscribeTransport.set_preference).
        self.priority = 2
        self.tile_height: int | None = None
        self.screen = False
        self._settings = settings
        #: The layer forwarded now; None while waiting for a (key)frame to start on.
        self.current_layer: int | None = None
        #: The layer the subscriber should get; starts at the lowest (the
        #: allocator raises it within its first round).
        self.target_layer = 0
        #: While nothing is forwarded: a layer below the target that was asked
        #: for first, whose keyframe may start the stream (then the switch up
        #: follows). When the allocator raises the target before a slow
        #: publisher's first keyframe came, the keyframe of the layer asked
        #: for on creation may come (or be cached) first.
        self._start_layer: int | None = None
        #: First outgoing sequence number of the current layer's run: NACKs for
        #: packets before it concern another layer and are not answered.
        self._run_start = 0
        self._last_keyframe_ask = 0.0
        slot.consumer = self
        producer.add_consumer(self)
        producer.layers[0].attach(self)
        if self.kind == "video" and not slot.connected:
            # A new subscriber: its keyframe is asked for now, while its
            # connection is being set up, and waits in the producer's cache
            # (resync replays it): the picture is there the moment it connects.
            producer.request_keyframe(self.target_layer)

    def __repr__(self) -> str:
        return f"Consumer({self.kind}, mid={self.slot.mid}, producer={self.producer.id[:8]})"

    def send(self, view: rtp.RtpView, layer: int) -> None:
        """Forward one packet of ``layer`` of the producer (hot path)."""
        if self.paused:
            return
        if layer != self.current_layer:
            if layer != self.target_layer and layer != self._start_layer:
                return  # the old layer after a switch, until it is detached
            if self.kind == "video" and not view.keyframe:
                # Waiting to start or to switch: a lost (or ignored) request
                # must not leave it waiting for good.
                if layer == self.target_layer:
                    self._ask_keyframe_again()
                return
            self._switch(layer, view)
        if self.slot.write(view):
            self.packets_sent += 1
        else:
            self._unsent()

    def _unsent(self) -> None:
        if not self.slot.connected:
            # Not connected yet (or any more): start again cleanly when it is.
            self.current_layer = None
        # Else the socket could not take it: lost with its number kept
        # (SendSlot.write), the subscriber NACKs it; the stream goes on.

    def _send_failed(self, seq: int, ts: int) -> None:
        """The compiled fan-out's send of the packet numbered ``seq`` and
        ``ts`` did not go out: what :meth:`send` does then."""
        self.slot.account(0, seq, ts)
        self._unsent()

    def skip(self, view: rtp.RtpView, layer: int) -> None:
        """A packet of ``layer`` that goes to nobody (padding, a bandwidth
        probe): where it is forwarded the packets after it move down a
        number, so the subscriber sees no gap to NACK."""
        if not self.paused and layer == self.current_layer:
            self._skip(view)

    def _skip(self, view: rtp.RtpView) -> None:
        if self.slot.skip(view):
            # Numbers sent before now map to other packets: not answered.
            self._run_start = self.slot.next_sequence_number

    def _switch(self, layer: int, view: rtp.RtpView, behind: int = 0) -> None:
        previous = self.current_layer
        if previous is not None and previous != layer:
            self.producer.layers[previous].detach(self)
            self.layer_switches += 1
        start, self._start_layer = self._start_layer, None
        if start is not None and start != layer:  # started on the target itself
            self.producer.layers[start].detach(self)
        self.current_layer = layer
        self.slot.rebase(view, behind)
        self._run_start = self.slot.next_sequence_number
        if previous is None and self.kind == "video":  # a start, not a switch
            timeline.step(self.producer.owner, f"video: a subscriber starts on layer {layer}")

    def _ask_keyframe_again(self) -> None:
        now = time.monotonic()
        if now - self._last_keyframe_ask > self._settings.keyframe_retry_s:
            self._last_keyframe_ask = now
            self.producer.request_keyframe(self.target_layer)

    def set_target_layer(self, layer: int) -> None:
        """Forward ``layer`` from its next keyframe on (simulcast)."""
        layer = max(0, min(layer, len(self.producer.layers) - 1))
        if layer == self.target_layer or self.closed:
            return
        old, old_start = self.target_layer, self._start_layer
        self.target_layer = layer
        if self.current_layer is None:
            # Not started: the lowest layer asked for below the new target
            # may still start the stream.
            below = [x for x in (old_start, old) if x is not None and x < layer]
            self._start_layer = min(below) if below else None
        keep = (layer, self.current_layer, self._start_layer)
        for gone in (old, old_start):
            if gone is not None and gone not in keep:
                self.producer.layers[gone].detach(self)
        self.producer.layers[layer].attach(self)
        if layer != self.current_layer and not self.paused:
            self._last_keyframe_ask = time.monotonic()
            self.producer.request_keyframe(layer)

    def retransmit(self, out_sequence_number: int) -> int:
        """Answer a subscriber's NACK from the producer's packet cache; returns bytes sent."""
        if self.closed or self.slot.consumer is not self or self.current_layer is None:
            return 0
        if (out_sequence_number - self._run_start) & 0xFFFF >= 0x8000:
            return 0  # sent from another layer before the last switch
        original = self.slot.original_sequence(out_sequence_number)
        view = self.producer.cached(self.current_layer, original)
        if view is None:
            return 0
        if not view.ntp:
            view.stamp()  # cached while nobody took this layer (Producer.receive)
        if self.slot.write(view, retransmission=True):
            self.retransmissions += 1
            return len(view.data)
        return 0

    def request_keyframe(self) -> None:
        """A subscriber lost a picture (PLI/FIR): ask the publisher, throttled per layer."""
        if not self.closed:
            layer = self.current_layer if self.current_layer is not None else self.target_layer
            self.producer.request_keyframe(layer)

    def wanted_layers(self) -> tuple[int, ...]:
        """The layers it forwards or waits for: none while hidden or paused
        for bandwidth (the publisher may stop encoding them, sfu.dynacast)."""
        if self.closed or self.hidden or self.bandwidth_paused or self.kind != "video":
            return ()
        current = self.current_layer
        if current is None:
            start = self._start_layer
            return (self.target_layer,) if start is None else (start, self.target_layer)
        if current == self.target_layer:
            return (self.target_layer,)
        return (current, self.target_layer)

    def resume(self, replay: bool = True) -> None:
        """Forward again from a keyframe: the latest one from the cache if
        ``replay`` and it is recent (see :meth:`resync`), else a new one."""
        if self.closed or not self.paused or self.hidden or self.bandwidth_paused or self.silenced:
            return
        self.paused = False
        self._restart()
        # Before the transport connects a keyframe would be lost, and the
        # throttle would then delay the request made on connect (resync).
        # A recent keyframe in the cache (e.g. the first of a newcomer's
        # stream) needs no request at all.
        if self.slot.connected and not (replay and self._replay_latest_keyframe()):
            self.producer.request_keyframe(self.target_layer)

    def pause(self) -> None:
        self.paused = True

    def set_silenced(self, silenced: bool) -> None:
        """Stop (or start again) forwarding audio because of speaker
        selection. Starting again is a resume: the slot is rebased on the
        next packet, so the subscriber sees the gap as a pause in the
        stream (sequence numbers go on, the timestamp moves by the time
        that passed, as after Opus DTX), never as loss to NACK."""
        if silenced == self.silenced:
            return
        self.silenced = silenced
        if silenced:
            self.pause()
        elif self.slot.ready:
            self.resume()

    def resync(self) -> None:
        """Start over from a keyframe (e.g. after the transport connected): the
        latest one if it is recent and cached with all that followed it, else
        the next one, asked for."""
        if not self.paused and not self.closed:
            self._restart()
            if not self._replay_latest_keyframe():
                self.producer.request_keyframe(self.target_layer)

    def _replay_latest_keyframe(self) -> bool:
        """Start from the latest cached keyframe of the target layer or else
        of the layer it may start on (then the target's keyframe is still
        asked for, for the switch up). False if neither could start it."""
        if self._replay_from(self.target_layer):
            return True
        start = self._start_layer
        if start is None or not self._replay_from(start):
            return False
        self.producer.request_keyframe(self.target_layer)
        return True

    def _replay_from(self, index: int) -> bool:
        """Send ``index``'s latest keyframe and every packet after it from the
        producer's cache, if the keyframe is at most ``REPLAY_MAX_AGE_S`` old
        and all of it is still there."""
        if self.kind != "video" or self.producer.paused:
            return False  # nothing of a paused source goes out, not even from the cache
        layer = self.producer.layers[index]
        start, stream = layer.keyframe_sequence, layer.stream
        if start is None or stream is None:
            return False
        newest = stream.highest_sequence & 0xFFFF
        if time.monotonic() - layer.keyframe_at > REPLAY_MAX_AGE_S:
            return False
        count = ((newest - start) & 0xFFFF) + 1
        if count > min(REPLAY_MAX_PACKETS, len(layer.cache)):
            return False
        views: list[rtp.RtpView] = []
        for i in range(count):
            view = layer.cache.get((start + i) & 0xFFFF)
            if view is None:
                return False  # a gap: the picture would not decode
            views.append(view)
        if not views[0].keyframe:
            return False
        # The newest cached packet is now; the keyframe as long before it as
        # it was taken (SendSlot.rebase).
        behind = (views[-1].timestamp - views[0].timestamp) & 0xFFFFFFFF
        start_layer = self._start_layer
        self._switch(index, views[0], behind if behind < 0x80000000 else 0)
        for view in views:
            if view.padding_only:
                self._skip(view)  # a probe: no number for it
                continue
            if not view.ntp:
                view.stamp()  # cached while nobody took this layer
            if self.slot.write(view):
                self.packets_sent += 1
            elif not self.slot.connected:
                self.current_layer = None
                if index != self.target_layer:
                    self._start_layer = start_layer  # still attached: it may start later
                return False
        self.replays += 1
        timeline.step(self.producer.owner, "video: that start came from the cache")
        return True

    def _restart(self) -> None:
        previous = self.current_layer
        if previous is not None and previous != self.target_layer:
            self.producer.layers[previous].detach(self)
        self.current_layer = None
        self._last_keyframe_ask = time.monotonic()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.paused = True
        for layer in self.producer.layers:
            layer.detach(self)
        self.producer.remove_consumer(self)
        if self.slot.consumer is self:
            self.slot.consumer = None


native_send.register_consumer_type(Consumer)
