"""One subscriber's downlink estimate: what the SFU may send it, from its REMB and reports.

Why REMB and receiver reports rather than transport-cc feedback from the
subscriber: Chrome already runs a delay-based estimator on what it receives
when abs-send-time and goog-remb are negotiated (they are, on the SFU's
subscribe transports) and reports its result as REMB, so the SFU gets a
delay-based figure without running GoogCC's send side in Python. Receiver
reports add the loss-based half, in the style of GoogCC's loss controller.

A receiver's first estimates are low: its estimator starts from what arrived
in its first seconds and grows from there, and aiortc's covers one stream (a
REMB per video receiver, summed here). So in a subscriber's **start phase**
a budget below what it is sent pauses or lowers nothing until it has stayed
low for ``START_HOLD_S`` or the smoothed loss reaches ``SHORT_LINK_LOSS``
(:class:`StartHold`); once the subscriber's own estimate has covered what it
is sent for ``START_HOLD_S``, or a low budget has lasted it, the start phase
is over and a drop acts at once.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable

#: Loss above this cuts the loss-based cap (GoogCC's 10 %).
LOSS_HIGH = 0.10
#: Loss below this lets the cap grow back (GoogCC's 2 %).
LOSS_LOW = 0.02
#: Growth of the loss-based cap per second of low loss (GoogCC: 8 % a second).
GROWTH_PER_SECOND = 1.08
#: Growth counts at most this much time per report, so a long silence followed
#: by one good report does not jump the cap.
MAX_GROWTH_STEP_S = 1.0
#: At most one cut per this interval plus one RTT: receiver reports for several
#: streams describe the same congestion and must not each cut again.
CUT_INTERVAL_S = 0.3
#: Weight of a new report in :attr:`DownlinkEstimate.loss`.
LOSS_SMOOTHING = 0.3
#: Weight of a new sample in :attr:`DownlinkEstimate.rtt` (TCP's 1/8).
RTT_SMOOTHING = 0.125


class DownlinkEstimate:
    """Bits per second the allocator may spend on one subscriber.

    The estimate is the smaller of a REMB-based value and a loss-based cap,
    clamped to ``floor`` .. ``ceiling``; it covers everything sent to the
    subscriber (video, audio and retransmissions).

    REMB-based value: ``initial`` until the first REMB, then the REMB figure
    (:attr:`remb`: the last REMB, or the sum of the last of each disjoint set
    of streams, see :meth:`on_remb`). A
    REMB older than ``stale_after`` seconds (the browser stopped sending it,
    or its reports are lost) decays with half-life ``stale_half_life`` towards
    ``min(last REMB, conservative)`` (``conservative`` defaults to
    ``initial``; set it apart when ``initial`` is deliberately generous): a
    high figure nobody confirms any more drifts down, while a low one is
    kept, since the last thing known about the link was that it is poor. (So
    a subscriber whose video was paused for bandwidth gets it back only when a
    fresh REMB says so or the caller probes; the estimate never guesses
    upwards.)

    Loss-based cap (GoogCC's loss controller): a receiver report with more
    than 10 % loss sets the cap to the current estimate times
    ``1 - loss / 2`` (at most once per 300 ms + RTT); reports under 2 % let the
    cap grow 8 % per second until it is no longer below the REMB-based value,
    when it is dropped; 2-10 % holds it.

    Every method takes ``now`` (seconds, any monotonic clock) instead of
    reading a clock, so the class is deterministic under test.
    """

    def __init__(
        self,
        initial: int = 1_000_000,
        floor: int = 50_000,
        ceiling: int = 20_000_000,
        *,
        stale_after: float = 5.0,
        stale_half_life: float = 2.0,
        conservative: int | None = None,
    ) -> None:
        if not 0 < floor <= ceiling:
            raise ValueError("need 0 < floor <= ceiling")
        self.initial = min(max(initial, floor), ceiling)
        self.floor = floor
        self.ceiling = ceiling
        self.stale_after = stale_after
        self.stale_half_life = stale_half_life
        #: Where an unconfirmed (stale) high REMB decays to.
        self.conservative = min(
            max(self.initial if conservative is None else conservative, floor), ceiling
        )
        #: The sum of the latest REMB of each set of streams (see on_remb).
        self._remb: int | None = None
        self._remb_at = 0.0
        #: Set of streams -> (its latest REMB, when it came).
        self._remb_parts: dict[frozenset[int], tuple[int, float]] = {}
        self._loss_cap: float | None = None
        self._last_cut = -math.inf
        self._last_loss_report: float | None = None
        self._loss: float | None = None
        self._rtt: float | None = None
        #: The start phase (see :meth:`held_budget`).
        self.start = StartHold()

    # -- inputs ---------------------------------------------------------------

    def on_remb(self, bitrate: int, now: float, ssrcs: Iterable[int] = ()) -> None:
        """The subscriber reported ``bitrate`` (bit/s) as its receive estimate
        for the streams ``ssrcs`` (none listed: for everything).

        A REMB limits the streams it lists. A browser runs one estimator for
        the whole connection and lists every stream; aiortc runs one per video
        receiver, and each of its REMBs lists one stream. So a REMB replaces
        the earlier ones that share a stream with it, and REMBs about disjoint
        sets add up; a set not reported on for ``stale_after`` seconds (its
        stream ended or was paused) no longer counts.
        """
        if bitrate < 0:
            return
        streams = frozenset(ssrcs)
        parts = {
            key: (value, at)
            for key, (value, at) in self._remb_parts.items()
            if key and streams and not key & streams and now - at <= self.stale_after
        }
        parts[streams] = (bitrate, now)
        self._remb_parts = parts
        self._remb = sum(value for value, _at in parts.values())
        self._remb_at = now

    def on_loss(self, fraction_lost: int, now: float) -> None:
        """One receiver-report block's fraction lost (0..255, i.e. 1/256 units)."""
        fraction = min(max(fraction_lost, 0), 255) / 256
        self._loss = (
            fraction
            if self._loss is None
            else self._loss + LOSS_SMOOTHING * (fraction - self._loss)
        )
        previous = self._last_loss_report
        self._last_loss_report = now
        if fraction > LOSS_HIGH:
            if now - self._last_cut >= CUT_INTERVAL_S + (self._rtt or 0.0):
                self._last_cut = now
                cut = self.estimate(now) * (1 - fraction / 2)
                self._loss_cap = max(cut, float(self.floor))
        elif fraction < LOSS_LOW and self._loss_cap is not None and previous is not None:
            step = min(max(now - previous, 0.0), MAX_GROWTH_STEP_S)
            self._loss_cap *= math.pow(GROWTH_PER_SECOND, step)
            if self._loss_cap >= self._remb_based(now):
                self._loss_cap = None

    def on_rtt(self, rtt: float) -> None:
        """A round-trip time sample (seconds), e.g. from a receiver report's LSR/DLSR."""
        if not rtt >= 0:  # also rejects NaN
            return
        self._rtt = rtt if self._rtt is None else self._rtt + RTT_SMOOTHING * (rtt - self._rtt)

    # -- outputs --------------------------------------------------------------

    def estimate(self, now: float, uncovered: int = 0) -> int:
        """Bit/s the allocator may spend on this subscriber at ``now``.

        ``uncovered``: what is sent without abs-send-time (the audio), which the
        browser's REMB does not measure, so it is added to a REMB-based value
        (the loss-based cap covers everything sent)."""
        value = self._remb_based(now) + (uncovered if self._remb is not None else 0)
        if self._loss_cap is not None:
            value = min(value, self._loss_cap)
        return int(min(max(value, self.floor), self.ceiling))

    def held_budget(self, now: float, budget: int, keep: int | None, uncovered: int = 0) -> int:
        """``budget`` through the start hold (:class:`StartHold`, :attr:`start`):
        ``keep`` instead while this subscriber's first low estimates are not
        believed yet. ``keep``: the budget that changes nothing (None: no
        allocation yet); ``uncovered`` as for :meth:`estimate`."""
        own = self.estimate(now, uncovered) if self._remb is not None else None
        return self.start.budget(now, budget, keep, own, self.loss if self.reported else None)

    @property
    def rtt(self) -> float | None:
        """Smoothed round-trip time in seconds; None before the first sample."""
        return self._rtt

    @property
    def reported(self) -> bool:
        """True once a receiver report has told the loss."""
        return self._loss is not None

    @property
    def loss(self) -> float:
        """Recent loss fraction (0..1), smoothed over the last few reports; 0 before any."""
        return self._loss or 0.0

    @property
    def remb(self) -> int | None:
        """The REMB figure: the latest REMB, or the sum of the latest of each
        disjoint set of streams (:meth:`on_remb`); None before the first."""
        return self._remb

    def _remb_based(self, now: float) -> float:
        remb = self._remb
        if remb is None:
            return float(self.initial)
        age = now - self._remb_at
        if age <= self.stale_after:
            return float(remb)
        target = min(remb, self.conservative)
        decay = math.pow(0.5, (age - self.stale_after) / self.stale_half_life)
        return target + (remb - target) * decay


class LinkCapacity:
    """What a subscriber's link carried while it was full.

    The loss-based cap of :class:`DownlinkEstimate` cuts again at every lossy
    report, and reports lag what is sent (a lower layer starts only at its
    keyframe, queues drain slowly), so on a thin link it would fall far below
    what the link carries, pausing video that fits. While reports show more
    than ``lossy_loss`` loss the link is full, and what it delivered (sent x
    (1 - loss)) is its capacity; that bounds the cut from below. Reports under
    ``clean_loss`` for ``forget_after`` seconds mean the link is no longer
    full: the figure is forgotten and the estimate alone decides. Nothing is
    learnt before the first receiver report (``loss`` None).
    """

    def __init__(
        self, clean_loss: float = 0.02, lossy_loss: float = 0.1, forget_after: float = 5.0
    ) -> None:
        self.clean_loss = clean_loss
        self.lossy_loss = lossy_loss
        self.forget_after = forget_after
        self._octets = 0
        self._last: float | None = None
        self._clean_since: float | None = 0.0
        self.capacity: int | None = None

    def update(self, octets_sent: int, loss: float | None, now: float) -> int | None:
        """Feed the cumulative octets sent and the recent loss (None: no
        report yet); returns the capacity (bit/s) if the link is known full."""
        if self._last is None or octets_sent < self._octets:
            self._last, self._octets = now, octets_sent
            return self.capacity
        elapsed = now - self._last
        if elapsed <= 0:
            return self.capacity
        rate = 8 * (octets_sent - self._octets) / elapsed
        self._last, self._octets = now, octets_sent
        if loss is None:
            return self.capacity
        if loss > self.lossy_loss:
            # The lowest figure of a lossy spell: a keyframe burst makes one
            # interval's rate look higher than what the link takes.
            delivered = int(rate * (1 - loss))
            if self._clean_since is not None or self.capacity is None:
                self.capacity = delivered
            else:
                self.capacity = min(self.capacity, delivered)
            self._clean_since = None
        elif loss < self.clean_loss:
            if self._clean_since is None or self.capacity is None:
                self._clean_since = now
            elif now - self._clean_since >= self.forget_after:
                self.capacity = None
        return self.capacity


class ProvenRate:
    """The highest rate a subscriber's link delivered while its reports showed no loss.

    The browser's REMB follows what it receives (libwebrtc caps it near 1.5 x
    the incoming rate and, after an overuse, lets it grow back slowly), so
    once video is paused on a thin link the estimate can sit below what the
    link evidently carried a moment ago, and stays there. The rate sent over
    ``span`` seconds while the smoothed loss stayed under ``clean_loss`` is
    proven: the link carries it (averaged over the span, so a keyframe burst
    does not count). The figure is the highest such rate of the current clean
    spell, measured within the last ``remember`` seconds (a lower rate later
    only means less was sent, not that the link shrank). Any lossier report
    ends the spell: the loss-based cap and :class:`LinkCapacity` decide then.

    **Start-up.** For the first ``startup`` seconds after the first receiver
    report the span is ``startup_span`` (shorter): a new subscriber's browser
    sends its first REMBs after a few seconds, often far below what arrives
    cleanly (on loopback ~110 kbit/s), and with the long span its video would
    pause meanwhile. Later the longer span keeps a burst on a thin link from
    passing for a rate it carries.
    """

    def __init__(
        self,
        clean_loss: float = 0.02,
        span: float = 2.0,
        remember: float = 30.0,
        *,
        startup_span: float = 1.0,
        startup: float = 10.0,
    ) -> None:
        if not 0 < startup_span <= span:
            raise ValueError("need 0 < startup_span <= span")
        self.clean_loss = clean_loss
        self.span = span
        self.remember = remember
        self.startup_span = startup_span
        self.startup = startup
        #: When the first report came (start-up is measured from it).
        self._first_report: float | None = None
        #: (time, cumulative octets) of the current clean spell, the last ``span`` s.
        self._spell: deque[tuple[float, int]] = deque()
        #: (time measured, bit/s) of the rates proven in this spell, best last.
        self._best: deque[tuple[float, int]] = deque()

    def current_span(self, now: float) -> float:
        """Seconds a rate is averaged over at ``now``: shorter during start-up."""
        first = self._first_report
        if first is not None and now - first < self.startup:
            return self.startup_span
        return self.span

    def update(self, octets_sent: int, loss: float | None, now: float) -> int | None:
        """Feed the cumulative octets sent and the recent loss (None: no report
        yet); returns the proven rate (bit/s), or None while none is."""
        spell, best = self._spell, self._best
        if loss is not None and self._first_report is None:
            self._first_report = now
        if loss is None or loss >= self.clean_loss or (spell and octets_sent < spell[-1][1]):
            spell.clear()
            best.clear()
            return None
        span = self.current_span(now)
        spell.append((now, octets_sent))
        while len(spell) > 2 and now - spell[1][0] >= span:
            spell.popleft()
        since, octets = spell[0]
        if now - since >= span:
            rate = int(8 * (octets_sent - octets) / (now - since))
            # A monotonic queue: the best rate within ``remember`` stays first.
            while best and best[-1][1] <= rate:
                best.pop()
            best.append((now, rate))
        while best and now - best[0][0] > self.remember:
            best.popleft()
        return best[0][1] if best else None


#: How long a subscriber's estimate must stay below what it is sent, in its
#: start phase, before that low estimate pauses or lowers video.
START_HOLD_S = 2.5
#: Smoothed loss (0..1) that shows a link really is short: ends the start
#: phase at once. Above GoogCC's 2 %, under which loss is normal, and half its
#: 10 % cut: a loaded machine's occasional drop must not end the hold; a link
#: that cannot take what it is sent loses far more.
SHORT_LINK_LOSS = 0.05


class StartHold:
    """A subscriber's first low estimates are not believed at once.

    A receiver's first REMBs come out far below what its link carries:
    libwebrtc's and aiortc's receive-side estimators start from what arrived
    in their first seconds, and grow from there (aiortc's by 8 % a second, up
    to 1.5 x what arrives); the REMBs of a receiver's other streams come a
    moment later (:meth:`DownlinkEstimate.on_remb`). Acting on them paused
    video of aiortc viewers on clean loopback links (issue 17: 20-60 kbit/s
    REMBs against three cameras), then brought it back at a keyframe a
    round or more later.

    So in the **start phase** a budget below ``keep`` (what the last
    allocation sends, :meth:`sfu.allocation.Allocator.keep_budget`) is raised
    to ``keep``: nothing is paused or lowered. The start phase ends for good,
    and the budget rules as before, when

    * the subscriber's own estimate (its REMB) stayed at ``keep`` or above
      for ``hold`` seconds in a row: it is trusted from then on, its drops
      included (a moment is not enough: on a loaded machine the publishers'
      rates, and so ``keep``, dip and jump back), or
    * the budget stayed below ``keep`` for ``hold`` seconds in a row (a budget
      that comes back up, e.g. through the proven rate, restarts the count),
      or
    * the smoothed loss reached ``short_loss`` while the budget was low: the
      link really is short.

    Like LiveKit's StreamAllocator, which lowers its committed channel
    capacity only once several estimates agree or NACKs show congestion, but
    only at the start: later a drop pauses video at once, as before.
    """

    def __init__(self, hold: float = START_HOLD_S, short_loss: float = SHORT_LINK_LOSS) -> None:
        self.hold = hold
        self.short_loss = short_loss
        #: The start phase is over: budgets pass unchanged.
        self.over = False
        self._low_since: float | None = None
        self._covered_since: float | None = None
        #: Allocation rounds whose budget was raised (for tests and stats).
        self.held = 0

    def budget(
        self,
        now: float,
        budget: int,
        keep: int | None,
        estimate: int | None,
        loss: float | None,
    ) -> int:
        """The budget to allocate with at ``now``.

        ``budget``: what the allocation would get (bit/s); ``keep``: the
        budget that changes nothing (None: no allocation yet); ``estimate``:
        the subscriber's own estimate (None before its first REMB); ``loss``:
        the smoothed loss (None before the first report).
        """
        if self.over or keep is None:
            return budget
        if estimate is None or estimate < keep:
            self._covered_since = None
        elif self._covered_since is None:
            self._covered_since = now
        elif now - self._covered_since >= self.hold:
            self.over = True
            return budget
        if budget >= keep:
            self._low_since = None
            return budget
        if loss is not None and loss >= self.short_loss:
            self.over = True
            return budget
        if self._low_since is None:
            self._low_since = now
        if now - self._low_since >= self.hold:
            self.over = True
            return budget
        self.held += 1
        return keep
