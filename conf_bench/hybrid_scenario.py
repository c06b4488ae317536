"""Scenario "hybrid": how many people of a hybrid meeting one worker carries.

N participants join one room. Each publishes a simulcast camera (three VP8
layers, conf_bench.layered_publisher, following the SFU's dynacast) and an
Opus microphone with audio levels (conf_bench.voice_publisher): three of them
talk, the others are silent and send as Opus DTX does. Every third
participant sits in one acoustic zone ("in-room devices": the first is the
room's own device, ``mode: room``, the others companions): the server
forwards no audio between them. Each participant receives a 9-tile gallery
page (``set_view`` with the ids of the 9 participants after it in joining
order and tiles 225 device pixels tall, a 1280x720 window), so the SFU's
paged forwarding sends it those 9 cameras' lowest layer, and speaker
selection (K = 3) the voices of the talkers outside its zone.

N is stepped up. At each step, once the new cameras' unused layers are paused
(dynacast, ``SETTLE_S``), a census checks every receiver gets exactly its
tiles' video and at most K (exactly its audible talkers') audio streams, and
a window measures the worker's CPU and loss (conf_bench.hybrid_measure). The
knee is the largest N whose step is clean: census right, loss below
``MAX_LOSS_PERCENT`` on the receivers' side and into the server, no packet
dropped or left unrepaired by the server, no UDP buffer error in the
namespace, and no worker above ``MAX_CPU_PERCENT``.

The variant **spread** runs the same meeting on ``conf-server --workers 2``
with a real redis-server, the media relays and ``room_span_load`` 1 (rooms
spread over nodes from their second participant), participants joining
through the two workers' node URLs in turn (and following ``wrong_node`` as
clients do). It needs rooms that span nodes (issue 17, point 3): if the
second worker sends its joiner to the first, the variant reports that it is
not available, with the reason, and measures nothing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .hybrid_measure import Losses, Scraped, measure_window
from .measure import Step
from .processes import LoadGenProcess, ServerUnderTest
from .scenarios import Context, ScenarioResult
from .sender_check import sender_problems
from .workers import RedisProcess, Worker, started_workers

NAME = "hybrid_meeting"
ROOM = "hybrid"
PAGE = 9
TILE_HEIGHT = 225
TALKERS = 3
#: audio_forward_speakers, the server's default, set explicitly.
K = 3
ZONE = "Room A"
#: Every ``ZONE_EVERY``-th participant (from the first) sits in the zone.
ZONE_EVERY = 3
#: After joins: the new cameras' unused layers are paused 10 s after they
#: start (dynacast), so the window measures the steady meeting.
SETTLE_S = 12.0
#: The census counts the streams each receiver gets over this long.
CENSUS_S = 1.0
MAX_LOSS_PERCENT = 1.0
MAX_CPU_PERCENT = 90.0
#: A step past this is past the knee for sure: stop.
SATURATED_LOSS_PERCENT = 5.0
WORKERS = 2
#: Over 2 workers, participants join one at a time, a heartbeat apart: with
#: several joins at once each worker judged the other less loaded from the
#: registry's heartbeat-old loads, and sent joiners back and forth until
#: they gave up after 5 redirects (placement's last resort, "the
#: least-loaded hosting node", has no "within one participant" rule).
SPREAD_JOIN_PAUSE_S = 1.2
#: How a reason says the load generator, not the server, ran out of CPU.
LOADGEN_LIMIT = "generator-bound"
#: How a reason says the worker lost packets while waiting for a core (its
#: event loop woke ``STARVED_LAG_MS`` late while it used under
#: ``STARVED_CPU_PERCENT``): the machine's limit, not the meeting's.
STARVED = "starved"
STARVED_LAG_MS = 100.0
STARVED_CPU_PERCENT = 60.0


@dataclass
class Member:
    """Who participant ``index`` is in the meeting."""

    index: int

    @property
    def in_zone(self) -> bool:
        return self.index % ZONE_EVERY == 0

    @property
    def talking(self) -> bool:
        return self.index < TALKERS

    def join_fields(self) -> dict[str, str]:
        if not self.in_zone:
            return {}
        return {"zone": ZONE, "mode": "room" if self.index == 0 else "companion"}

    def kind(self) -> tuple[bool, bool]:
        return self.in_zone, self.talking


def audible_talkers(index: int, total: int) -> int:
    """How many voices participant ``index`` of ``total`` should receive."""
    me = Member(index)
    others = [Member(i) for i in range(min(TALKERS, total)) if i != index]
    return min(K, sum(1 for t in others if not (me.in_zone and t.in_zone)))


@dataclass
class Setup:
    """Where the meeting runs: the workers to measure, the URLs to join through."""

    workers: list[Scraped]
    join_urls: list[str]
    loadgen: LoadGenProcess
    notes: list[str] = field(default_factory=list)
    #: Participant id -> its index in the meeting (joining order of the scenario).
    index_of: dict[str, int] = field(default_factory=dict)
    #: The server's log (its warnings are quoted when a step is not clean).
    log: Path | None = None
    #: Seconds between two joins, each alone (0: a step's newcomers together).
    join_pause_s: float = 0.0


def _cpu_sets(workers: int) -> tuple[list[set[int]], set[int]]:
    """(a core per worker, the load generator's cores). With fewer than
    workers + 1 cores the workers share the first core."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) > workers:
        return [{c} for c in available[:workers]], set(available[workers:])
    return [{available[0]}] * workers, set(available[1:] or available[:1])


_SERVER_ENV = {"CONF_AUDIO_FORWARD_SPEAKERS": str(K)}


@asynccontextmanager
async def one_worker(ctx: Context) -> AsyncIterator[Setup]:
    """The default server (one process, in-memory state) and a load generator."""
    (server_cpus,), load_cpus = _cpu_sets(1)
    server, loadgen = ServerUnderTest(_directory(ctx, "one-worker")), LoadGenProcess()
    try:
        await server.start(server_cpus, env=_SERVER_ENV)
        await loadgen.start(server.url, ctx.cache_dir, load_cpus)
        yield Setup([server], [server.url], loadgen, log=server.data_dir / "conf_server.log")
    finally:
        await _close(loadgen, server)


@asynccontextmanager
async def two_workers(ctx: Context) -> AsyncIterator[Setup]:
    """``conf-server --workers 2`` on a real redis-server, media relays on."""
    worker_cpus, load_cpus = _cpu_sets(WORKERS)
    directory = _directory(ctx, "two-workers")
    redis = RedisProcess(directory)
    server, loadgen = ServerUnderTest(directory), LoadGenProcess()
    try:
        await redis.start()
        args = ("--workers", str(WORKERS), "--redis-url", redis.url)
        # room_span_load 1: a worker hosting anyone of the room sends the next
        # newcomer to the other one, and then each takes its own joins: the
        # room is spread evenly from its second participant on.
        env = {**_SERVER_ENV, "CONF_RELAY_HOST": "127.0.0.1", "CONF_ROOM_SPAN_LOAD": "1"}
        await server.start(worker_cpus[0], args=args, env=env)
        workers: list[Worker] = await started_workers(server, WORKERS, worker_cpus)
        await loadgen.start(server.url, ctx.cache_dir, load_cpus)
        setup = Setup(
            list(workers),
            [w.url for w in workers],
            loadgen,
            log=directory / "conf_server.log",
            join_pause_s=SPREAD_JOIN_PAUSE_S,
        )
        if worker_cpus[0] == worker_cpus[-1]:
            setup.notes.append(
                f"the {WORKERS} workers share core {min(worker_cpus[0])} (this machine has "
                f"{len(os.sched_getaffinity(0))} cores): a knee here is what spreading "
                "costs on one core, not what two cores carry"
            )
        yield setup
    finally:
        await _close(loadgen, server)
        await redis.close()


def _directory(ctx: Context, name: str) -> Path:
    """A directory of its own for one setup's data and logs."""
    directory = ctx.work_dir / name
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def _close(loadgen: LoadGenProcess, server: ServerUnderTest) -> None:
    if hasattr(loadgen, "proc"):
        await loadgen.close()
    if hasattr(server, "proc"):
        await server.close()


async def _join(setup: Setup, first: int, last: int) -> list[str]:
    """Participants ``first`` .. ``last - 1`` join, through the join URLs in
    turn, in batches of the same kind; the URLs they ended at, in order."""
    ended: dict[int, str] = {}
    batches: dict[tuple[bool, bool, str], list[int]] = {}
    for index in range(first, last):
        url = setup.join_urls[index % len(setup.join_urls)]
        own = (index,) if setup.join_pause_s else ()  # a batch of its own
        batches.setdefault((*Member(index).kind(), url, *own), []).append(index)
    for (_zone, talking, url, *_), indices in batches.items():
        if setup.index_of and setup.join_pause_s:
            await asyncio.sleep(setup.join_pause_s)
        # Wait for the first video, unless nobody is there to send any.
        alone = not setup.index_of
        added = await setup.loadgen.command(
            "add", room=ROOM, count=len(indices), video=True, audio=True,
            wait="" if alone else "first_keyframe", camera="simulcast",
            microphone="talking" if talking else "silent",
            fields=Member(indices[0]).join_fields(), url=url,
        )  # fmt: skip
        ended.update(zip(indices, added["urls"], strict=True))
        setup.index_of.update(zip(added["ids"], indices, strict=True))
    return [ended[i] for i in sorted(ended)]


def census_problems(
    census: list[dict[str, Any]], total: int, index_of: dict[str, int]
) -> list[str]:
    """What a census of ``total`` participants shows wrong (``index_of``:
    participant id -> index in the meeting)."""
    problems = []
    tiles = min(PAGE, total - 1)
    for receiver in census:
        index = index_of[receiver["participant_id"]]
        voices = audible_talkers(index, total)
        if receiver["video"] != tiles or receiver["audio"] != voices:
            problems.append(
                f"participant {index}: {receiver['video']} videos (want {tiles}), "
                f"{receiver['audio']} voices (want {voices})"
            )
    return problems


def unclean(
    step: Step, losses: Losses, problems: list[str], senders: list[str] | None = None
) -> list[str]:
    """Why a step is not "carried without loss" (empty if it is); ``senders``:
    what the load generator's publishers show (``sender_problems``), said
    when the census is wrong."""
    reasons = [f"census: {p}" for p in problems[:3]]
    if len(problems) > 3:
        reasons.append(f"census: {len(problems)} receivers in all")
    if problems:
        reasons += senders or []
    if losses.delivery_percent >= MAX_LOSS_PERCENT:
        reasons.append(f"receivers lost {losses.delivery_percent:.2f} %")
    if losses.inbound_percent >= MAX_LOSS_PERCENT:
        reasons.append(f"the server missed {losses.inbound_percent:.2f} % of what was sent")
    if losses.server_dropped or losses.repairs_failed:
        reasons.append(
            f"server dropped {losses.server_dropped}, unrepaired {losses.repairs_failed}"
        )
    if step.peer_connections < 2 * step.load:
        reasons.append(f"{step.peer_connections} peer connections of {2 * step.load}")
    if losses.kernel_udp_errors:
        reasons.append(f"{losses.kernel_udp_errors} UDP buffer errors")
    busiest = max(losses.worker_cpu_percent)
    if busiest >= MAX_CPU_PERCENT:
        reasons.append(f"a worker at {busiest:.0f} % CPU")
    if reasons and losses.loop_lag_ms >= STARVED_LAG_MS and busiest < STARVED_CPU_PERCENT:
        # Late wake-ups without the CPU to show for them: the worker was
        # runnable and waited for a core others held (a shared machine).
        reasons.append(f"{STARVED}: loop {losses.loop_lag_ms:.0f} ms late at {busiest:.0f} % CPU")
    if step.loadgen_cpu_percent >= MAX_CPU_PERCENT:
        # Its losses are its own: the knee is then a lower bound.
        reasons.append(f"{LOADGEN_LIMIT}: load generator at {step.loadgen_cpu_percent:.0f} % CPU")
    return reasons


async def _step(ctx: Context, setup: Setup, n: int, label: str) -> dict[str, Any]:
    """Measure the meeting of ``n``: census, then a window (a second one if the
    first is not clean: a busy machine's passing stall is not the knee)."""
    loadgen = setup.loadgen
    answer = await loadgen.command("media_census", seconds=CENSUS_S)
    census = answer["receivers"]
    problems = census_problems(census, n, setup.index_of)
    # The publishers' side of a wrong census: did they stop sending, and why?
    senders = sender_problems(answer.get("senders", []), setup.index_of, CENSUS_S)
    attempts = []
    for _ in range(2):
        step, losses = await measure_window(setup.workers, loadgen, n, ctx.window_s)
        reasons = unclean(step, losses, problems, senders)
        attempts.append((step, losses, reasons))
        if not reasons or problems:
            break
    step, losses, reasons = attempts[-1]
    cpu = ", ".join(f"{c:.0f}" for c in losses.worker_cpu_percent)
    ctx.log(
        f"  hybrid {label} N={n}: workers {cpu} "
        f"% CPU, load generator {step.loadgen_cpu_percent:.0f} %, {step.received_pps:.0f} pkt/s "
        f"in, {step.forwarded_pps:.0f} out, delivered {step.delivered_pps:.0f} of "
        f"{step.expected_pps:.0f}, loss {losses.delivery_percent:.2f} % (inbound "
        f"{losses.inbound_percent:.2f} %), loop lag {losses.loop_lag_ms:.0f} ms, "
        f"load average {losses.load_average:.1f}"
        + (f"; NOT CLEAN: {'; '.join(reasons)}" if reasons else "")
    )
    if reasons:
        reasons += _log_warnings(setup.log)
    return {
        "participants": n,
        "census": sorted(
            [setup.index_of[r["participant_id"]], r["video"], r["audio"]] for r in census
        ),
        "step": step,
        "losses": losses,
        "clean": not reasons,
        "reasons": reasons,
        "windows": len(attempts),
    }


async def _run_steps(
    ctx: Context,
    setup: Setup,
    steps: list[int],
    label: str,
    settle_s: float = SETTLE_S,
    joined: int = 0,
) -> list[dict[str, Any]]:
    """Step N up (``joined`` are in already) until the first step that is
    not clean (or the last)."""
    measured: list[dict[str, Any]] = []
    current = joined
    for n in steps:
        try:
            await _join(setup, current, n)
            await setup.loadgen.command("set_view", visible=PAGE, tile_height=TILE_HEIGHT)
        except RuntimeError as exc:  # a join refused: the meeting could not grow
            setup.notes.append(f"{label}: N={n} could not be reached: {exc}")
            ctx.log(f"  hybrid {label} N={n}: could not be reached: {exc}")
            break
        current = n
        await asyncio.sleep(settle_s)
        measured.append(await _step(ctx, setup, n, label))
        if not measured[-1]["clean"]:
            break
    return measured


def _log_warnings(log: Path | None, most: int = 3) -> list[str]:
    """The server log's most frequent warnings and errors, counted."""
    if log is None or not log.is_file():
        return []
    counted: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if " WARNING " in line or " ERROR " in line:
            message = line.split(" ", 2)[-1][:160]
            counted[message] = counted.get(message, 0) + 1
    frequent = sorted(counted.items(), key=lambda item: -item[1])[:most]
    return [f"server log ({count}x): {message}" for message, count in frequent]


def knee(measured: list[dict[str, Any]]) -> int | None:
    """The largest N of the clean steps before the first unclean one."""
    best = None
    for entry in measured:
        if not entry["clean"]:
            break
        best = entry["participants"]
    return best


async def _spread_steps(ctx: Context, steps: list[int], settle_s: float) -> dict[str, Any]:
    """The variant over two workers, or why it is not available."""
    async with two_workers(ctx) as setup:
        # The first participant of each worker is the check: a worker that
        # sends its joiner to the other one means rooms do not span yet.
        try:
            ended = await _join(setup, 0, WORKERS)
        except RuntimeError as exc:
            return {"available": False, "reason": f"not available: {exc}", "notes": setup.notes}
        if len(set(ended)) < WORKERS:
            return {
                "available": False,
                "reason": (
                    f"not available: a join through each of the {WORKERS} workers ended on "
                    f"{sorted(set(ended))} (wrong_node): rooms do not span workers yet "
                    "(issue 17, point 3)"
                ),
                "notes": setup.notes,
            }
        measured = await _run_steps(
            ctx, setup, [n for n in steps if n >= WORKERS], "spread", settle_s, joined=WORKERS
        )
        return {"available": True, "measured": measured, "notes": setup.notes}


def _rows(measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for entry in measured:
        step, losses = entry["step"], entry["losses"]
        rows.append(
            {
                "participants": entry["participants"],
                "worker_cpu_percent": [round(c, 1) for c in losses.worker_cpu_percent],
                "loadgen_cpu_percent": round(step.loadgen_cpu_percent, 1),
                "in_pps": round(step.received_pps),
                "out_pps": round(step.forwarded_pps),
                "expected_pps": round(step.expected_pps),
                "delivered_pps": round(step.delivered_pps),
                "loss_percent": round(losses.delivery_percent, 3),
                "inbound_loss_percent": round(losses.inbound_percent, 3),
                "server_dropped": losses.server_dropped,
                "repairs_failed": losses.repairs_failed,
                "kernel_udp_errors": losses.kernel_udp_errors,
                "load_average": round(losses.load_average, 1),
                "loop_lag_ms": round(losses.loop_lag_ms, 1),
                "peer_connections": step.peer_connections,
                "negotiation_failures": losses.negotiation_failures,
                "clean": entry["clean"],
                "reasons": entry["reasons"],
                # [participant index, videos, voices] of each receiver.
                "census": entry["census"],
            }
        )
    return rows


def per_core(measured: list[dict[str, Any]], cores: int) -> float | None:
    """Participants per core at the knee (None without a clean step)."""
    best = knee(measured)
    return None if best is None else round(best / cores, 1)


async def hybrid_capacity(
    ctx: Context, steps: list[int], spread: bool = True, settle_s: float = SETTLE_S
) -> ScenarioResult:
    """Step the hybrid meeting up on one worker, then (``spread``) on two.
    ``settle_s`` shorter than dynacast's 10 s (tests) measures windows in
    which new cameras still send their unused layers."""
    result = ScenarioResult(NAME, [])
    async with one_worker(ctx) as setup:
        single = await _run_steps(ctx, setup, steps, "1 worker", settle_s)
        result.notes += setup.notes
    result.steps = [entry["step"] for entry in single]
    result.knee = knee(single)
    figures: dict[str, Any] = {
        "page": PAGE,
        "tile_height": TILE_HEIGHT,
        "talkers": TALKERS,
        "speakers_forwarded": K,
        "zone_every": ZONE_EVERY,
        # On a shared machine the bench may run niced (docs/performance.md).
        "nice": os.nice(0),
        "cores": len(os.sched_getaffinity(0)),
        "knee_one_worker": result.knee,
        "participants_per_core": per_core(single, 1),
        "one_worker": _rows(single),
    }
    if spread:
        outcome = await _spread_steps(ctx, steps, settle_s)
        result.notes += outcome["notes"]
        if outcome["available"]:
            figures["knee_two_workers"] = knee(outcome["measured"])
            figures["two_workers"] = _rows(outcome["measured"])
        else:
            figures["knee_two_workers"] = None
            figures["two_workers_unavailable"] = outcome["reason"]
            result.notes.append(f"room over {WORKERS} workers: {outcome['reason']}")
            ctx.log(f"  hybrid over {WORKERS} workers: {outcome['reason']}")
    for flag, prefix in (("generator_bound", LOADGEN_LIMIT), ("starved", STARVED)):
        figures[flag] = any(r.startswith(prefix) for entry in single for r in entry["reasons"])
    result.figures = figures
    if single and not single[-1]["clean"]:
        result.notes.append(f"1 worker, N={single[-1]['participants']}: {single[-1]['reasons']}")
    return result
