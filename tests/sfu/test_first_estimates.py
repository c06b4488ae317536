"""A subscriber's first estimates (issue 17): REMBs about different streams add
up, and the first low estimates hold the allocation for a while; a proven
rate, a low estimate that lasts, or loss end that start phase."""

from __future__ import annotations

from sfu.allocation import Allocator, LayerInfo, TrackDemand
from sfu.bandwidth_estimate import DownlinkEstimate, StartHold

K = 1000
AUDIO = 72 * K
KEEP = 3 * 60 * K + AUDIO


def camera(key: str, rates: tuple[int, ...] = (60 * K,)) -> TrackDemand:
    layers = tuple(LayerInfo(index, rate) for index, rate in enumerate(rates))
    return TrackDemand(key, layers, priority=2, tile_height=None)


def test_rembs_about_disjoint_streams_add_up():
    # aiortc: one estimator, and one REMB, per video receiver.
    est = DownlinkEstimate(initial=100_000 * K, ceiling=100_000 * K)
    est.on_remb(58 * K, 10.0, [1])
    assert est.remb == 58 * K
    est.on_remb(60 * K, 10.1, [2])
    est.on_remb(55 * K, 10.2, [3])
    assert est.remb == 173 * K
    est.on_remb(70 * K, 10.6, [1])  # stream 1's newer figure replaces its last
    assert est.remb == 185 * K
    assert est.estimate(10.6, uncovered=100 * K) == 285 * K


def test_a_remb_about_several_streams_replaces_what_it_overlaps():
    est = DownlinkEstimate()
    est.on_remb(58 * K, 0.0, [1])
    est.on_remb(60 * K, 0.1, [2])
    est.on_remb(400 * K, 0.5, [1, 2, 3])  # a browser: every stream in one REMB
    assert est.remb == 400 * K
    est.on_remb(300 * K, 1.0, [1, 2])  # stream 3 ended
    assert est.remb == 300 * K
    est.on_remb(200 * K, 1.5)  # no stream listed: about everything
    assert est.remb == 200 * K
    est.on_remb(50 * K, 2.0, [4])
    assert est.remb == 50 * K


def test_a_stream_not_reported_on_any_more_stops_counting():
    est = DownlinkEstimate(stale_after=5.0)
    est.on_remb(60 * K, 0.0, [1])  # then paused: its receiver sends no more
    for step in range(1, 8):
        est.on_remb(70 * K, float(step), [2])
        assert est.remb == (130 * K if step <= 5 else 70 * K)


def test_the_keep_budget_changes_nothing():
    allocator = Allocator()
    tiles = [camera("a", (150 * K, 500 * K)), camera("b", (150 * K, 500 * K)), camera("c")]
    assert allocator.keep_budget(AUDIO, tiles) is None  # nothing allocated yet
    first = allocator.update(AUDIO + 500 * K + 150 * K + 60 * K + 20 * K, AUDIO, tiles)
    assert first.layers == {"a": 1, "b": 0, "c": 0}
    keep = allocator.keep_budget(AUDIO, tiles)
    assert keep == AUDIO + 500 * K + 150 * K + 60 * K
    assert allocator.update(keep, AUDIO, tiles).layers == first.layers
    # A track new since costs its lowest layer; a paused one stays paused.
    more = [*tiles, camera("d")]
    assert allocator.keep_budget(AUDIO, more) == keep + 60 * K
    paused = allocator.update(AUDIO + 150 * K, AUDIO, tiles)
    assert paused.layers == {"a": 0, "b": None, "c": None}
    assert allocator.keep_budget(AUDIO, tiles) == AUDIO + 150 * K
    assert allocator.update(AUDIO + 150 * K, AUDIO, tiles).layers == paused.layers


def test_a_low_first_estimate_pauses_nothing_during_the_hold():
    allocator, hold = Allocator(), StartHold(hold=2.5)
    tiles = [camera("a"), camera("b"), camera("c")]
    allocator.update(100_000 * K, AUDIO, tiles)  # no REMB yet: everything
    low = 60 * K + AUDIO  # a first aiortc REMB: one stream's rate
    for step in range(5):  # 2 s of rounds every 0.5 s
        keep = allocator.keep_budget(AUDIO, tiles)
        budget = hold.budget(10.0 + 0.5 * step, low, keep, None, 0.0)
        assert allocator.update(budget, AUDIO, tiles).paused == frozenset()
    assert not hold.over and hold.held == 5


def test_a_low_estimate_that_lasts_past_the_hold_pauses():
    allocator, hold = Allocator(), StartHold(hold=2.5)
    tiles = [camera("a"), camera("b"), camera("c")]
    allocator.update(100_000 * K, AUDIO, tiles)
    low = 60 * K + AUDIO
    results = []
    for step in range(7):
        keep = allocator.keep_budget(AUDIO, tiles)
        budget = hold.budget(10.0 + 0.5 * step, low, keep, None, 0.0)
        results.append(allocator.update(budget, AUDIO, tiles))
    assert [len(r.paused) for r in results] == [0, 0, 0, 0, 0, 2, 2]
    assert hold.over
    # Over for good: a low budget later acts at once, even after a good spell.
    assert hold.budget(20.0, KEEP, KEEP, None, 0.0) == KEEP
    assert hold.budget(20.5, low, KEEP, None, 0.0) == low


def test_a_budget_that_comes_back_up_restarts_the_count():
    hold = StartHold(hold=2.5)
    assert hold.budget(0.0, KEEP // 2, KEEP, None, 0.0) == KEEP
    assert hold.budget(2.0, KEEP // 2, KEEP, None, 0.0) == KEEP
    assert hold.budget(2.4, KEEP, KEEP, None, 0.0) == KEEP  # the estimate caught up
    assert hold.budget(4.0, KEEP // 2, KEEP, None, 0.0) == KEEP  # low again: a new count
    assert hold.budget(6.0, KEEP // 2, KEEP, None, 0.0) == KEEP
    assert hold.budget(6.5, KEEP // 2, KEEP, None, 0.0) == KEEP // 2
    assert hold.over


def test_loss_ends_the_hold_at_once():
    hold = StartHold(hold=2.5, short_loss=0.05)
    assert hold.budget(0.0, KEEP // 2, KEEP, None, 0.01) == KEEP  # a loaded machine's drop
    assert hold.budget(0.5, KEEP // 2, KEEP, None, 0.08) == KEEP // 2  # the link is short
    assert hold.over


def test_the_subscribers_own_estimate_reaching_what_it_is_sent_ends_the_start_phase():
    hold = StartHold(hold=2.5)
    assert hold.budget(0.0, KEEP // 2, KEEP, KEEP // 3, 0.0) == KEEP
    assert hold.budget(0.5, KEEP, KEEP, KEEP, 0.0) == KEEP  # its REMB caught up
    assert hold.budget(1.0, KEEP, KEEP, KEEP // 2, 0.0) == KEEP  # for a moment only
    assert hold.budget(1.5, KEEP, KEEP, KEEP, 0.0) == KEEP
    assert hold.budget(3.5, KEEP, KEEP, KEEP, 0.0) == KEEP
    assert not hold.over
    assert hold.budget(4.0, KEEP, KEEP, KEEP, 0.0) == KEEP  # 2.5 s in a row
    assert hold.over
    assert hold.budget(4.5, KEEP // 2, KEEP, KEEP // 2, 0.0) == KEEP // 2  # a drop acts at once


def test_a_budget_raised_by_the_proven_rate_does_not_end_the_start_phase():
    # The proven rate lifts the budget over what is sent, then a lossy report
    # forgets it: the REMB still has not caught up, so the hold covers it.
    hold = StartHold(hold=2.5)
    assert hold.budget(0.0, KEEP, KEEP, KEEP // 3, 0.0) == KEEP
    assert hold.budget(3.0, KEEP // 2, KEEP, KEEP // 3, 0.03) == KEEP
    assert not hold.over


def test_the_downlink_estimate_holds_a_budget_only_after_its_first_remb_is_low():
    est = DownlinkEstimate(initial=100_000 * K, ceiling=100_000 * K)
    # Before any REMB the estimate is no limit, and nothing ends the start phase.
    assert est.held_budget(0.0, KEEP, KEEP, uncovered=AUDIO) == KEEP
    assert not est.start.over
    est.on_remb(60 * K, 1.0, [1])
    assert est.held_budget(1.0, 60 * K + AUDIO, KEEP, uncovered=AUDIO) == KEEP
    est.on_remb(60 * K, 1.1, [2])
    est.on_remb(60 * K, 1.2, [3])  # the three cameras' REMBs add up to what is sent
    assert est.held_budget(1.5, KEEP, KEEP, uncovered=AUDIO) == KEEP
    assert not est.start.over
    assert est.held_budget(4.0, KEEP, KEEP, uncovered=AUDIO) == KEEP
    assert est.start.over


def test_nothing_is_held_before_the_first_allocation():
    hold = StartHold()
    assert hold.budget(0.0, 10 * K, None, None, None) == 10 * K
    assert not hold.over
