"""Summaries, medians over runs, and the JSON / markdown / PNG outputs of a benchmark."""

from __future__ import annotations

import json
import math
import platform
import statistics
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any

from .measure import Step, slope
from .scenarios import ScenarioResult, cpu_per_subscriber, find_knee
from .simulcast_scenario import simulcast_figures


def _median_steps(step_lists: list[list[Step]]) -> list[Step]:
    """Per load, the median of every number over the lists that reached it."""
    loads = sorted({s.load for steps in step_lists for s in steps})
    steps = []
    for load in loads:
        same = [s for run in step_lists for s in run if s.load == load]
        values: dict[str, Any] = {}
        for f in fields(Step):
            numbers = [getattr(s, f.name) for s in same]
            finite = [n for n in numbers if not (isinstance(n, float) and math.isnan(n))]
            values[f.name] = statistics.median(finite) if finite else float("nan")
        values["load"] = load
        values["fds"] = int(values["fds"])
        values["peer_connections"] = int(values["peer_connections"])
        steps.append(Step(**values))
    return steps


def median_result(runs: list[ScenarioResult]) -> ScenarioResult:
    """Per load step, the median of every number over the runs that reached it."""
    steps = _median_steps([run.steps for run in runs])
    phases: dict[str, list[float]] = {}
    for run in runs:
        for phase, value in run.join_phases_ms.items():
            phases.setdefault(phase, []).append(value)
    result = ScenarioResult(
        runs[0].name,
        steps,
        {p: statistics.median(v) for p, v in phases.items()},
        notes=sorted({n for run in runs for n in run.notes}),
    )
    result.knee = find_knee(steps)
    if runs[0].variants:
        names = runs[0].variants
        result.variants = {n: _median_steps([r.variants.get(n, []) for r in runs]) for n in names}
        result.figures = simulcast_figures(result.variants, runs[0].figures)
    return result


def _latency_step(result: ScenarioResult, prefer: int = 50) -> Step | None:
    loaded = [s for s in result.steps if s.load > 0 and not math.isnan(s.latency_ms_p50)]
    exact = [s for s in loaded if s.load == prefer]
    if exact:
        return exact[0]
    below = [s for s in loaded if s.load <= prefer]
    choice = below or loaded
    return choice[-1] if choice else None


def summarize(results: dict[str, ScenarioResult]) -> dict[str, Any]:
    """The headline numbers (the last line of ``conf-bench --quick``)."""
    summary: dict[str, Any] = {}
    a = results.get("a_one_to_many")
    if a is not None:
        loaded = [s for s in a.steps if s.load > 0]
        per_packet = slope(
            [s.forwarded_pps for s in loaded], [s.server_cpu_percent / 100 for s in loaded]
        )
        idle = [s for s in a.steps if s.load == 0]
        latency = _latency_step(a)
        pcs = [s.peer_connections for s in a.steps]
        summary.update(
            us_per_forwarded_packet=round(per_packet * 1e6, 2),
            us_per_received_packet=(
                round(idle[0].server_cpu_percent / 100 / idle[0].received_pps * 1e6, 2)
                if idle and idle[0].received_pps
                else None
            ),
            cpu_percent_per_subscriber=round(cpu_per_subscriber(a), 3),
            latency_at_subscribers=latency.load if latency else None,
            latency_ms_p50=round(latency.latency_ms_p50, 3) if latency else None,
            latency_ms_p95=round(latency.latency_ms_p95, 3) if latency else None,
            latency_ms_p99=round(latency.latency_ms_p99, 3) if latency else None,
            max_loss_percent=round(max((s.loss_percent for s in loaded), default=0.0), 3),
            knee_subscribers=a.knee,
            knee_subscribers_1ms_floor=find_knee(a.steps, floor_ms=1.0),
            join_phases_ms=a.join_phases_ms,
            rss_kb_per_peer_connection=round(
                slope([float(p) for p in pcs], [s.rss_mb * 1024 for s in a.steps]), 1
            ),
            fds_per_peer_connection=round(
                slope([float(p) for p in pcs], [float(s.fds) for s in a.steps]), 2
            ),
        )
    relay = results.get("mediarelay_baseline")
    if relay is not None and a is not None:
        ours, theirs = cpu_per_subscriber(a), cpu_per_subscriber(relay)
        summary["mediarelay_cpu_percent_per_subscriber"] = round(theirs, 2)
        summary["mediarelay_cpu_ratio"] = round(theirs / ours, 1) if ours > 0 else None
    if "b_full_mesh" in results:
        summary["full_mesh_knee"] = results["b_full_mesh"].knee
    hybrid = results.get("hybrid_meeting")
    if hybrid is not None:
        summary.update(
            hybrid_knee_one_worker=hybrid.figures.get("knee_one_worker"),
            hybrid_participants_per_core=hybrid.figures.get("participants_per_core"),
            hybrid_knee_two_workers=hybrid.figures.get("knee_two_workers"),
        )
        if "two_workers_unavailable" in hybrid.figures:
            summary["hybrid_two_workers"] = hybrid.figures["two_workers_unavailable"]
    simulcast = results.get("simulcast_cost")
    if simulcast is not None and simulcast.figures.get("per_subscribers"):
        steps = simulcast.figures["per_subscribers"]
        # The most subscribers at which the server kept up (else the most).
        last = next((s for s in reversed(steps) if s.get("clean")), steps[-1])
        summary.update(
            simulcast_cpu_ratio=last["ratio"],
            simulcast_ratio_subscribers=last["subscribers"],
            simulcast_us_per_forwarded_packet=last["simulcast_us_per_forwarded_packet"],
            single_layer_us_per_forwarded_packet=last["single_us_per_forwarded_packet"],
        )
    return summary


def environment() -> dict[str, Any]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "-"

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": cpu,
        "aiortc": version("aiortc"),
        "aioice": version("aioice"),
        "pylibsrtp": version("pylibsrtp"),
        "av": version("av"),
    }


COLUMNS = (
    ("load", "load"), ("server CPU %", "server_cpu_percent"),
    ("load gen CPU %", "loadgen_cpu_percent"), ("in pkt/s", "received_pps"),
    ("out pkt/s", "forwarded_pps"), ("expected", "expected_pps"),
    ("loss %", "loss_percent"), ("p50 ms", "latency_ms_p50"), ("p95 ms", "latency_ms_p95"),
    ("p99 ms", "latency_ms_p99"), ("RSS MB", "rss_mb"), ("fds", "fds"),
)  # fmt: skip


def markdown(results: dict[str, ScenarioResult], summary: dict[str, Any]) -> str:
    lines = ["# conf-bench results", "", "```json", json.dumps(summary, indent=2), "```", ""]
    for result in results.values():
        lines += [f"## {result.name}", ""]
        lines.append("| " + " | ".join(c for c, _ in COLUMNS) + " |")
        lines.append("|" + "---|" * len(COLUMNS))
        for step in result.steps:
            cells = []
            for _, name in COLUMNS:
                value = getattr(step, name)
                cells.append(f"{value:.3g}" if isinstance(value, float) else str(value))
            lines.append("| " + " | ".join(cells) + " |")
        if result.join_phases_ms:
            lines += ["", f"Join phases (median ms from join): {result.join_phases_ms}"]
        if result.knee is not None:
            lines.append(f"Knee: {result.knee}")
        lines += _variant_lines(result)
        lines += [f"- {note}" for note in result.notes]
        lines.append("")
    return "\n".join(lines)


def _variant_lines(result: ScenarioResult) -> list[str]:
    """A scenario measured several ways: each way's steps, then its figures
    (a scenario with figures but one way: its figures)."""
    if not result.variants:
        if not result.figures:
            return []
        return ["", "```json", json.dumps(result.figures, indent=2), "```"]
    lines = ["", "| load | way | server CPU % | in pkt/s | out pkt/s | expected | loss % |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for step_index in range(max(len(v) for v in result.variants.values())):
        for name, steps in result.variants.items():
            if step_index < len(steps):
                s = steps[step_index]
                lines.append(
                    f"| {s.load} | {name} | {s.server_cpu_percent:.3g} | {s.received_pps:.0f} "
                    f"| {s.forwarded_pps:.0f} | {s.expected_pps:.0f} | {s.loss_percent:.3g} |"
                )
    lines += ["", "```json", json.dumps(result.figures, indent=2), "```"]
    return lines


def plots(results: dict[str, ScenarioResult], out: Path) -> list[Path]:
    """CPU vs load and latency percentiles vs load, one PNG each per scenario;
    none (with a note) without matplotlib (``pip install -e .[bench]``): the
    tables and JSON of a long run must not be lost to a missing plot library."""
    try:
        import matplotlib
    except ImportError:
        print("conf-bench: no plots (matplotlib is not installed: pip install -e '.[bench]')")
        return []

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for result in results.values():
        steps = result.steps
        loads = [s.load for s in steps]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(loads, [s.server_cpu_percent for s in steps], "o-", label="server (SFU core)")
        ax.plot(loads, [s.loadgen_cpu_percent for s in steps], "s--", label="load generator")
        ax.set(xlabel="load", ylabel="CPU % of one core", title=f"{result.name}: CPU")
        ax.legend()
        path = out / f"{result.name}-cpu.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
        if all(math.isnan(s.latency_ms_p50) for s in steps):
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, label in (("latency_ms_p50", "p50"), ("latency_ms_p95", "p95"),
                            ("latency_ms_p99", "p99")):  # fmt: skip
            ax.plot(loads, [getattr(s, name) for s in steps], "o-", label=label)
        ax.set(xlabel="load", ylabel="SFU-in to SFU-out, ms", title=f"{result.name}: latency")
        ax.legend()
        path = out / f"{result.name}-latency.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written


def write_all(results: dict[str, ScenarioResult], summary: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "summary": summary,
        "environment": environment(),
        "scenarios": {k: r.as_dict() for k, r in results.items()},
    }
    json_path = out / "results.json"
    json_path.write_text(json.dumps(data, indent=2))
    md_path = out / "results.md"
    md_path.write_text(markdown(results, summary))
    return [json_path, md_path, *plots(results, out)]
