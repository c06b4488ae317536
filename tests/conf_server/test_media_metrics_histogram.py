"""The histogram /metrics builds its media-quality families from."""

from __future__ import annotations

import pytest

from conf_server.http.media_metrics import Histogram


def test_histogram_buckets_are_cumulative_and_end_with_inf():
    histogram = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value)
    assert histogram.buckets() == [("0.1", 2), ("1.0", 3), ("+Inf", 4)]
    assert histogram.total == pytest.approx(3.65)
