"""A subscriber's downlink estimate follows REMB, cuts on loss, recovers, and distrusts old news."""

from __future__ import annotations

import pytest

from sfu.bandwidth_estimate import DownlinkEstimate


def percent(value: float) -> int:
    """A loss percentage as a receiver report's fraction-lost byte."""
    return round(value / 100 * 256)


def test_before_any_feedback_the_initial_value_is_used():
    assert DownlinkEstimate(initial=800_000).estimate(0.0) == 800_000


def test_remb_is_followed_within_floor_and_ceiling():
    est = DownlinkEstimate(floor=50_000, ceiling=5_000_000)
    est.on_remb(2_500_000, 1.0)
    assert est.estimate(1.5) == 2_500_000
    est.on_remb(300_000, 2.0)
    assert est.estimate(2.5) == 300_000
    est.on_remb(10, 3.0)
    assert est.estimate(3.0) == 50_000
    est.on_remb(90_000_000, 4.0)
    assert est.estimate(4.0) == 5_000_000
    assert est.remb == 90_000_000


def test_the_audio_the_remb_does_not_measure_comes_on_top_of_it():
    # Only video carries abs-send-time, so a REMB measures the video: the
    # audio sent beside it (``uncovered``) is added, once there is a REMB.
    est = DownlinkEstimate(initial=800_000, floor=50_000, ceiling=5_000_000)
    assert est.estimate(0.0, uncovered=120_000) == 800_000  # no REMB yet
    est.on_remb(300_000, 1.0)
    assert est.estimate(1.5, uncovered=120_000) == 420_000
    est.on_loss(percent(20), 2.0)  # the loss-based cap covers everything sent
    assert est.estimate(2.0, uncovered=120_000) <= est.estimate(2.0, uncovered=10_000_000)


def test_a_high_remb_that_stops_coming_decays_to_the_conservative_value():
    est = DownlinkEstimate(initial=1_000_000)
    est.on_remb(5_000_000, 0.0)
    assert est.estimate(4.0) == 5_000_000  # still fresh
    readings = [est.estimate(t) for t in (6.0, 8.0, 12.0, 20.0)]
    assert readings == sorted(readings, reverse=True)
    assert readings[0] < 5_000_000
    assert est.estimate(7.0) == pytest.approx(3_000_000, rel=0.01)  # one half-life
    assert est.estimate(60.0) == pytest.approx(1_000_000, rel=0.01)


def test_a_generous_initial_value_can_have_a_separate_conservative_one():
    est = DownlinkEstimate(initial=20_000_000, conservative=800_000)
    assert est.estimate(0.0) == 20_000_000
    est.on_remb(6_000_000, 0.0)
    assert est.estimate(60.0) == pytest.approx(800_000, rel=0.01)


def test_a_low_remb_that_stops_coming_is_not_raised():
    est = DownlinkEstimate(initial=1_000_000)
    est.on_remb(200_000, 0.0)
    assert est.estimate(60.0) == 200_000


def test_a_fresh_remb_ends_the_decay():
    est = DownlinkEstimate(initial=1_000_000)
    est.on_remb(5_000_000, 0.0)
    assert est.estimate(20.0) < 1_100_000
    est.on_remb(4_000_000, 20.0)
    assert est.estimate(20.5) == 4_000_000


def test_heavy_loss_cuts_once_per_interval():
    est = DownlinkEstimate()
    est.on_remb(2_000_000, 0.0)
    est.on_loss(percent(25), 0.1)
    assert est.estimate(0.1) == pytest.approx(2_000_000 * (1 - 0.25 / 2), rel=0.01)
    cut = est.estimate(0.1)
    # Reports of other streams describing the same congestion: no second cut.
    est.on_loss(percent(25), 0.2)
    assert est.estimate(0.2) == cut
    est.on_loss(percent(25), 0.6)
    assert est.estimate(0.6) == pytest.approx(cut * (1 - 0.25 / 2), rel=0.01)


def test_a_long_rtt_spaces_the_cuts_further():
    est = DownlinkEstimate()
    est.on_remb(2_000_000, 0.0)
    est.on_rtt(1.0)
    est.on_loss(percent(30), 0.0)
    cut = est.estimate(0.0)
    est.on_loss(percent(30), 0.8)
    assert est.estimate(0.8) == cut
    est.on_loss(percent(30), 1.4)
    assert est.estimate(1.4) < cut


def test_moderate_loss_holds_the_estimate():
    est = DownlinkEstimate()
    est.on_remb(2_000_000, 0.0)
    est.on_loss(percent(20), 0.0)
    held = est.estimate(0.0)
    for second in range(1, 6):
        est.on_remb(2_000_000, float(second))
        est.on_loss(percent(5), float(second))
    assert est.estimate(5.0) == held


def test_loss_never_cuts_below_the_floor():
    est = DownlinkEstimate(floor=100_000)
    est.on_remb(300_000, 0.0)
    for step in range(40):
        est.on_loss(255, step * 1.0)
    assert est.estimate(40.0) == 100_000
    # ... and recovery starts from the floor, not from far below it.
    for step in range(41, 46):
        est.on_remb(300_000, step * 1.0)
        est.on_loss(0, step * 1.0)
    assert est.estimate(45.0) == pytest.approx(100_000 * 1.08**5, rel=0.01)


def test_low_loss_grows_the_estimate_back_to_remb_at_about_eight_percent_a_second():
    est = DownlinkEstimate()
    est.on_remb(2_000_000, 0.0)
    est.on_loss(percent(50), 0.0)
    cut = est.estimate(0.0)
    assert cut == pytest.approx(1_500_000, rel=0.01)
    for second in range(1, 4):
        est.on_remb(2_000_000, float(second))
        est.on_loss(0, float(second))
    assert est.estimate(3.0) == pytest.approx(cut * 1.08**3, rel=0.01)
    for second in range(4, 20):
        est.on_remb(2_000_000, float(second))
        est.on_loss(0, float(second))
    assert est.estimate(19.0) == 2_000_000
    # Recovered: the loss cap is gone, so a much higher REMB is followed at once.
    est.on_remb(15_000_000, 20.0)
    assert est.estimate(20.0) == 15_000_000


def test_one_good_report_after_a_long_silence_does_not_jump_the_estimate():
    est = DownlinkEstimate()
    est.on_remb(2_000_000, 0.0)
    est.on_loss(percent(50), 0.0)
    cut = est.estimate(0.0)
    est.on_remb(2_000_000, 30.0)
    est.on_loss(0, 30.0)
    assert est.estimate(30.0) <= cut * 1.081


def test_loss_and_rtt_are_smoothed_and_reported():
    est = DownlinkEstimate()
    assert est.loss == 0.0
    assert est.rtt is None
    est.on_loss(percent(40), 0.0)
    assert est.loss == pytest.approx(0.40, abs=0.01)
    est.on_loss(0, 1.0)
    assert 0.0 < est.loss < 0.40
    est.on_rtt(0.100)
    est.on_rtt(0.200)
    assert est.rtt is not None and 0.100 < est.rtt < 0.200
    est.on_rtt(-1.0)
    est.on_rtt(float("nan"))
    assert est.rtt is not None and 0.100 < est.rtt < 0.200


def test_floor_must_not_exceed_ceiling():
    with pytest.raises(ValueError):
        DownlinkEstimate(floor=2_000_000, ceiling=1_000_000)


def test_link_capacity_is_what_a_full_link_delivered() -> None:
    from sfu.bandwidth_estimate import LinkCapacity

    link = LinkCapacity()
    link.update(0, None, 0.0)
    # Before any receiver report nothing is known.
    assert link.update(100_000, None, 1.0) is None
    # 800 kbit/s sent, 60 % lost: the link carried 320 kbit/s.
    assert link.update(200_000, 0.6, 2.0) == 320_000
    # A few percent: still known.
    assert link.update(235_000, 0.05, 3.0) == 320_000
    # Clean for five seconds: the link is no longer full, the figure goes.
    for second in range(4, 10):
        capacity = link.update(235_000 + 30_000 * (second - 3), 0.0, float(second))
    assert capacity is None


def test_a_rate_delivered_without_loss_is_proven() -> None:
    from sfu.bandwidth_estimate import ProvenRate

    proven = ProvenRate(span=2.0, remember=10.0, startup_span=2.0)
    # Nothing before a report, nor before two clean seconds.
    assert proven.update(0, None, 0.0) is None
    assert proven.update(0, 0.0, 0.0) is None
    assert proven.update(25_000, 0.0, 1.0) is None
    # 200 kbit/s sent for two seconds, the reports clean: the link carries it.
    assert proven.update(50_000, 0.01, 2.0) == 200_000
    # 300 kbit/s for a while: proven too.
    octets = 50_000
    for second in range(3, 7):
        octets += 37_500
        rate = proven.update(octets, 0.0, float(second))
    assert rate == 300_000
    # Sending less (a track paused) does not make the link smaller ...
    for second in range(7, 12):
        octets += 12_500
        rate = proven.update(octets, 0.0, float(second))
    assert rate == 300_000
    # ... until it was measured too long ago.
    for second in range(12, 20):
        octets += 12_500
        rate = proven.update(octets, 0.0, float(second))
    assert rate == 100_000
    # A lossy report ends the spell: nothing proven until clean again.
    assert proven.update(octets + 12_500, 0.05, 20.0) is None
    assert proven.update(octets + 25_000, 0.0, 21.0) is None
    assert proven.update(octets + 37_500, 0.0, 22.0) is None
    assert proven.update(octets + 50_000, 0.0, 23.0) == 100_000


def test_a_new_subscriber_proves_its_rate_in_one_second_later_in_two() -> None:
    """Start-up: the first REMBs come late and low, so one clean second proves
    a rate; after ``startup`` a one-second burst no longer does."""
    from sfu.bandwidth_estimate import ProvenRate

    proven = ProvenRate(span=2.0, startup_span=1.0, startup=10.0)
    assert proven.update(0, 0.0, 0.0) is None  # the first report: start-up begins
    assert proven.update(50_000, 0.0, 1.0) == 400_000  # one clean second suffices
    # Clean again later, after a lossy spell: now it takes two seconds.
    assert proven.update(100_000, 0.2, 11.0) is None
    assert proven.update(100_000, 0.0, 12.0) is None
    assert proven.update(150_000, 0.0, 13.0) is None
    assert proven.update(175_000, 0.0, 14.0) == 300_000
    with pytest.raises(ValueError):
        ProvenRate(span=1.0, startup_span=2.0)
