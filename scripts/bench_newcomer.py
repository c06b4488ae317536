#!/usr/bin/env python3
"""How soon everyone in a big room gets a newcomer's video: with and
without spare m-sections (``spare_slots``; issue 21).

A real ``conf-server`` process on one core, and in this process (the other
core) ``--subscribers`` lean receiving clients (conf_bench's BenchClient: no
decoding) and one publisher they all receive, so every receiving connection
is up and has been negotiated. Then, ``--runs`` times, a newcomer joins and
publishes its camera (and receives, as a page does); per run it prints, from
the newcomer's ``join`` to each subscriber's first packet of the newcomer's
video, the median and the last. Newcomers stay, so none finds a slot that
someone who left made free (such a slot, already answered for, starts at once
in either setting). Both settings run in one invocation, one after the other.

Not a test: ``.venv/bin/python scripts/bench_newcomer.py [--subscribers 20] [--runs 5]``.
Runs itself inside a private network namespace (needs root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_support import enter_private_network, machine

from conf_bench import client as bench_client
from conf_bench.loadgen import LoadGenerator
from conf_bench.processes import ServerUnderTest

#: A stream silent this long before the newcomer came carries the newcomer's
#: video when packets appear on it (a free slot taken by the newcomer).
QUIET_S = 0.5
#: Bound for one newcomer to reach everyone: a hang, not a speed.
ARRIVAL_LIMIT_S = 30.0

#: Per receiving client: the time of the last packet per SSRC, and when the
#: newcomer's video first arrived (set during a run).
last_packet: dict[int, dict[bytes, float]] = {}
first_of_newcomer: dict[int, float] = {}
newcomer_since: list[float] = [float("inf")]

_count_raw = bench_client.BenchClient._count_raw


def _timed_count(self: bench_client.BenchClient, data: bytes) -> None:
    """BenchClient's packet counter, noting when a quiet stream starts."""
    _count_raw(self, data)
    if (data[1] & 0x7F) not in self._video_payload_types:
        return
    now = time.monotonic()
    seen = last_packet.setdefault(id(self), {})
    ssrc = data[8:12]
    before = seen.get(ssrc)
    seen[ssrc] = now
    started = newcomer_since[0]
    if now > started and (before is None or before < started - QUIET_S):
        first_of_newcomer.setdefault(id(self), now)


async def one_newcomer(load: LoadGenerator, room: str, receivers: list[Any]) -> list[float]:
    """A newcomer joins and publishes; seconds until each receiver got its video."""
    first_of_newcomer.clear()
    started = time.monotonic()
    newcomer_since[0] = started
    # The newcomer stays: the next one must not find its slots free.
    await load.add(room, 1, video=True, audio=False, wait="")
    deadline = started + ARRIVAL_LIMIT_S
    # Polling: the times are set by packet callbacks of many clients.
    while time.monotonic() < deadline and not all(id(r) in first_of_newcomer for r in receivers):  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    newcomer_since[0] = float("inf")
    times = [first_of_newcomer.get(id(r), float("inf")) - started for r in receivers]
    await asyncio.sleep(2.0)  # the renegotiations it caused are over
    return times


async def room_of(mode: str, subscribers: int, data_dir: Path) -> tuple[Any, Any, list[Any]]:
    server = ServerUnderTest(data_dir)
    await server.start({0}, env={"CONF_SPARE_SLOTS": mode})
    load = LoadGenerator(server.url, data_dir)
    room = f"newcomer-{mode}"
    await load.add(room, 1, video=True, audio=False, wait="", receive=False)
    await load.add(room, subscribers, video=False, audio=False, wait="first_keyframe")
    receivers = load.clients[1:]
    missing = sum(1 for r in receivers if "first_keyframe" not in r.marks)
    if missing:
        raise RuntimeError(f"{missing} of {subscribers} receivers got no video before the runs")
    return server, load, receivers


def describe(times: list[float]) -> str:
    late = sum(1 for t in times if t == float("inf"))
    got = sorted(t for t in times if t != float("inf"))
    text = f"median {statistics.median(got) * 1000:.0f} ms, last {got[-1] * 1000:.0f} ms"
    return text + (f", {late} never" if late else "")


async def bench(subscribers: int, runs: int) -> None:
    os.sched_setaffinity(0, {1})
    bench_client.BenchClient._count_raw = _timed_count  # type: ignore[method-assign]
    results: dict[str, list[list[float]]] = {"1": [], "0": []}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in results:
            data_dir = Path(tmp) / f"spare-{mode}"
            data_dir.mkdir()
            server, load, receivers = await room_of(mode, subscribers, data_dir)
            try:
                for run in range(runs):
                    times = await one_newcomer(load, f"newcomer-{mode}", receivers)
                    results[mode].append(times)
                    print(f"spare_slots={mode} run {run + 1}: {describe(times)}", flush=True)
            finally:
                for client in load.clients:
                    await client.close()
                await server.close()
    print()
    print(f"{subscribers} receivers; from the newcomer's join to its first video packet at each")
    print("| spare_slots | median of run medians | median of run lasts | worst last |")
    print("|---|---|---|---|")
    for mode, series in results.items():
        medians = [statistics.median(t) for t in series]
        lasts = [max(t) for t in series]
        print(
            f"| {mode} | {statistics.median(medians) * 1000:.0f} ms"
            f" | {statistics.median(lasts) * 1000:.0f} ms | {max(lasts) * 1000:.0f} ms |"
        )
    print(machine())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    enter_private_network()
    asyncio.run(bench(options.subscribers, options.runs))


if __name__ == "__main__":
    main()
