"""CPU use of the machine, of a process and of every process in a namespace (from /proc)."""

from __future__ import annotations

import contextlib
import os
import subprocess

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> tuple[float, float]:
    """(busy CPU seconds over all cores, total CPU seconds) since boot."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def process_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def namespace_seconds(namespace: str) -> float:
    """CPU seconds of every process now in ``namespace`` (a browser's whole tree)."""
    out = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    total = 0.0
    for word in out.stdout.split():
        with contextlib.suppress(ValueError):
            total += process_seconds(int(word))
    return total


def load_average() -> float:
    """The one-minute load average (other users of the machine show here)."""
    return os.getloadavg()[0]
