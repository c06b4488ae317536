"""The benchmark's own arithmetic: percentiles from histogram scrapes, slope, knee, medians."""

from __future__ import annotations

import math
import subprocess
import sys

from conf_bench.measure import Step, percentile, slope
from conf_bench.report import median_result, summarize
from conf_bench.scenarios import ScenarioResult, find_knee
from sfu.stats import LATENCY_BUCKETS, SfuStats

NAME = "conf_forwarding_latency_seconds_bucket|"


def scrape_of(stats: SfuStats) -> dict[str, float]:
    """What /metrics would say about ``stats``: cumulative bucket counts."""
    out, total = {}, 0
    for bound, count in zip(
        (*map(str, LATENCY_BUCKETS), "+Inf"), stats.latency_counts, strict=True
    ):
        total += count
        out[NAME + bound] = float(total)
    return out


def test_percentile_of_a_scrape_difference_lands_in_the_right_bucket():
    before_stats, after_stats = SfuStats(), SfuStats()
    for value in [0.00003] * 50 + [0.0003] * 45 + [0.003] * 5:
        after_stats.observe_latency(value)
    before, after = scrape_of(before_stats), scrape_of(after_stats)
    assert 0.02 <= percentile(before, after, 0.50) <= 0.05  # 20-50 us bucket, in ms
    assert 0.2 <= percentile(before, after, 0.95) <= 0.5
    assert 2.0 <= percentile(before, after, 0.99) <= 5.0
    assert math.isnan(percentile(after, after, 0.5))  # no samples in the window


def step(load: int, cpu: float = 1.0, p95: float = 0.1, loss: float = 0.0) -> Step:
    return Step(load, cpu, 1.0, 100.0, 100.0 * load, 100.0 * load, 100.0 * load, loss,
                p95 / 2, p95, p95, 90.0, 10 + 2 * load, load + 1)  # fmt: skip


def test_slope_and_knee():
    assert slope([1, 2, 3], [2, 4, 6]) == 2
    assert math.isnan(slope([1, 1], [2, 3]))
    steps = [step(0), step(1, p95=0.1), step(5, p95=0.15), step(10, p95=0.3), step(20, p95=0.9)]
    assert find_knee(steps) == 5
    assert find_knee(steps, floor_ms=1.0) == 20
    assert find_knee([step(1), step(5, loss=2.0)]) == 1


def test_median_over_runs_and_summary():
    runs = [
        ScenarioResult("a_one_to_many", [step(0, 1), step(10, 2.0 + i), step(20, 3.0 + i)])
        for i in range(3)
    ]
    merged = median_result(runs)
    assert [s.server_cpu_percent for s in merged.steps] == [1, 3.0, 4.0]
    summary = summarize({merged.name: merged})
    for key in ("us_per_forwarded_packet", "latency_ms_p50", "latency_ms_p99"):
        assert key in summary


def test_cli_refuses_unknown_scenarios_clearly():
    result = subprocess.run(
        [sys.executable, "-m", "conf_bench", "--scenarios", "a,zz"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2 and "unknown scenario" in result.stderr
    assert "Traceback" not in result.stderr
