"""``python -m conf_bench.netlab [scenario ...]``: run impaired-network scenarios.

Needs root (namespaces, veth, tbf). Prints one markdown table per scenario and
writes ``<out>/<label>/results.{md,json}`` plus each run's raw figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from types import FrameType

from .report import write_results
from .scenario_spec import SCENARIOS
from .scenarios import REPOSITORY, WARMUP_S, WINDOW_S, median_figures, run_scenario
from .topology import netns_works


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m conf_bench.netlab", description=__doc__)
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS),
                        help=f"any of {', '.join(SCENARIOS)} (default: all)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=2, help="runs per scenario (median)")
    parser.add_argument("--out", type=Path, default=Path("netlab-results"))
    parser.add_argument("--label", default="current", help="subdirectory of --out")
    parser.add_argument("--source-tree", type=Path, default=REPOSITORY,
                        help="the tree whose conf-server and web client run")  # fmt: skip
    parser.add_argument("--warmup", type=float, default=WARMUP_S)
    parser.add_argument("--window", type=float, default=WINDOW_S)
    parser.add_argument(
        "--chromium-pattern",
        action="store_true",
        help="Chromium's own fake camera (~140 kbit/s) instead of the clip",
    )
    return parser


def _stop(signum: int, frame: FrameType | None) -> None:
    # Unwinds through the Lab's finally blocks, which delete the namespaces.
    raise KeyboardInterrupt


async def _sweep(args: argparse.Namespace) -> dict[str, dict[str, object]]:
    results = {}
    for name in args.scenarios:
        runs = []
        for index in range(args.runs):
            workdir = args.out / args.label / f"{name}-run{index + 1}"
            print(f"netlab: {args.label} {name} run {index + 1}/{args.runs}", file=sys.stderr)
            figures = await run_scenario(
                SCENARIOS[name],
                workdir,
                args.source_tree.resolve(),
                args.warmup,
                args.window,
                args.chromium_pattern,
            )
            (workdir / "figures.json").write_text(json.dumps(figures, indent=2))
            runs.append(figures)
        results[name] = {**median_figures(runs), "runs": args.runs}
    return results


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown or args.runs < 1:
        print(f"netlab: unknown scenario {unknown} or --runs < 1", file=sys.stderr)
        return 2
    problem = netns_works()
    if problem:
        print(f"netlab: {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    results = asyncio.run(_sweep(args))
    print(write_results(args.out, args.label, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
