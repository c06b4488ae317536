"""Running the scenarios: one fresh meeting per run, figures as plain dicts, medians.

``scenario_figures(name)`` is the entry point for tests that assert quality
thresholds (issue 15): it runs the scenario ``runs`` times and returns the
median figures (the shape is documented in ``Lab._figures``: ``received``
per ``"<receiver><-<publisher>"``, ``sent`` per publisher, ``reconnects``,
``rejoins``, ``server_per_second``, ``relay``, ``shaper_drops``, ``cpu``).
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .lab import Lab
from .scenario_spec import SCENARIOS, Scenario

REPOSITORY = Path(__file__).resolve().parents[2]
WARMUP_S = 15.0
WINDOW_S = 45.0

__all__ = ["SCENARIOS", "Scenario", "median_figures", "run_scenario", "scenario_figures"]


async def run_scenario(
    scenario: Scenario,
    workdir: Path,
    source_tree: Path = REPOSITORY,
    warmup: float = WARMUP_S,
    window: float = WINDOW_S,
    chromium_pattern: bool = False,
) -> dict[str, Any]:
    """One run: join A, B and C, impair C's link, warm up, measure one window."""
    async with Lab(
        source_tree, workdir, chromium_pattern=chromium_pattern, c_camera=scenario.c_camera
    ) as lab:
        before_limit = None
        if scenario.up_kbit is not None:
            # The limit must cut a sender that is above it, as when a laptop
            # moves from the office to a thin uplink; set at once, it would
            # meet a browser still ramping up from its start bitrate.
            before_limit = await lab.ramp_up(scenario.up_kbit)
        await lab.impair(scenario)
        await asyncio.sleep(warmup)
        figures = await lab.measure(window)
    figures["scenario"] = scenario.name
    figures["c_kbps_before_limit"] = before_limit
    figures["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return figures


def median_figures(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-field median of several runs' figures (text fields: the first run's)."""
    first = runs[0]
    if isinstance(first, dict):
        return {key: median_figures([run[key] for run in runs if key in run]) for key in first}
    numbers = [run for run in runs if run is not None]
    if isinstance(first, bool) or not all(isinstance(n, int | float) for n in numbers):
        return first
    if not numbers:
        return None
    # None among numbers means "never" (a sender that did not adapt): infinitely late.
    return statistics.median(float(run) if run is not None else math.inf for run in runs)


async def scenario_figures(
    name: str,
    runs: int = 1,
    workdir: Path | None = None,
    source_tree: Path = REPOSITORY,
    warmup: float = WARMUP_S,
    window: float = WINDOW_S,
) -> dict[str, Any]:
    """Median figures of ``runs`` runs of scenario ``name`` (a key of ``SCENARIOS``)."""
    base = workdir or Path("/tmp") / f"netlab-{name}-{int(time.time())}"
    results = []
    for index in range(runs):
        results.append(
            await run_scenario(
                SCENARIOS[name], base / f"run{index + 1}", source_tree, warmup, window
            )
        )
    figures = median_figures(results)
    figures["runs"] = runs
    return figures
