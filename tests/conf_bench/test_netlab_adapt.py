"""The impaired-network harness's time-to-adapt figure (conf_bench/netlab/stats.py)."""

from __future__ import annotations

from conf_bench.netlab.scenarios import median_figures
from conf_bench.netlab.stats import seconds_to_adapt


def samples(kbps_per_second: list[float], start_ms: float = 10_000) -> list[dict]:
    """One sample a second; the video bytes sent grow at the given rates."""
    out, sent = [], 0.0
    for second, kbps in enumerate([0.0, *kbps_per_second]):
        sent += kbps * 1000 / 8
        entry = {"t": "out", "key": "0/outbound-rtp/1", "kind": "video", "bytes": sent}
        out.append({"at": start_ms + 1000 * second, "entries": [entry]})
    return out


def test_a_sender_adapts_once_it_stays_under_the_limit_for_three_seconds():
    # Limit set at 10 s; 600 kbit/s, a dip, back over, then under for good from 15 s.
    rates = [600, 600, 200, 600, 500, 240, 200, 180, 190]
    assert seconds_to_adapt(samples(rates), 10_000, 250) == 5.0
    # Samples before the limit was set do not count.
    assert seconds_to_adapt(samples([100, 100, 100, 600, 600, 200, 200, 200]), 13_000, 250) == 2.0


def test_a_sender_that_never_gets_under_the_limit_never_adapted():
    assert seconds_to_adapt(samples([600] * 10), 10_000, 250) is None
    # In a median of runs, "never" is later than any figure.
    assert median_figures([{"a": None}, {"a": 4.0}, {"a": 6.0}]) == {"a": 6.0}
    assert median_figures([{"a": None}, {"a": None}]) == {"a": None}
