"""/metrics counters summed from per-object SFU counters never go down when
participants leave (Prometheus would read that as a restart), and count each
increment once."""

from __future__ import annotations

import pytest

from conf_server.http.media_metrics import Histogram, Tally


def test_a_departure_does_not_lower_the_node_wide_counter():
    tally = Tally()
    assert tally.update([("alice", 3), ("bob", 5)]) == 8
    assert tally.update([("alice", 4)]) == 9  # Bob left: his 5 stay counted
    assert tally.update([("alice", 4), ("carol", 2)]) == 11  # Carol joined with 2 already


def test_an_object_counted_again_adds_only_what_it_gained():
    tally = Tally()
    for value in (1, 1, 6, 6, 7):
        total = tally.update([("only", value)])
    assert total == 7


def test_histogram_buckets_are_cumulative_and_end_with_inf():
    histogram = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value)
    assert histogram.buckets() == [("0.1", 2), ("1.0", 3), ("+Inf", 4)]
    assert histogram.total == pytest.approx(3.65)
