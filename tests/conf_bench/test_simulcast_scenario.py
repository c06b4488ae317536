"""conf-bench's simulcast scenario, smallest step: a real conf-server and load
generator (separate processes, ICE on 127.0.0.1), two publishers sending three
layers or the top one, two subscribers.

Checks what the scenario's figures rest on, not how fast anything is: the SFU
bound all three layers of each simulcast publisher (it sends receiver reports
for each layer's SSRC), had the middle one paused once subscribers all took
the top one (dynacast), subscribers received the forwarded video in both
ways, and the report carries both per-packet figures and the receive figures.
The pre-encoded media is kept in pytest's cache, so only the first run encodes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conf_bench import report
from conf_bench.scenarios import Context
from conf_bench.simulcast_scenario import NAME, simulcast_cost

pytestmark = [pytest.mark.media, pytest.mark.timeout(300)]

SUBSCRIBERS = 2
PUBLISHERS = 2


async def test_smallest_step_binds_three_layers_and_reports_both_costs(
    media_cache_dir: Path, tmp_path: Path
) -> None:
    lines: list[str] = []
    ctx = Context(tmp_path / "work", media_cache_dir, window_s=1.5, log=lines.append)

    result = await simulcast_cost(ctx, [SUBSCRIBERS], publishers=PUBLISHERS)

    figures = result.figures
    assert figures["bound_layers"] == [["q", "h", "f"]] * PUBLISHERS
    # Everyone takes the top layer: the SFU had the middle one paused
    # (dynacast), the lowest is always kept.
    assert figures["layers_on"][SUBSCRIBERS] == ["q,f"]
    assert result.notes == []  # every subscriber got every stream, every layer bound
    for way in ("single", "simulcast"):
        loaded = [s for s in result.variants[way] if s.load == SUBSCRIBERS]
        assert len(loaded) == 1
        assert loaded[0].forwarded_pps > 0
        assert loaded[0].delivered_pps > 0
        assert loaded[0].expected_pps > 0
    idle = next(s for s in result.variants["idle"] if s.load == SUBSCRIBERS)
    assert idle.forwarded_pps == 0  # nobody sent in the idle window
    # Each way is measured twice per step, mirrored (idle, single, simulcast,
    # simulcast, single, idle), and the step is their mean.
    for way in ("idle", "single", "simulcast"):
        assert sum(f"N={SUBSCRIBERS} {way}:" in line for line in lines) == 2

    (step,) = figures["per_subscribers"]
    assert step["subscribers"] == SUBSCRIBERS
    assert step["single_us_per_forwarded_packet"] is not None
    assert step["simulcast_us_per_forwarded_packet"] is not None
    assert step["ratio"] is not None
    assert step["ratio_less_extra_layers"] is not None
    assert all(cpu is not None and cpu > 0 for cpu in step["loadgen_cpu_percent"])
    receive = figures["receive"]
    # Three layers are more packets than the top one alone (180p + 360p on top).
    assert receive["simulcast_pps_per_publisher"] > receive["single_pps_per_publisher"] > 0
    assert receive["extra_layers_cpu_percent_per_publisher"] is not None
    assert figures["extra_layers"]["us_per_extra_received_packet"] is not None

    results = {NAME: result}
    summary = report.summarize(results)
    assert summary["simulcast_cpu_ratio"] == step["ratio"]
    text = report.markdown(results, summary)
    assert "| simulcast |" in text and "| single |" in text
    again = report.median_result([result, result])
    assert again.figures["per_subscribers"] == figures["per_subscribers"]
