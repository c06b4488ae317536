"""The processes a benchmark run starts, each pinned to its own core, and how to read them.

Everything started here is stopped by ``close()``; CPU time, RSS and open file
descriptors are read from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def listens(port: int) -> bool:
    """True if something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


def cores() -> tuple[set[int], set[int]]:
    """(core for the server, cores for load generators); shared if only one core."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return {available[0]}, {available[0]}
    return {available[0]}, set(available[1:])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads included."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Pinned:
    """A child process pinned to ``cpus``."""

    proc: asyncio.subprocess.Process

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    @staticmethod
    async def spawn(args: list[str], cpus: set[int], **kwargs: Any) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *args, preexec_fn=lambda: os.sched_setaffinity(0, cpus), **kwargs
        )

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class ServerUnderTest(Pinned):
    """A real ``conf-server`` (or the MediaRelay baseline) on loopback."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir

    async def start(
        self,
        cpus: set[int],
        module: str = "conf_server",
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        """Start it on ``cpus``; ``args`` and ``env`` come after (and over) the defaults."""
        command = [sys.executable, "-m", module, "--port", str(self.port)]
        if module == "conf_server":
            command += ["--ice-address", "127.0.0.1", "--data-dir", str(self.data_dir)]
            command += ["--log-level", "warning"]
        command += args
        log = open(self.data_dir / f"{module}.log", "w")  # noqa: SIM115, ASYNC230
        # Scenario (a) goes up to 200 subscribers in one room. Every stream is
        # forwarded (audio_forward_speakers = 0): the replayed Opus carries no
        # audio level, so with speaker selection on, three publishers would
        # count as the room's speakers and the others' audio would go nowhere;
        # the scenarios measure the forwarding path with all of it.
        environment = {
            **os.environ,
            "CONF_MAX_PARTICIPANTS_PER_ROOM": "1000",
            "CONF_AUDIO_FORWARD_SPEAKERS": "0",
            **(env or {}),
        }
        self.proc = await self.spawn(command, cpus, stdout=log, stderr=log, env=environment)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise RuntimeError(f"{module} exited; see {self.data_dir / f'{module}.log'}")
            if await listens(self.port):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{module} did not listen within 30 s")

    async def scrape(self) -> dict[str, float]:
        """The server's /metrics as ``{sample name (+le): value}``."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.url}/metrics") as response,
        ):
            text = await response.text()
        values: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                le = sample.labels.get("le")
                values[sample.name + (f"|{le}" if le else "")] = sample.value
        return values


class LoadGenProcess(Pinned):
    """A ``conf_bench.loadgen`` process, driven by JSON lines."""

    async def start(self, url: str, cache_dir: Path, cpus: set[int]) -> None:
        config = json.dumps({"url": url, "cache_dir": str(cache_dir)})
        self.proc = await self.spawn(
            [sys.executable, "-m", "conf_bench.loadgen", config],
            cpus,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        await self._read()

    async def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 300)
        if not line:
            raise RuntimeError("the load generator exited")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"load generator: {reply['error']}")
        return reply

    async def command(self, op: str, **arguments: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"op": op, **arguments}) + "\n").encode())
        await self.proc.stdin.drain()
        return await self._read()

    async def close(self) -> None:
        if self.proc.returncode is None:
            stopped = (RuntimeError, TimeoutError, BrokenPipeError, ConnectionResetError)
            with contextlib.suppress(*stopped):  # it is being stopped either way
                await asyncio.wait_for(self.command("exit"), 30)
        await super().close()
