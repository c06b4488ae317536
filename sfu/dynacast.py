"""Dynacast: a publisher stops encoding the simulcast layers nobody takes.

A browser that publishes three camera layers encodes and sends all three,
and the SFU receives and decrypts all three, although each subscriber gets
only one (:mod:`sfu.allocation`). LiveKit's dynacast keeps every layer up
to the highest one any subscriber wants; in a meeting where everybody takes
the top layer that saves nothing, so here a layer *below* a wanted one is
paused too. The rules, per simulcast producer:

* The lowest layer is never paused: a subscriber that joins, or whose link
  shrinks, must always find a picture that needs no round trip to the
  publisher.
* A layer is *wanted* while a consumer forwards it or waits to switch to it
  (not a hidden or bandwidth-paused consumer), or the recorder takes it.
* A layer unwanted for ``PAUSE_AFTER_S`` is paused (the publisher is told
  to stop encoding it), but never in a producer's first ``GRACE_S``: the
  subscribers' first allocations move layers around.
* A wanted paused layer resumes at once; a keyframe request for a paused
  layer resumes it too.
* The allocator sees a paused layer at the rate it last arrived at
  (:meth:`Dynacast.candidate_bitrate`), but only above the layer a consumer
  forwards now: a step up may wait for a resume, a step down never does.
  A layer that never arrived is never offered (asking for it would only
  make the allocator wait for nothing) and never paused: pausing what is not
  sent saves nothing, and a browser that did not make it yet (Chrome sends
  two layers of a 640x360 camera, and a busy or freshly started one may
  send only the lowest for a while) must stay free to start it later. The
  moment it arrives it is an ordinary layer. (It used to be paused after the
  grace like any unwanted layer, and a camera whose upper layers were late
  then stayed at its lowest for good.)
* A resume that brings no packets within ``RESUME_TIMEOUT_S`` failed (the
  client ignores the request, or its own estimate keeps the layer off): the
  layer is not offered again for ``BACKOFF_S``, doubling up to
  ``MAX_BACKOFF_S``.

Pure decisions with the clock passed in; :class:`sfu.producer.Producer`
gathers what is wanted and tells the publisher.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

#: How long a layer must be unwanted before the publisher is told to stop it:
#: the allocator moves layers on every estimate change, and each resume costs
#: a keyframe on that layer.
PAUSE_AFTER_S = 5.0
#: Nothing is paused in a producer's first seconds: subscribers' first
#: allocations start low and climb.
GRACE_S = 10.0
#: A resumed layer that has not arrived after this long did not resume.
RESUME_TIMEOUT_S = 3.0
#: How long a layer whose resume failed is not offered to the allocator,
#: doubled after each further failure up to ``MAX_BACKOFF_S``.
BACKOFF_S = 10.0
MAX_BACKOFF_S = 60.0
#: For this long after a resume the allocator keeps seeing the paused rate:
#: a (re)starting layer's measured rate counts only after
#: :data:`sfu.producer_layer.STABLE_AFTER_S`, and a layer asked back must not
#: look dead meanwhile.
RESUMED_GRACE_S = 3.0


@dataclass
class _LayerState:
    publishing: bool = True
    """The publisher was last told to send this layer."""
    unwanted_since: float | None = None
    resumed_at: float | None = None
    """When a resume was asked for; cleared once the layer arrives again."""
    arrived_at: float | None = None
    """When a resumed layer's packets came back."""
    rate: int = 0
    """Its bitrate (bit/s) when it last arrived; 0 if it never did."""
    offer_after: float = 0.0
    """A failed resume: not offered to the allocator before this."""
    backoff: float = BACKOFF_S


class Dynacast:
    """Which layers of one simulcast producer the publisher should send."""

    def __init__(self, layer_count: int, now: float, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._started = now
        self._layers = [_LayerState() for _ in range(layer_count)]
        #: Resumes that brought nothing in time.
        self.failed_resumes = 0

    @property
    def publishing(self) -> tuple[bool, ...]:
        """Per layer (lowest first): whether the publisher should send it."""
        return tuple(layer.publishing for layer in self._layers)

    def update(self, wanted: Collection[int], bitrates: Sequence[int], now: float) -> bool:
        """Look at what is wanted now and what arrives (``bitrates``, bit/s
        per layer); True if :attr:`publishing` changed (tell the publisher)."""
        changed = False
        for index, layer in enumerate(self._layers):
            arriving = index < len(bitrates) and bitrates[index] > 0
            if arriving:
                layer.rate = bitrates[index]
            self._check_resume(layer, arriving, now)
            if index == 0 or not self.enabled:
                continue
            if index in wanted:
                layer.unwanted_since = None
                changed |= self._resume(layer, now)
                continue
            if not layer.publishing or layer.rate <= 0:
                continue  # (never arrived: see the module docstring)
            if layer.unwanted_since is None:
                layer.unwanted_since = now
            if now - layer.unwanted_since >= PAUSE_AFTER_S and now - self._started >= GRACE_S:
                layer.publishing = False
                layer.resumed_at = layer.arrived_at = None
                changed = True
        return changed

    def want(self, index: int, now: float) -> bool:
        """A layer is needed now (a keyframe was asked of it): resume it if
        paused; True if :attr:`publishing` changed."""
        if not 0 < index < len(self._layers):
            return False
        layer = self._layers[index]
        layer.unwanted_since = None
        return self._resume(layer, now)

    def _resume(self, layer: _LayerState, now: float) -> bool:
        if layer.publishing:
            return False
        layer.publishing = True
        layer.resumed_at = now
        layer.arrived_at = None
        return True

    def _check_resume(self, layer: _LayerState, arriving: bool, now: float) -> None:
        if layer.resumed_at is None:
            return
        if arriving:
            layer.resumed_at = None
            layer.arrived_at = now
            layer.backoff = BACKOFF_S
        elif now - layer.resumed_at >= RESUME_TIMEOUT_S:
            layer.resumed_at = None
            layer.offer_after = now + layer.backoff
            layer.backoff = min(layer.backoff * 2, MAX_BACKOFF_S)
            self.failed_resumes += 1

    def candidate_bitrate(
        self, index: int, stable_bitrate: int, current: int | None, now: float
    ) -> int:
        """The rate the allocator should see for layer ``index`` of a consumer
        forwarding ``current`` now: its ``stable_bitrate`` when that is known;
        for a layer above ``current`` that is paused, being resumed or just
        back, the rate it last had; otherwise 0 (not a candidate)."""
        if stable_bitrate > 0 or current is None or index <= current:
            return stable_bitrate
        if not 0 < index < len(self._layers):
            return stable_bitrate
        layer = self._layers[index]
        if layer.rate <= 0 or now < layer.offer_after:
            return 0
        back_recently = layer.arrived_at is not None and now - layer.arrived_at < RESUMED_GRACE_S
        if not layer.publishing or layer.resumed_at is not None or back_recently:
            return layer.rate
        return 0
