"""``conf-bench``: measure the forwarding path of conf-server on this machine.

Runs over loopback only. The server under test is pinned to the first core and
the load generator to the others; everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from . import report, scenarios
from .hybrid_scenario import hybrid_capacity
from .simulcast_scenario import simulcast_cost

QUICK_A = [1, 5, 10, 20]
FULL_A = [1, 2, 5, 10, 20, 50, 100, 150, 200]
FULL_B = [2, 4, 6, 8, 10, 15, 20, 25, 30]
QUICK_RELAY = [1, 2, 3]
FULL_RELAY = [1, 2, 4, 6]
#: Subscribers of the simulcast scenario (after a step without any).
QUICK_SIMULCAST = [20]
FULL_SIMULCAST = [5, 10, 20, 40]
#: Participants of the hybrid meeting, stepped up to the knee (the run stops
#: at the first step one worker does not carry without loss).
QUICK_HYBRID = [6, 12]
FULL_HYBRID = [6, 10, 15, 20, 25, 30, 35, 40, 50, 60]
SCENARIOS = ("a", "b", "c", "relay", "simulcast", "hybrid")
#: Not in a ``--quick`` run unless named with ``--scenarios``.
NOT_QUICK = ("b", "c", "hybrid")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conf-bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="one run of scenario (a) at a few steps, the MediaRelay "
                        "baseline and the simulcast cost at 20 subscribers, under 3 "
                        "minutes")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("bench-results"),
                        help="where the full run writes JSON, markdown and PNG plots")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (median)")
    parser.add_argument("--scenarios", default=None,
                        help="comma-separated subset of " + ",".join(SCENARIOS)
                        + " (default: all)")  # fmt: skip
    parser.add_argument("--hybrid-steps", type=_numbers, default=None,
                        help="participants of the hybrid scenario's steps, e.g. 6,12,20 "
                        "(default " + ",".join(map(str, FULL_HYBRID)) + ")")  # fmt: skip
    parser.add_argument("--no-spread", action="store_true",
                        help="hybrid scenario: skip the variant over 2 workers")  # fmt: skip
    parser.add_argument("--window", type=float, default=None, help="seconds per load step")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="where the pre-encoded media is kept "
                        "(default ~/.cache/conf-bench, or under $XDG_CACHE_HOME)")  # fmt: skip
    return parser


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def _chosen(args: argparse.Namespace) -> set[str]:
    """The scenarios to run: those named, else all (but the slow ones with --quick)."""
    if args.scenarios:
        return set(args.scenarios.split(","))
    return {s for s in SCENARIOS if not (args.quick and s in NOT_QUICK)}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run(args: argparse.Namespace) -> dict[str, object]:
    from .media import DEFAULT_CACHE_DIR, prepared_layers, prepared_media

    args.cache_dir = args.cache_dir or DEFAULT_CACHE_DIR
    started = time.monotonic()
    log("preparing media (encoded once, then cached)")
    prepared_media(args.cache_dir)
    chosen = _chosen(args)
    if chosen & {"simulcast", "hybrid"}:
        prepared_layers(args.cache_dir)
    hybrid_steps = args.hybrid_steps or (QUICK_HYBRID if args.quick else FULL_HYBRID)
    runs = 1 if args.quick else args.runs
    window = args.window or (3.0 if args.quick else 5.0)
    results: dict[str, scenarios.ScenarioResult] = {}
    with tempfile.TemporaryDirectory(prefix="conf-bench-") as tmp:
        ctx = scenarios.Context(Path(tmp), args.cache_dir, window, log)
        plan: list[tuple[str, Callable[[], Awaitable[scenarios.ScenarioResult]]]] = [
            ("a", lambda: scenarios.one_to_many(ctx, QUICK_A if args.quick else FULL_A)),
            ("relay", lambda: scenarios.mediarelay_baseline(
                ctx, QUICK_RELAY if args.quick else FULL_RELAY)),
            ("b", lambda: scenarios.full_mesh(ctx, FULL_B)),
            ("c", lambda: scenarios.paged_meeting(ctx)),
            ("simulcast", lambda: simulcast_cost(
                ctx, QUICK_SIMULCAST if args.quick else FULL_SIMULCAST)),
        ]  # fmt: skip
        for key, start in plan:
            if key not in chosen:
                continue
            outcomes: list[scenarios.ScenarioResult] = []
            for number in range(runs):
                log(f"scenario {key}, run {number + 1}/{runs}")
                outcomes.append(await start())
            result = report.median_result(outcomes)
            results[result.name] = result
        if "hybrid" in chosen:
            # Once: it steps up to the knee, and a median of knees found at
            # different steps would be no step anyone measured.
            log("scenario hybrid (one run)")
            hybrid = await hybrid_capacity(ctx, hybrid_steps, spread=not args.no_spread)
            results[hybrid.name] = hybrid
    summary = report.summarize(results)
    summary["seconds"] = round(time.monotonic() - started, 1)
    if not args.quick:
        for path in report.write_all(results, summary, args.out):
            log(f"wrote {path}")
    else:
        log(report.markdown(results, summary))
    return summary


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.runs < 1:
        print("conf-bench: --runs must be at least 1", file=sys.stderr)
        return 2
    unknown = _chosen(args) - set(SCENARIOS)
    if unknown:
        print(f"conf-bench: unknown scenario(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130
    print(json.dumps(summary), flush=True)
    return 0
