"""One running impaired-network meeting: topology, relay, server and the three pages.

``async with Lab(source_tree, workdir) as lab:`` builds everything and joins A, B
and C to one room; ``await lab.impair(scenario)`` changes C's link while the meeting
runs and ``await lab.measure(seconds)`` returns the window's figures. Leaving
the block (also on an exception or Ctrl-C) closes the browsers, stops the
server and the relay, and deletes the namespaces.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from playwright.async_api import Playwright, async_playwright
from prometheus_client.parser import text_string_to_metric_families

from . import machine
from .camera import camera_clip
from .media_trace import trace_media
from .participant import Participant
from .relay import Impairment, read_stats, write_config
from .scenario_spec import Scenario
from .server import NamespacedServer
from .stats import (
    READ_WINDOW,
    START_WINDOW,
    received_from,
    recent_send_kbps,
    seconds_to_adapt,
    sent,
)
from .topology import RELAY_TO_BRIDGE, RELAY_TO_C, Topology, remove_stale

ROLES = ("A", "B", "C")
CAMERA = (640, 360, 15)
# The tree this harness lives in (the relay runs from it, whatever tree is measured).
HARNESS_TREE = Path(__file__).resolve().parents[2]


class Lab:
    """A meeting of A, B and C with C behind the relay; an async context manager."""

    def __init__(
        self,
        source_tree: Path,
        workdir: Path,
        camera: tuple[int, int, int] = CAMERA,
        chromium_pattern: bool = False,
        c_camera: tuple[int, int, int] | None = None,
    ) -> None:
        self.source_tree = source_tree
        self.workdir = workdir
        self.camera = camera
        # The camera-like clip by default; Chromium's own pattern codes at ~140 kbit/s.
        self.clip = None if chromium_pattern else camera_clip(*camera)
        #: C's own camera, if it differs (a larger one to make an uplink limit bind).
        self.c_camera = c_camera or camera
        self.c_clip = self.clip
        if c_camera is not None and not chromium_pattern:
            self.c_clip = camera_clip(*c_camera)
        workdir.mkdir(parents=True, exist_ok=True)
        self.topology = Topology()
        self.room = f"netlab-{secrets.token_hex(3)}"
        self.participants = {role: Participant(self.topology, role, workdir) for role in ROLES}
        self.names: dict[str, str] = {}
        self._relay: subprocess.Popen[bytes] | None = None
        self._server: NamespacedServer | None = None
        self._playwright_cm: Any = None
        self._playwright: Playwright | None = None
        self._relay_config = workdir / "relay-config.json"
        self._relay_stats = workdir / "relay-stats.json"
        #: When C's link was impaired (page time, ms) and how.
        self.impaired_at = 0.0
        self.scenario: Scenario | None = None

    async def __aenter__(self) -> Lab:
        remove_stale()
        # atexit covers a run that ends without unwinding (SystemExit from a signal handler).
        atexit.register(self.topology.close)
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _start(self) -> None:
        self.topology.build()
        self._start_relay()
        self._server = NamespacedServer(self.topology, self.source_tree, self.workdir)
        await asyncio.to_thread(self._server.wait_listening)
        self._playwright_cm = async_playwright()
        self._playwright = await self._playwright_cm.__aenter__()
        for role, participant in self.participants.items():
            camera, clip = (self.c_camera, self.c_clip) if role == "C" else (self.camera, self.clip)
            await participant.open(self._playwright, self._server.url, self.room, camera, clip)
        for role, participant in self.participants.items():
            self.names[await participant.wait_joined()] = role

    def _start_relay(self) -> None:
        write_config(self._relay_config, Impairment(), Impairment())
        argv = [sys.executable, "-m", "conf_bench.netlab.relay",
                "--down-dev", RELAY_TO_C, "--up-dev", RELAY_TO_BRIDGE,
                "--config", str(self._relay_config), "--stats", str(self._relay_stats)]  # fmt: skip
        self._relay = subprocess.Popen(self.topology.exec_argv("relay", argv), cwd=HARNESS_TREE)

    async def ramp_up(self, kbps: float, longest: float = 30.0) -> float:
        """Wait until C sends video above ``kbps`` two samples in a row (at most
        ``longest`` s), so an uplink limit set next has something to cut;
        returns the last rate seen (kbit/s)."""
        above, rate = 0, 0.0
        deadline = time.monotonic() + longest
        while time.monotonic() < deadline and above < 2:
            await asyncio.sleep(1.0)
            samples = (await self.participants["C"].evaluate(READ_WINDOW))["samples"]
            rate = recent_send_kbps(samples)
            above = above + 1 if rate > kbps else 0
        return rate

    async def impair(self, scenario: Scenario) -> None:
        """Give C's link the scenario's loss/delay (relay) and bandwidth (tbf)."""
        self.impaired_at = float(await self.participants["C"].evaluate("() => Date.now()"))
        self.scenario = scenario
        write_config(self._relay_config, scenario.down, scenario.up)
        if self._relay is not None:
            self._relay.send_signal(1)  # SIGHUP: re-read the config
        self.topology.shape("down", scenario.down_kbit)
        self.topology.shape("up", scenario.up_kbit)

    async def measure(self, seconds: float) -> dict[str, Any]:
        """Figures of a window of ``seconds`` (see ``window_figures``)."""
        if self._server is None:
            raise RuntimeError("the lab is not running")
        # How long C's browser took to get under an uplink limit: from the
        # samples since the limit was set, before the window drops them.
        adapt = None
        scenario = self.scenario
        if scenario is not None and scenario.up_kbit is not None and self.impaired_at:
            samples = (await self.participants["C"].evaluate(READ_WINDOW))["samples"]
            adapt = seconds_to_adapt(samples, self.impaired_at, scenario.up_kbit)
        for participant in self.participants.values():
            await participant.evaluate(START_WINDOW)
        before = await self._counters()
        trace = asyncio.create_task(
            trace_media(self.participants["A"], self.room, self.workdir / "media-trace.jsonl")
        )
        try:
            await asyncio.sleep(seconds)
        finally:
            trace.cancel()
        after = await self._counters()
        pages = {role: await p.evaluate(READ_WINDOW) for role, p in self.participants.items()}
        figures = self._figures(pages, before, after)
        figures["c_adapt_seconds"] = adapt
        return figures

    async def _counters(self) -> dict[str, Any]:
        text = await self.participants["A"].evaluate(
            "() => fetch('/metrics').then((r) => r.text()).catch(() => '')"
        )
        metrics: dict[str, float] = {}
        for family in text_string_to_metric_families(str(text)):
            for sample in family.samples:
                if sample.name.endswith("_total") and not sample.labels:
                    metrics[sample.name.removesuffix("_total")] = float(sample.value)
        busy, total = machine.machine_busy_seconds()
        server = self._server
        return {
            "time": time.monotonic(),
            "metrics": metrics,
            "relay": read_stats(self._relay_stats),
            "shaper_drops": await asyncio.to_thread(self.topology.shaper_drops),
            "machine": (busy, total),
            "server_cpu": machine.process_seconds(server.pid) if server else 0.0,
            "browser_cpu": {
                role: await asyncio.to_thread(machine.namespace_seconds, self.topology.ns(role))
                for role in ROLES
            },
        }

    def _figures(
        self, pages: dict[str, Any], before: dict[str, Any], after: dict[str, Any]
    ) -> dict[str, Any]:
        seconds = after["time"] - before["time"]
        received = {}
        for role, page in pages.items():
            for pid, publisher in self.names.items():
                if publisher != role:
                    figures = received_from(page["samples"], pid)
                    received[f"{role}<-{publisher}"] = figures.__dict__
        metrics = {
            name: (value - before["metrics"].get(name, 0.0)) / seconds
            for name, value in after["metrics"].items()
        }
        relay = {
            direction: {
                key: after["relay"][direction][key] - before["relay"][direction][key]
                for key in after["relay"][direction]
            }
            for direction in ("down", "up")
        }
        (busy0, total0), (busy1, total1) = before["machine"], after["machine"]
        return {
            "seconds": seconds,
            "received": received,
            "sent": {role: sent(page["samples"]).__dict__ for role, page in pages.items()},
            "reconnects": {role: page["reconnects"] for role, page in pages.items()},
            "rejoins": {role: page["joins"] for role, page in pages.items()},
            "server_per_second": metrics,
            "relay": relay,
            "shaper_drops": {
                d: after["shaper_drops"][d] - before["shaper_drops"][d] for d in ("down", "up")
            },
            "cpu": {
                "machine_pct": 100 * (busy1 - busy0) / max(1e-9, total1 - total0),
                "server_pct": 100 * (after["server_cpu"] - before["server_cpu"]) / seconds,
                **{
                    f"browser_{role}_pct": 100
                    * (after["browser_cpu"][role] - before["browser_cpu"][role])
                    / seconds
                    for role in ROLES
                },
                "load_average": machine.load_average(),
            },
        }

    async def close(self) -> None:
        """Close browsers, stop server and relay, delete namespaces; safe to call twice."""
        try:
            for participant in self.participants.values():
                # Tear-down goes on whatever a browser does; the namespaces go below.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(participant.close(), 15)
            if self._playwright_cm is not None:
                cm, self._playwright_cm = self._playwright_cm, None
                await cm.__aexit__(None, None, None)
            if self._server is not None:
                self._server.stop()
            if self._relay is not None and self._relay.poll() is None:
                self._relay.terminate()
                try:
                    self._relay.wait(5)
                except subprocess.TimeoutExpired:
                    self._relay.kill()
        finally:
            self.topology.close()
            atexit.unregister(self.topology.close)
