"""BandwidthProbe: one step above the estimate at a time, held until the
browser's estimate answers, backing off after failures (sfu/bandwidth_probe.py)."""

from __future__ import annotations

from sfu.bandwidth_probe import BandwidthProbe

STEP = 200_000  # the budget one step more takes
HELD = 240_000  # what a trial lets the allocation spend: a fifth more (layer rates wobble)


def step() -> int:
    return STEP


def test_a_probe_tries_one_step_and_holds_it_while_the_estimate_grows():
    probe = BandwidthProbe(every=10, longest=8, after_success=2)
    assert probe.budget(0.0, 150_000, 0.0, wanting=True, step_budget=step) == HELD
    asked = []

    def counted() -> int:
        asked.append(1)
        return 10 * STEP

    # Held at the same step (not re-asked, so no second step on top) ...
    assert probe.budget(0.5, 160_000, 0.0, wanting=True, step_budget=counted) == HELD
    assert probe.budget(3.0, 175_000, 0.0, wanting=True, step_budget=counted) == HELD
    assert asked == []
    # ... until the estimate covers its cost (the step less the allocator's
    # 10 % margin): success, the estimate alone decides again.
    assert probe.budget(4.0, 182_000, 0.0, wanting=True, step_budget=counted) is None
    assert (probe.successes, probe.failures, probe.active) == (1, 0, False)
    # Nobody asked for more: the next probe waits the base interval.
    assert probe.budget(13.9, 195_000, 0.0, wanting=True, step_budget=step) is None
    assert probe.budget(14.0, 195_000, 0.0, wanting=True, step_budget=step) == HELD


def test_after_a_bigger_tile_successful_steps_follow_quickly_until_two_fail():
    probe = BandwidthProbe(every=10, longest=8, after_success=2, eager_failures=2)
    probe.soon()  # the subscriber enlarged a tile
    assert probe.budget(0.0, 150_000, 0.0, wanting=True, step_budget=step) == HELD
    assert probe.budget(1.0, 190_000, 0.0, wanting=True, step_budget=step) is None  # success
    # A link that carried one step likely carries the next: tried 2 s later.
    assert probe.budget(2.9, 195_000, 0.0, wanting=True, step_budget=step) is None
    assert probe.budget(3.0, 195_000, 0.0, wanting=True, step_budget=step) == HELD
    # It fails: the next try waits the base interval; its success is
    # followed quickly again (one failure may be a wobble).
    assert probe.budget(3.5, 150_000, 0.0, wanting=True, step_budget=step) is None
    assert probe.budget(13.5, 150_000, 0.0, wanting=True, step_budget=step) == HELD
    assert probe.budget(14.0, 190_000, 0.0, wanting=True, step_budget=step) is None  # success
    assert probe.budget(16.0, 195_000, 0.0, wanting=True, step_budget=step) == HELD
    # A second failure: the link is at its limit, back to the base interval.
    assert probe.budget(16.5, 150_000, 0.0, wanting=True, step_budget=step) is None
    assert probe.budget(36.5, 150_000, 0.0, wanting=True, step_budget=step) == HELD
    assert probe.budget(37.0, 190_000, 0.0, wanting=True, step_budget=step) is None  # success
    assert probe.budget(39.0, 195_000, 0.0, wanting=True, step_budget=step) is None
    assert probe.budget(47.0, 195_000, 0.0, wanting=True, step_budget=step) == HELD


def test_quick_steps_end_some_time_after_the_view_asked():
    probe = BandwidthProbe(every=10, longest=8, after_success=2, eager_for=20)
    probe.soon()
    assert probe.budget(0.0, 150_000, 0.0, wanting=False, step_budget=step) is None
    assert probe.budget(21.0, 150_000, 0.0, wanting=True, step_budget=step) == HELD
    assert probe.budget(22.0, 190_000, 0.0, wanting=True, step_budget=step) is None  # success
    assert probe.budget(24.0, 195_000, 0.0, wanting=True, step_budget=step) is None
    assert probe.budget(32.0, 195_000, 0.0, wanting=True, step_budget=step) == HELD


def test_loss_or_a_falling_estimate_ends_a_probe_and_the_next_waits_longer():
    probe = BandwidthProbe(every=10, max_every=40, longest=8)
    assert probe.budget(0.0, 150_000, 0.0, True, step) == HELD
    # The browser saw its queue grow and cut its estimate: taken back at once.
    assert probe.budget(1.0, 120_000, 0.0, True, step) is None
    assert probe.failures == 1
    assert probe.budget(10.9, 150_000, 0.0, True, step) is None
    assert probe.budget(11.0, 150_000, 0.0, True, step) == HELD
    assert probe.budget(12.0, 150_000, 0.05, True, step) is None  # loss
    # 20 s now, then 40, never more than max_every.
    assert probe.budget(31.9, 150_000, 0.0, True, step) is None
    assert probe.budget(32.0, 150_000, 0.0, True, step) == HELD
    assert probe.budget(40.1, 150_000, 0.0, True, step) is None  # no answer in 8 s: a failure
    assert probe.budget(80.0, 150_000, 0.0, True, step) is None
    assert probe.budget(80.1, 150_000, 0.0, True, step) == HELD
    assert probe.budget(81.0, 100_000, 0.0, True, step) is None
    assert probe.budget(120.9, 150_000, 0.0, True, step) is None
    assert probe.budget(121.1, 150_000, 0.0, True, step) == HELD
    assert probe.failures == 4


def test_no_probe_when_nothing_is_wanted_on_a_lossy_link_or_within_the_estimate():
    probe = BandwidthProbe()
    assert probe.budget(0.0, 150_000, 0.0, wanting=False, step_budget=step) is None
    assert probe.budget(0.0, 150_000, 0.03, wanting=True, step_budget=step) is None
    assert probe.budget(0.0, 150_000, 0.0, wanting=True, step_budget=lambda: None) is None
    assert probe.budget(0.0, 250_000, 0.0, wanting=True, step_budget=step) is None
    assert not probe.active


def test_a_view_change_probes_at_once_with_the_base_interval():
    probe = BandwidthProbe(every=10, max_every=60)
    probe.budget(0.0, 150_000, 0.0, True, step)
    probe.budget(1.0, 100_000, 0.0, True, step)  # failed: next at 11, then 20 s
    probe.soon()  # a pin
    assert probe.budget(1.5, 150_000, 0.0, True, step) == HELD
    probe.budget(2.0, 100_000, 0.0, True, step)  # failed again: 10 s, not 20
    assert probe.budget(11.9, 150_000, 0.0, True, step) is None
    assert probe.budget(12.0, 150_000, 0.0, True, step) == HELD
