"""CPU time per kind of process between two moments, from ``/proc``: what a
benchmark's browsers, server and harness each took while it measured (e.g.
whether a core was saturated). Linux only; processes that come and go in
between count from when they were first seen."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds used so far by each process (pid → kind, seconds)."""

    at: float
    processes: dict[int, tuple[str, float]]


def snapshot(at: float) -> Snapshot:
    """Every process's CPU time (user + system) now; ``at`` is the caller's
    clock (seconds), to turn a difference into a share of one core."""
    processes: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:  # gone meanwhile
            continue
        seconds = (int(stat[11]) + int(stat[12])) / _TICKS
        processes[int(entry.name)] = (_kind(command, status), seconds)
    return Snapshot(at, processes)


def shares(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Per kind of process: CPU used between the snapshots, in % of one core."""
    elapsed = max(after.at - before.at, 1e-6)
    used: dict[str, float] = {}
    for pid, (kind, seconds) in after.processes.items():
        earlier = before.processes.get(pid)  # (a kernel worker's name changes with its work)
        spent = seconds - (earlier[1] if earlier else 0.0)
        used[kind] = used.get(kind, 0.0) + spent
    return {kind: 100 * seconds / elapsed for kind, seconds in used.items() if seconds > 0}


def _kind(command: str, status: str) -> str:
    """A Chromium process by its type (renderer, gpu-process, utility:network…)
    and the CPUs it may run on; the server, the Playwright driver and Python
    by name; anything else by its command name."""
    words = command.split()
    if "chrom" in command:
        kind = next((w[7:] for w in words if w.startswith("--type=")), "browser")
        service = next((w[19:] for w in words if w.startswith("--utility-sub-type=")), "")
        if service:
            kind += ":" + service.split(".")[0]
        allowed = status.partition("Cpus_allowed_list:")[2].split()
        cpus = allowed[0] if allowed else "?"
        return f"Chromium {kind} (CPU {cpus})"
    if "conf-server" in command or "conf_server" in command:
        return "server"
    if "playwright" in command:
        return "Playwright driver"
    if "python" in command:
        return "benchmark (Python)"
    name = status.split("\n", 1)[0].removeprefix("Name:").strip()
    return name or "?"
