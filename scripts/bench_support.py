"""Shared by the media-timing benchmarks (scripts/bench_late_joiner.py,
scripts/bench_av_alignment.py, scripts/bench_leave.py): a private network
namespace, optional CPU load, the real server with headless Chromium pages,
and how to print a series of measurements."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEST_ADDRESS = "10.199.0.1"

# Media benchmarks send real ICE traffic. Inside `unshare --net` only lo and one
# private address exist, so no packet can leave the machine whatever a library
# gathers (docs/operations.md, "Tests"; scripts/test.sh does the same).
_SETUP = (
    "set -e; ip link set lo up; "
    "ip link add t0 type ifb 2>/dev/null || ip link add t0 type dummy; "
    f"ip addr add {TEST_ADDRESS}/32 dev t0; ip link set t0 up; "
    'exec "$0" "$@"'
)


def enter_private_network() -> None:
    """Re-run this script in a new private network namespace unless already in one."""
    if {name for _, name in socket.if_nameindex()} <= {"lo", "t0"}:
        return
    if os.geteuid() != 0:
        sys.exit("needs root for `unshare --net` (or run it inside scripts/test.sh's namespace)")
    os.execvp("unshare", ["unshare", "--net", "--", "sh", "-c", _SETUP, sys.executable, *sys.argv])


def use_test_helpers(*folders: str) -> None:
    """Make the test suite's protocol clients and media helpers importable."""
    for folder in folders:
        sys.path.insert(0, str(ROOT / "tests" / folder))


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """``count`` processes that spin on the CPU for the duration (a loaded CI
    machine); always stopped on the way out."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for process in spinners:
            process.kill()
            process.wait()


def timing_arguments(description: str, runs: int, runs_help: str) -> argparse.ArgumentParser:
    """The options every media-timing benchmark takes: ``--runs`` and ``--load``."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=runs, help=f"{runs_help} (default {runs})")
    parser.add_argument("--load", type=int, default=0, help="busy-loop processes meanwhile")
    return parser


Benchmark = Callable[[argparse.Namespace], Coroutine[Any, Any, None]]


def run_timing_benchmark(parser: argparse.ArgumentParser, bench: Benchmark) -> None:
    """Parse ``parser``'s options, then run ``bench(args)`` in a private network
    namespace with ``--load`` busy loops, and say how long it all took."""
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    enter_private_network()
    started = time.monotonic()
    with busy_loops(args.load):
        asyncio.run(bench(args))
    print(f"{args.runs} runs, {args.load} busy loops, {time.monotonic() - started:.0f} s")


def summary(name: str, seconds: list[float]) -> str:
    """One line: median, 90th percentile and maximum of ``seconds``, in ms."""
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (
        f"{name}: median {statistics.median(ordered) * 1000:.0f} ms, "
        f"p90 {p90 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms (n={len(ordered)})"
    )


def machine() -> str:
    """CPU count and load average, to print next to every figure."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.2f} (1 min) {five:.2f} (5 min)"


@contextlib.asynccontextmanager
async def server_and_chromium(log_to: list[Path] | None = None) -> AsyncIterator[tuple[Any, str]]:
    """``(browser, url)``: a real ``conf-server`` process and headless Chromium
    (the end-to-end tests' flags), both stopped on the way out; the server's
    log file is appended to ``log_to`` if given (read it while it runs).
    Needs ``use_test_helpers("e2e")`` and the private network first."""
    # Imported here: Playwright and Chromium are only needed by browser benchmarks.
    from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, ServerProcess
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp))
        if log_to is not None:
            log_to.append(server.log_path)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
                try:
                    yield browser, server.url
                finally:
                    await browser.close()
        finally:
            server.stop()
            keep = os.environ.get("CONF_BENCH_SERVER_LOG")
            if keep:  # e.g. with CONF_LOG_LEVEL=debug, to see the server's side of a run
                shutil.copyfile(server.log_path, keep)


@contextlib.asynccontextmanager
async def niced_chromium(niceness: int, cpu: int | None = None) -> AsyncIterator[Any]:
    """A second headless Chromium (the tests' flags) whose processes all run
    in a CPU control group weighted like one process at ``nice -n
    niceness``: pages that stand for other people's computers, kept from
    competing with the page and the server being measured.

    ``nice`` alone does not hold: Chromium, run as root, sets its own
    processes' and threads' priorities (its browser and GPU processes at -8,
    a visible page's renderer at 0), whatever it was started with. A control
    group is above that; without one (no writable cpu controller) the
    processes are only started niced, and a warning says so. With ``cpu``
    they run on that CPU only (``taskset``)."""
    from e2e_helpers import CHROMIUM, CHROMIUM_ARGS
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp, cpu_group(niceness) as group:
        wrapper = Path(tmp) / "chromium"
        join = f"echo $$ > {group / 'cgroup.procs'}\n" if group is not None else ""
        pin = f"taskset -c {int(cpu)} " if cpu is not None else ""
        wrapper.write_text(f'#!/bin/sh\n{join}exec {pin}nice -n {int(niceness)} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        if group is None:
            print("warning: no CPU control group; Chromium resets its niceness", flush=True)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(wrapper), args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                await browser.close()


#: Where a CPU control group can be made: cgroup v1's cpu hierarchy (weight
#: file cpu.shares, 1024 for a nice-0 process), else the v2 root (cpu.weight,
#: 100 for one).
_CPU_HIERARCHIES = (
    (Path("/sys/fs/cgroup/cpu"), "cpu.shares", 1024),
    (Path("/sys/fs/cgroup"), "cpu.weight", 100),
)


@contextlib.contextmanager
def cpu_group(niceness: int) -> Iterator[Path | None]:
    """A new CPU control group weighted as one process at ``niceness`` (the
    kernel's weights: each step of nice is a factor of 1.25), removed on the
    way out; None where none can be made (not root, no cpu controller)."""
    for root, weight_file, nice_zero in _CPU_HIERARCHIES:
        if not (root / weight_file).exists() and not (root / "cgroup.controllers").exists():
            continue
        group = root / f"conf-bench-{os.getpid()}"
        try:
            group.mkdir()
            weight = max(2 if weight_file == "cpu.shares" else 1, round(nice_zero / 1.25**niceness))
            (group / weight_file).write_text(str(weight))
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
            continue
        try:
            yield group
        finally:
            _remove_group(group, root)
        return
    yield None


def _remove_group(group: Path, root: Path) -> None:
    """Move what is left in ``group`` back to ``root``, then remove it."""
    with contextlib.suppress(OSError):
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                (root / "cgroup.procs").write_text(pid)
    with contextlib.suppress(OSError):
        group.rmdir()


async def sees_remote_videos(page: Any, count: int) -> bool:
    """True when ``page`` shows exactly ``count`` remote camera tiles and each
    has decoded a frame. Needs ``use_test_helpers("e2e")``."""
    from e2e_helpers import tile_frames

    frames = await tile_frames(page)
    return len(frames) == count and all(n > 0 for n in frames.values())


class RoomPages:
    """Meeting pages in a browser, each in its own context (own camera and
    storage); ``close()`` closes them all."""

    def __init__(self, browser: Any, url: str, room: str) -> None:
        self._browser = browser
        self._url = url
        self._room = room
        self._contexts: list[Any] = []

    async def open(self, name: str, viewport: tuple[int, int] = (1280, 720)) -> Any:
        """A page that has joined ``room`` as ``name`` (autojoin), in a
        window of ``viewport`` (width, height) CSS pixels."""
        from e2e_helpers import wait_joined

        width, height = viewport
        context = await self._browser.new_context(
            permissions=["camera", "microphone"], viewport={"width": width, "height": height}
        )
        self._contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{self._url}/r/{self._room}?name={name}&autojoin=1")
        await wait_joined(page, 30)
        return page

    async def close(self) -> None:
        for context in self._contexts:
            await context.close()
