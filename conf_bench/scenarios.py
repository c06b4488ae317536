"""The benchmark scenarios. Each starts its own server and load generator and stops them."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .measure import Expected, Step, measure, measure_cpu_only, slope
from .processes import LoadGenProcess, ServerUnderTest, cores

WARMUP_S = 1.5


@dataclass
class Context:
    """Where a run keeps its files, and how long each window lasts."""

    work_dir: Path
    cache_dir: Path
    window_s: float = 4.0
    log: Any = print


@dataclass
class ScenarioResult:
    name: str
    steps: list[Step]
    join_phases_ms: dict[str, float] = field(default_factory=dict)
    knee: int | None = None
    notes: list[str] = field(default_factory=list)
    #: Scenarios that measure each load in several ways (e.g. one layer vs
    #: three): the steps of each way, by name. ``steps`` is one of them.
    variants: dict[str, list[Step]] = field(default_factory=dict)
    #: Figures derived from the steps (and facts checked during the run).
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "steps": [s.as_dict() for s in self.steps],
            "join_phases_ms": self.join_phases_ms,
            "knee": self.knee,
            "notes": self.notes,
            "variants": {k: [s.as_dict() for s in v] for k, v in self.variants.items()},
            "figures": self.figures,
        }


@asynccontextmanager
async def processes(ctx: Context, module: str = "conf_server") -> AsyncIterator[tuple[Any, Any]]:
    """A server on the first core and a load generator on the others, both stopped after."""
    server_cpus, load_cpus = cores()
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    server = ServerUnderTest(ctx.work_dir)
    loadgen = LoadGenProcess()
    try:
        await server.start(server_cpus, module)
        await loadgen.start(server.url, ctx.cache_dir, load_cpus)
        yield server, loadgen
    finally:
        if hasattr(loadgen, "proc"):
            await loadgen.close()
        if hasattr(server, "proc"):
            await server.close()


def _phase_medians(phases: dict[str, list[float]]) -> dict[str, float]:
    return {p: round(1000 * statistics.median(v), 1) for p, v in phases.items() if v}


def find_knee(steps: list[Step], floor_ms: float = 0.0) -> int | None:
    """Largest load whose p95 latency is at most twice the baseline and loss < 1 %.

    The baseline is the first loaded step's p95, or ``floor_ms`` if larger: with
    sub-millisecond latencies "twice the baseline" is reached by the sequential
    fan-out to a handful of subscribers long before anything is overloaded.
    """
    loaded = [s for s in steps if s.load > 0]
    if not loaded:
        return None
    base = max(loaded[0].latency_ms_p95, floor_ms)
    knee = None
    for step in loaded:
        if step.loss_percent < 1 and step.latency_ms_p95 <= 2 * max(base, 0.05):
            knee = step.load
        else:
            break
    return knee


async def wait_for_streams(
    loadgen: LoadGenProcess, wanted: int, result: ScenarioResult, label: str = ""
) -> None:
    """Wait (up to 60 s) until every receiving client gets ``wanted`` streams."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    census: list[int] = []
    while loop.time() < deadline:
        census = (await loadgen.command("stream_census"))["streams"]
        if census and min(census) >= wanted:
            return
    result.notes.append(f"{label}: not every receiver got all {wanted} streams: {census}")


def _video_times(n: int) -> Expected:
    return lambda received, video: video * n


def _all_times(n: int) -> Expected:
    return lambda received, video: received * n


def _saturated(step: Step) -> bool:
    return step.loss_percent > 5 or step.server_cpu_percent > 97


async def one_to_many(ctx: Context, steps: list[int]) -> ScenarioResult:
    """(a) one video publisher, N subscribers."""
    result = ScenarioResult("a_one_to_many", [])
    phases: dict[str, list[float]] = {}
    async with processes(ctx) as (server, loadgen):
        await loadgen.command("add", room="a", count=1, video=True, audio=False, wait="")
        await asyncio.sleep(2 * WARMUP_S)
        result.steps.append(await measure(server, loadgen, 0, ctx.window_s, lambda r, v: 0.0))
        current = 0
        for n in steps:
            added = await loadgen.command(
                "add", room="a", count=n - current, video=False, audio=False,
                wait="first_keyframe",
            )  # fmt: skip
            for phase, values in added["phases"].items():
                phases.setdefault(phase, []).extend(values)
            current = n
            await asyncio.sleep(WARMUP_S)
            step = await measure(server, loadgen, n, ctx.window_s, _video_times(n))
            result.steps.append(step)
            ctx.log(f"  (a) N={n}: {_describe(step)}")
            if _saturated(step):
                result.notes.append(f"stopped after N={n}: past the knee")
                break
    result.join_phases_ms = _phase_medians(phases)
    result.knee = find_knee(result.steps)
    return result


async def full_mesh(ctx: Context, sizes: list[int]) -> ScenarioResult:
    """(b) K participants, each publishing audio and video and receiving everyone else."""
    result = ScenarioResult("b_full_mesh", [])
    async with processes(ctx) as (server, loadgen):
        current = 0
        for k in sizes:
            await loadgen.command(
                "add", room="b", count=k - current, video=True, audio=True, wait="first_keyframe"
            )
            current = k
            await wait_for_streams(loadgen, 2 * (k - 1), result, label=f"K={k}")
            await asyncio.sleep(WARMUP_S)
            step = await measure(server, loadgen, k, ctx.window_s, _all_times(k - 1))
            result.steps.append(step)
            ctx.log(f"  (b) K={k}: {_describe(step)}")
            if step.loadgen_cpu_percent > 90:
                result.notes.append(f"K={k}: the load generator's core is saturated")
            if _saturated(step):
                result.notes.append(f"stopped after K={k}")
                break
    result.knee = find_knee(result.steps)
    return result


async def paged_meeting(
    ctx: Context, participants: int = 50, page: int = 16, receivers: int = 5
) -> ScenarioResult:
    """(c) a large meeting where each receiver shows one gallery page of video, all audio.

    Everyone publishes audio and video; ``receivers`` of them receive (a Python
    load generator cannot receive for all 50 on one core). The SFU's cost per
    receiver is measured and reported; the full meeting is that times 50.
    """
    result = ScenarioResult("c_paged_meeting", [])
    async with processes(ctx) as (server, loadgen):
        await loadgen.command(
            "add", room="c", count=receivers, video=True, audio=True, wait="first_packet"
        )
        await loadgen.command(
            "add", room="c", count=participants - receivers, video=True, audio=True,
            wait="", receive=False,
        )  # fmt: skip
        await loadgen.command("set_view", visible=page)
        # Joining 50 people renegotiates every receiver many times: measure once
        # each receiver gets all its streams (49 audio + one page of video).
        await wait_for_streams(loadgen, participants - 1 + page, result)
        await asyncio.sleep(WARMUP_S)

        def expected(received: float, video: float) -> float:
            audio = received - video
            per_sender_audio, per_sender_video = audio / participants, video / participants
            return receivers * ((participants - 1) * per_sender_audio + page * per_sender_video)

        step = await measure(server, loadgen, participants, ctx.window_s, expected)
        result.steps.append(step)
        ctx.log(f"  (c) {participants} people, {receivers} receivers: {_describe(step)}")
        result.notes.append(
            f"{participants} publishers (audio+video), {receivers} receivers each showing "
            f"{page} videos and all audio; server CPU per receiver is about "
            f"{step.server_cpu_percent / receivers:.1f} % of a core including the shared "
            "receive cost"
        )
    return result


async def mediarelay_baseline(ctx: Context, steps: list[int]) -> ScenarioResult:
    """aiortc's MediaRelay: decode once, re-encode for every subscriber."""
    result = ScenarioResult("mediarelay_baseline", [])
    async with processes(ctx, module="conf_bench.relay_server") as (server, loadgen):
        await loadgen.command("relay_add", count=1, publish=True)
        await asyncio.sleep(2 * WARMUP_S)
        result.steps.append(await measure_cpu_only(server, loadgen, 0, ctx.window_s))
        current = 0
        for n in steps:
            await loadgen.command("relay_add", count=n - current, publish=False)
            current = n
            await asyncio.sleep(2 * WARMUP_S)
            step = await measure_cpu_only(server, loadgen, n, ctx.window_s)
            result.steps.append(step)
            ctx.log(f"  MediaRelay N={n}: server {step.server_cpu_percent:.1f} % CPU")
    return result


def cpu_per_subscriber(result: ScenarioResult) -> float:
    """Server CPU (% of a core) each extra subscriber costs: slope over the loaded steps."""
    steps = [s for s in result.steps if s.load > 0]
    return slope([s.load for s in steps], [s.server_cpu_percent for s in steps])


def _describe(step: Step) -> str:
    return (
        f"server {step.server_cpu_percent:.1f} % CPU, {step.forwarded_pps:.0f} pkt/s out "
        f"(expected {step.expected_pps:.0f}), loss {step.loss_percent:.2f} %, "
        f"p50/p99 {step.latency_ms_p50:.3f}/{step.latency_ms_p99:.3f} ms, "
        f"load generator {step.loadgen_cpu_percent:.0f} %"
    )
