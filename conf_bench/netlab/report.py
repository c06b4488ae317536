"""Markdown tables and JSON of impaired-network figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .scenario_spec import SCENARIOS


def _f(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def scenario_markdown(name: str, figures: dict[str, Any], label: str = "") -> str:
    """One scenario's table: what each page received from each other, what each
    page sent, then the server's, the relay's and the CPU's figures."""
    title = f"### {name}" + (f" ({label})" if label else "")
    lines = [
        title,
        "",
        f"{SCENARIOS[name].description}; {_f(figures['seconds'], 0)} s window, "
        f"median of {figures.get('runs', 1)} run(s).",
        "",
        "| receiver ← publisher | fps (median) | s < 5 fps per 45 s | video loss % "
        "| video kbit/s | audio loss % | audio concealed % |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for pair, r in sorted(figures["received"].items()):
        receiver, publisher = pair.split("<-")
        lines.append(
            f"| {receiver} ← {publisher} | {_f(r['fps_median'])} "
            f"| {_f(r['slow_seconds_per_45s'], 0)} | {_f(r['video_loss_pct'])} "
            f"| {_f(r['video_kbps'], 0)} | {_f(r['audio_loss_pct'])} "
            f"| {_f(r['audio_concealed_pct'])} |"
        )
    lines += [
        "",
        "| publisher | video sent kbit/s | targetBitrate kbit/s | limited by "
        "| receiver reports (video) | NACKs received | PLIs received | reconnects | rejoins |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for role, s in sorted(figures["sent"].items()):
        lines.append(
            f"| {role} | {_f(s['video_kbps'], 0)} | {_f(s['target_kbps'], 0)} "
            f"| {s['limitation'] or '-'} | {_f(s['receiver_reports'], 0)} "
            f"| {_f(s['nacks_received'], 0)} | {_f(s['plis_received'], 0)} "
            f"| {_f(figures['reconnects'][role], 0)} | {_f(figures['rejoins'][role], 0)} |"
        )
    adapt = figures.get("c_adapt_seconds")
    if SCENARIOS[name].up_kbit is not None:
        lines += [
            "",
            f"C sent {_f(figures.get('c_kbps_before_limit') or 0.0, 0)} kbit/s of video "
            "when the limit was set, and was under it (3 s in a row) after: "
            + (
                f"{_f(adapt)} s"
                if adapt is not None and adapt != float("inf")
                else "never, within the warm-up"
            )
            + " from the moment the limit was set.",
        ]
    server = figures["server_per_second"]
    wanted = [
        ("conf_rtp_packets_forwarded", "forwarded"),
        ("conf_rtp_retransmissions", "retransmissions"),
        ("conf_rtp_nacks_received", "NACKed seqs from subscribers"),
        ("conf_keyframe_requests", "keyframe requests"),
        ("conf_rtp_packets_dropped", "dropped (transport down)"),
    ]
    server_text = ", ".join(f"{label} {_f(server.get(key, 0.0))}" for key, label in wanted)
    extra = sorted(set(server) - {key for key, _ in wanted} - {"process_cpu_seconds"})
    lines += ["", f"Server, per second: {server_text}."]
    if extra:
        lines.append("Other server counters per second: "
                     + ", ".join(f"{k} {_f(server[k])}" for k in extra) + ".")  # fmt: skip
    for direction, what in (("down", "to C"), ("up", "from C")):
        relay = figures["relay"][direction]
        frames = relay["frames"]
        lines.append(
            f"Relay {what}: {_f(frames, 0)} frames, {_f(relay['dropped'], 0)} dropped "
            f"({_f(100 * relay['dropped'] / frames if frames else 0.0)} %), "
            f"{_f(relay['delayed'], 0)} delayed, {_f(relay['send_errors'], 0)} refused by "
            f"a full tbf queue (tc counted {_f(figures['shaper_drops'][direction], 0)} drops)."
        )
    cpu = figures["cpu"]
    lines.append(
        f"CPU: machine {_f(cpu['machine_pct'], 0)} % of 2 cores, server "
        f"{_f(cpu['server_pct'], 0)} % of a core, browsers A/B/C "
        f"{_f(cpu['browser_A_pct'], 0)}/{_f(cpu['browser_B_pct'], 0)}/"
        f"{_f(cpu['browser_C_pct'], 0)} %, load average {_f(cpu['load_average'], 2)}."
    )
    return "\n".join(lines) + "\n"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _group(received: dict[str, Any], pairs: list[str]) -> str:
    """fps / s < 5 fps / video loss % / audio concealed %, averaged over ``pairs``."""
    rows = [received[pair] for pair in pairs]
    return " / ".join(
        _f(_mean([row[key] for row in rows]), digits)
        for key, digits in (("fps_median", 1), ("slow_seconds_per_45s", 0),
                            ("video_loss_pct", 0), ("audio_concealed_pct", 0))
    )  # fmt: skip


def summary_markdown(results: dict[str, dict[str, Any]]) -> str:
    """One line per scenario, from C's side (the impaired participant): what C
    receives from A and B, what A and B receive from C, what A and B receive from
    each other, C's sender, the SFU's repair traffic, reconnects and CPU."""
    lines = [
        "| scenario | C ← A,B: fps / s < 5 fps / video loss % / audio concealed % "
        "| A,B ← C: fps / s < 5 fps / video loss % / audio concealed % | A ↔ B fps "
        "| C sends kbit/s (target) | C's receiver reports | SFU retransmissions/s, "
        "NACKs in/s, PLIs to publishers/s | reconnects A/B/C | CPU machine % / server % / load |",
        "|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for name, f in results.items():
        r = f["received"]

        c_sent, server, cpu = f["sent"]["C"], f["server_per_second"], f["cpu"]
        lines.append(
            f"| {name} | {_group(r, ['C<-A', 'C<-B'])} | {_group(r, ['A<-C', 'B<-C'])} "
            f"| {_f(_mean([r['A<-B']['fps_median'], r['B<-A']['fps_median']]))} "
            f"| {_f(c_sent['video_kbps'], 0)} ({_f(c_sent['target_kbps'], 0)}) "
            f"| {_f(c_sent['receiver_reports'], 0)} "
            f"| {_f(server.get('conf_rtp_retransmissions', 0.0), 0)}, "
            f"{_f(server.get('conf_rtp_nacks_received', 0.0), 0)}, "
            f"{_f(server.get('conf_keyframe_requests', 0.0))} "
            f"| {'/'.join(_f(f['reconnects'][x], 0) for x in 'ABC')} "
            f"| {_f(cpu['machine_pct'], 0)} / {_f(cpu['server_pct'], 0)} "
            f"/ {_f(cpu['load_average'], 0)} |"
        )
    return "\n".join(lines) + "\n"


def write_results(out: Path, label: str, results: dict[str, dict[str, Any]]) -> str:
    """Write ``results.json`` and ``results.md`` under ``out/label``; returns the markdown."""
    directory = out / label
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    markdown = f"## {label}\n\n" + summary_markdown(results) + "\n"
    markdown += "\n".join(scenario_markdown(name, f, label) for name, f in results.items())
    (directory / "results.md").write_text(markdown)
    return markdown


def main(argv: list[str] | None = None) -> int:
    """``python -m conf_bench.netlab.report DIR``: print DIR/results.json's tables again."""
    directory = Path((argv or sys.argv[1:])[0])
    results = json.loads((directory / "results.json").read_text())
    print(write_results(directory.parent, directory.name, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
