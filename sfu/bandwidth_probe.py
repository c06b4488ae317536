"""When a subscriber's layer allocation may spend above its estimate, and how much.

A subscriber's browser estimates its downlink from what it receives (REMB),
so while some of its video is paused for bandwidth, or below what its tile
could show, the estimate cannot grow on its own: the SFU has to try sending
more. Trying too much at once is worse than not trying: on a thin link a jump
from two 90p streams to 180p ones fills the bottleneck queue, the browser's
delay-based estimator cuts its estimate far below what the link carries, and
every video pauses for the seconds it takes to grow back (seen in the
impaired-network harness's 300 kbit/s downlink).

So a :class:`BandwidthProbe` tries **one step** (resume the cheapest paused
track, else raise one track a layer; the caller says which budget that takes,
and the trial allows a fifth more, since layer rates wobble) and holds it
until the outcome is known:

- success: the estimate grew to cover the step; the allocation keeps it on
  its own, and the next probe may come after the base interval, or
  ``after_success`` seconds for ``eager_for`` seconds after the
  subscriber's view asked for more (:meth:`soon`: a pin, a bigger tile),
  unless ``eager_failures`` steps have failed since. A
  subscriber who enlarged a tile from 90p to 720p waited two base
  intervals, up to 24 s, in the end-to-end test; on a thin link that nobody
  asked more of, quick steps only find its limit more often;
- failure: loss reached ``max_loss``, or the estimate fell below
  ``drop`` x its value at the start (the browser saw the queue grow); the step
  is taken back at once and the next try waits twice as long as the last
  (up to ``max_every``): a link that is full stays undisturbed;
- no answer within ``longest`` seconds: taken back, and treated as a failure.

Like LiveKit's StreamAllocator probes and GoogCC's ALR probing, minus the
padding: the step is real media. Every method takes ``now`` (seconds, any
monotonic clock), so the class is deterministic under test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: What a successful probe must reach, as a share of its step's cost with the
#: allocator's margin (10 %): keeping a step needs only its cost, and the
#: allocator lets a kept layer overspend by the margin while rates wobble.
COVERED_SHARE = 0.9
#: A trial's budget is its step's cost at the start times this: layer rates
#: wobble by a fifth around their mean (a keyframe, a busy scene), and a
#: resumed layer that has grown meanwhile must still fit. Upgrade steps cost
#: more than the slack, so it never lets a second step in.
SLACK = 1.2


@dataclass
class _Trial:
    target: int
    """What the step costs (with the allocator's margin), at the start."""
    budget: int
    """What the allocation may spend meanwhile: ``target`` with SLACK."""
    until: float
    estimate_at_start: int


class BandwidthProbe:
    """One subscriber's probing state (see the module docstring)."""

    def __init__(
        self,
        every: float = 10.0,
        max_every: float = 60.0,
        after_success: float = 2.0,
        eager_failures: int = 2,
        eager_for: float = 20.0,
        longest: float = 8.0,
        max_loss: float = 0.02,
        drop: float = 0.9,
    ) -> None:
        self.every = every
        self.max_every = max_every
        self.after_success = after_success
        self.eager_failures = eager_failures
        self.eager_for = eager_for
        self.longest = longest
        self.max_loss = max_loss
        self.drop = drop
        self._interval = every
        self._next = 0.0
        #: The view asked for more and fewer than ``eager_failures`` steps
        #: failed since: successful steps follow quickly.
        self._eager = False
        self._failed_while_eager = 0
        #: When the eager spell began (the first allocation after soon()).
        self._eager_since: float | None = None
        self._trial: _Trial | None = None
        #: Outcomes so far (for the media report and tests).
        self.successes = 0
        self.failures = 0

    @property
    def active(self) -> bool:
        """True while a step above the estimate is being tried."""
        return self._trial is not None

    def soon(self) -> None:
        """The view changed (a pin, a bigger tile, a tile shown again): try at
        the next allocation, with the base interval again."""
        self._next = 0.0
        self._interval = self.every
        self._eager = True
        self._failed_while_eager = 0
        self._eager_since = None

    def budget(
        self,
        now: float,
        estimate: int,
        loss: float,
        wanting: bool,
        step_budget: Callable[[], int | None],
    ) -> int | None:
        """The budget to allocate with now while probing; None: use the estimate.

        ``estimate``: the subscriber's current estimate (bit/s); ``loss``: its
        recent loss (0..1); ``wanting``: some video is paused or below its
        tile's size for lack of budget; ``step_budget()``: the budget one step
        more takes (None: no step to take), asked only when a probe starts.
        """
        trial = self._trial
        if trial is not None:
            if loss >= self.max_loss or estimate < trial.estimate_at_start * self.drop:
                self._fail(now)
                return None
            if estimate >= trial.target * COVERED_SHARE:
                self._trial = None
                self.successes += 1
                self._interval = self.every
                self._next = now + (self.after_success if self._eager else self.every)
                return None
            if now >= trial.until:
                self._fail(now)
                return None
            return trial.budget
        if self._eager:
            if self._eager_since is None:
                self._eager_since = now
            elif now - self._eager_since > self.eager_for:
                self._eager = False
        if not wanting or loss >= self.max_loss or now < self._next:
            return None
        target = step_budget()
        if target is None or target <= estimate:
            return None  # nothing to try, or the estimate already allows it
        trial = _Trial(
            target=target,
            budget=int(target * SLACK),
            until=now + self.longest,
            estimate_at_start=estimate,
        )
        self._trial = trial
        return trial.budget

    def _fail(self, now: float) -> None:
        self._trial = None
        if self._eager:
            self._failed_while_eager += 1
            self._eager = self._failed_while_eager < self.eager_failures
        self.failures += 1
        self._next = now + self._interval
        self._interval = min(self._interval * 2, self.max_every)
