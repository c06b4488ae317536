"""Which simulcast layer each consumer of one subscriber gets, within its bandwidth budget.

Pure decisions (no I/O, no clock): the packet path only applies them.

:func:`allocate` follows Jitsi's BandwidthAllocator and LiveKit's
StreamAllocator: order the tracks by what matters to the viewer, give every
one its lowest layer while the budget lasts, then spend what is left on
upgrades, most important tracks first, never above what the tile can show.
:class:`Allocator` adds hysteresis across calls. Switching layers at
keyframes is the consumer's job (:class:`sfu.consumer.Consumer`, mediasoup's
SimulcastConsumer current/target layers), kept inline on the packet path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby

#: Tile heights (device px) served by layer 0 and at most layer 1 when the
#: layers' own heights are not known yet (the usual 180p/360p/720p ladder).
LOW_TILE_HEIGHT = 240
MID_TILE_HEIGHT = 480
#: An upgrade past the previous allocation must leave this share of the video
#: spend free (see :func:`allocate`).
DEFAULT_UPGRADE_MARGIN = 0.10


@dataclass(frozen=True)
class LayerInfo:
    """One spatial layer of a producer, as measured now."""

    index: int
    """0 = lowest resolution."""
    bitrate: int
    """Measured bit/s; 0 = nothing arrives, so the layer cannot be chosen."""
    width: int | None = None
    height: int | None = None
    """Frame size from the last keyframe; None until one was seen."""


@dataclass(frozen=True)
class TrackDemand:
    """One video consumer of the subscriber, with what it would like to receive."""

    key: str
    """Consumer id; the key of the result."""
    layers: tuple[LayerInfo, ...]
    """The producer's layers; one entry for a track without simulcast."""
    priority: int
    """0 = pinned/spotlit, 1 = active speaker, 2 = visible tile (hidden ones are left out)."""
    tile_height: int | None
    """Device pixels of the tile showing it; None = unknown (no size cap)."""
    screen: bool = False
    """Screen share: served before camera tiles of the same priority."""


@dataclass(frozen=True)
class Allocation:
    """The result of one allocation for one subscriber."""

    layers: dict[str, int | None]
    """Consumer id -> layer index to forward; None = paused (not enough budget, or
    no layer of that producer is live)."""
    spent: int
    """Bit/s planned: the audio reserve plus the chosen video layers. Exceeds
    ``budget`` only when the audio reserve alone does."""
    budget: int
    """The budget it was given (before the audio reserve came off)."""
    audio_reserve: int = 0
    deficient: bool = False
    """True if some track is below its size cap (or paused) for lack of budget:
    the subscriber would take more if the estimate grew (worth probing for)."""
    caps: dict[str, int | None] = field(default_factory=dict)
    """Consumer id -> the highest layer its tile could use (see :func:`size_cap`)."""

    @property
    def video_spent(self) -> int:
        """Bit/s of the chosen video layers alone."""
        return self.spent - self.audio_reserve

    @property
    def paused(self) -> frozenset[str]:
        """Consumers that get no video."""
        return frozenset(key for key, layer in self.layers.items() if layer is None)


#: How much taller than its tile a layer may be and still be chosen for it.
SIZE_TOLERANCE = 1.25


def live_layers(layers: Sequence[LayerInfo]) -> list[LayerInfo]:
    """The layers that can be forwarded now (bitrate > 0), low to high."""
    return sorted((layer for layer in layers if layer.bitrate > 0), key=lambda lay: lay.index)


def size_cap(layers: Sequence[LayerInfo], tile_height: int | None) -> int | None:
    """The highest layer index worth sending to a tile ``tile_height`` device px high.

    The tallest live layer no taller than ``SIZE_TOLERANCE`` x the tile (as
    Jitsi's maxHeight constraint: a taller one only costs bandwidth, the
    browser scales it down; slightly upscaling a smaller one is hardly
    visible), so a 9-tile page of 225-px tiles gets 180p, a 300-px tile 360p.
    When some live layer's height is still unknown the index stands in: a
    tile up to 240 px gets layer 0, up to 480 px at most layer 1, a larger
    one the top. If no live layer is that low, the lowest live one (as Jitsi
    does, a constraint is exceeded rather than showing nothing). None when no
    layer is live.
    """
    live = live_layers(layers)
    if not live:
        return None
    return live[_cap_position(live, tile_height)].index


def _cap_position(live: list[LayerInfo], tile_height: int | None) -> int:
    top = len(live) - 1
    if tile_height is None:
        return top
    heights = [layer.height for layer in live]
    if all(height is not None for height in heights):
        limit = tile_height * SIZE_TOLERANCE
        fitting = [p for p, height in enumerate(heights) if height is not None and height <= limit]
        return fitting[-1] if fitting else 0
    if tile_height > MID_TILE_HEIGHT:
        return top
    allowed = 0 if tile_height <= LOW_TILE_HEIGHT else 1
    position = 0
    for candidate, layer in enumerate(live):
        if layer.index <= allowed:
            position = candidate
    return position


class _Plan:
    """allocate()'s working state for one demand."""

    __slots__ = ("cap", "chosen", "demand", "has_previous", "live", "previous")

    def __init__(self, demand: TrackDemand, previous: Mapping[str, int | None] | None) -> None:
        self.demand = demand
        self.live = live_layers(demand.layers)
        self.cap = _cap_position(self.live, demand.tile_height) if self.live else -1
        #: Position in ``live`` chosen so far; -1 = none.
        self.chosen = -1
        #: Whether this demand was in the last allocation, and its layer there.
        self.has_previous = previous is not None and demand.key in previous
        self.previous = previous.get(demand.key) if previous is not None else None

    def rank(self) -> tuple[int, int, int, str]:
        demand = self.demand
        return (*self.tier(), -(demand.tile_height or 0), demand.key)

    def tier(self) -> tuple[int, int]:
        return (self.demand.priority, 0 if self.demand.screen else 1)

    def can_improve(self) -> bool:
        return 0 <= self.chosen < self.cap

    def layer(self) -> LayerInfo | None:
        return self.live[self.chosen] if self.chosen >= 0 else None


class _Budget:
    """What is left to spend, and the rule for spending it."""

    __slots__ = ("margin", "remaining", "total")

    def __init__(self, total: int, margin: float) -> None:
        self.total = total
        self.remaining = total
        self.margin = margin

    def step(self, plan: _Plan, position: int) -> bool:
        """Move ``plan`` to layer ``position`` if that fits; True if it did."""
        target = plan.live[position]
        current = plan.layer()
        cost = target.bitrate - (current.bitrate if current else 0)
        # Keeping last time's layer (or a lower one) may overspend by the
        # margin: a layer's measured rate wobbles (a keyframe, a busy scene),
        # and pausing a video for a few percent would flap it on and off.
        keeping = plan.has_previous and plan.previous is not None and target.index <= plan.previous
        allowance = self.remaining + (int(self.total * self.margin) if keeping else 0)
        if cost > allowance:
            return False
        if plan.has_previous and (plan.previous is None or target.index > plan.previous):
            # Going past last time's choice must leave a margin on the whole
            # spend: measured layer rates and the estimate both wobble, and
            # without it a budget at a boundary would flip layers every time.
            spent_after = self.total - self.remaining + cost
            if spent_after * (1 + self.margin) > self.total:
                return False
        plan.chosen = position
        self.remaining -= cost
        return True


def allocate(
    budget: int,
    audio_reserve: int,
    demands: Sequence[TrackDemand],
    *,
    previous: Mapping[str, int | None] | None = None,
    upgrade_margin: float = DEFAULT_UPGRADE_MARGIN,
) -> Allocation:
    """Choose one layer (or none) per demand within ``budget`` bit/s.

    1. The audio reserve comes off first: audio is never starved.
    2. In rank order (priority; a screen share before cameras of the same
       priority; larger tiles first; then key, so equal inputs give equal
       results) each demand gets its lowest live layer if it still fits. One
       that does not is paused; later, cheaper ones may still fit.
    3. What is left goes to upgrades, one tier (priority, then screen before
       camera) at a time: within a tier one layer step per demand per round,
       round after round, until nothing more fits or every demand is at its
       :func:`size_cap`; only then the next tier. So a pinned track reaches
       its cap before visible tiles rise above their lowest layer, and equal
       tiles share what is left evenly.

    The cost of a layer is its measured bitrate (a step costs the
    difference); layers with bitrate 0 are never chosen. ``budget`` should
    already exclude what retransmissions are using.

    Hysteresis: given ``previous`` (the last result's layers), a step above a
    demand's previous layer, or out of a previous pause, is taken only if the
    video spend after it, plus ``upgrade_margin`` of itself, still fits the
    video budget (with 10 %: upgrades use at most ~91 % of it); keeping or
    lowering a layer needs only its cost. So a budget or layer rates
    wobbling at a boundary do not make layers flap, while a budget that
    drops downgrades at once. Demands absent from ``previous`` are new and
    need no margin.
    """
    if len({demand.key for demand in demands}) != len(demands):
        raise ValueError("demand keys must be unique")
    plans = [_Plan(demand, previous) for demand in demands]
    ranked = sorted(plans, key=_Plan.rank)
    reserve = max(audio_reserve, 0)
    wallet = _Budget(max(budget - reserve, 0), upgrade_margin)

    for plan in ranked:
        if plan.live:
            wallet.step(plan, 0)
    for _tier, members in groupby(ranked, key=_Plan.tier):
        _upgrade_tier(list(members), wallet)

    layers: dict[str, int | None] = {}
    caps: dict[str, int | None] = {}
    video = 0
    for plan in plans:  # in the caller's order
        chosen = plan.layer()
        layers[plan.demand.key] = chosen.index if chosen else None
        caps[plan.demand.key] = plan.live[plan.cap].index if plan.live else None
        video += chosen.bitrate if chosen else 0
    return Allocation(
        layers=layers,
        spent=reserve + video,
        budget=budget,
        audio_reserve=reserve,
        deficient=any(plan.live and plan.chosen < plan.cap for plan in plans),
        caps=caps,
    )


def _upgrade_tier(members: list[_Plan], wallet: _Budget) -> None:
    """Round-robin one step at a time over a tier until no step fits."""
    progressed = True
    while progressed:
        progressed = False
        for plan in members:
            if plan.can_improve() and wallet.step(plan, plan.chosen + 1):
                progressed = True


class Allocator:
    """:func:`allocate` with memory: one per subscriber, called whenever inputs change.

    Remembers the last result so upgrades need ``upgrade_margin`` of headroom
    (see :func:`allocate`), while downgrades happen at once.
    """

    def __init__(self, upgrade_margin: float = DEFAULT_UPGRADE_MARGIN) -> None:
        self.upgrade_margin = upgrade_margin
        #: The last allocation made; None before the first.
        self.last: Allocation | None = None

    def update(self, budget: int, audio_reserve: int, demands: Sequence[TrackDemand]) -> Allocation:
        """Allocate ``budget`` afresh, with hysteresis against the last result."""
        previous = self.last.layers if self.last is not None else None
        result = allocate(
            budget, audio_reserve, demands, previous=previous, upgrade_margin=self.upgrade_margin
        )
        self.last = result
        return result

    def keep_budget(self, audio_reserve: int, demands: Sequence[TrackDemand]) -> int | None:
        """The budget at which :meth:`update` would change nothing: every layer
        the last allocation chose (at today's rates), the lowest layer of each
        demand new since, and the audio reserve; tracks it paused stay paused.
        None before the first allocation.

        For holding the allocation while a low estimate is not trusted yet
        (:class:`sfu.bandwidth_estimate.StartHold`).
        """
        if self.last is None:
            return None
        previous = self.last.layers
        total = 0
        for demand in demands:
            live = live_layers(demand.layers)
            if not live:
                continue
            if demand.key not in previous:
                total += live[0].bitrate
                continue
            chosen = previous[demand.key]
            if chosen is not None:
                # The chosen layer, or the next live one below it if it no
                # longer arrives.
                kept = [layer for layer in live if layer.index <= chosen] or live[:1]
                total += kept[-1].bitrate
        return total + max(audio_reserve, 0)

    def resume_budget(self, audio_reserve: int, demands: Sequence[TrackDemand]) -> int | None:
        """The budget at which :meth:`update` would bring back a paused track.

        For probing: keeping what the last allocation chose (at today's
        rates) plus the cheapest paused track's lowest layer, with the upgrade
        margin on top, plus the audio reserve. None when no track with a live
        layer is paused (or before the first allocation).
        """
        if self.last is None:
            return None
        kept = 0
        cheapest: int | None = None
        for demand in demands:
            live = {layer.index: layer.bitrate for layer in live_layers(demand.layers)}
            if not live:
                continue
            chosen = self.last.layers.get(demand.key)
            if chosen is not None:
                kept += live.get(chosen, 0)
            elif demand.key in self.last.layers:
                lowest = live[min(live)]
                cheapest = lowest if cheapest is None else min(cheapest, lowest)
        if cheapest is None:
            return None
        return math.ceil((kept + cheapest) * (1 + self.upgrade_margin)) + max(audio_reserve, 0)

    def upgrade_budget(self, audio_reserve: int, demands: Sequence[TrackDemand]) -> int | None:
        """The budget at which :meth:`update` would raise one track a layer.

        For probing: a subscriber's REMB only follows what it receives, so a
        track below what its tile could show (after the view grew, a pin) would
        stay there. Keeping what the last allocation chose plus one step up of
        the most important such track, with the upgrade margin, plus the audio
        reserve. None when every track is at its cap or paused (before the first
        allocation too).
        """
        if self.last is None:
            return None
        previous = self.last.layers
        plans = [_Plan(demand, previous) for demand in demands]
        kept = 0
        step: int | None = None
        for plan in sorted(plans, key=_Plan.rank):
            chosen = previous.get(plan.demand.key)
            position = next((p for p, layer in enumerate(plan.live) if layer.index == chosen), None)
            if position is None:
                continue
            kept += plan.live[position].bitrate
            if step is None and position < plan.cap:
                step = plan.live[position + 1].bitrate - plan.live[position].bitrate
        if step is None:
            return None
        return math.ceil((kept + step) * (1 + self.upgrade_margin)) + max(audio_reserve, 0)
