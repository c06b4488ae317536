"""A conf-server with several workers on this machine, as a deployment runs it.

``conf-server --workers N --redis-url ...`` starts N node processes that share
their state through Redis; each listens on the shared port and on its own
node port (port + 1 + k), and links its media relay with the others'
(``relay_host``). This module starts a real ``redis-server`` and such a
server, finds the worker processes, pins each to a core and reads each one's
CPU and ``/metrics``: what the hybrid scenario's "room over 2 workers"
variant measures.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .processes import ServerUnderTest, free_port, listens


class RedisProcess:
    """``redis-server`` on a free loopback port, without persistence."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/setup.sh --test)")
        self._proc = await asyncio.create_subprocess_exec(
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self._directory),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            if await listens(self.port):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    async def close(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            await self._proc.wait()


@dataclass
class Worker:
    """One node process of a multi-worker server: what a measurement reads."""

    pid: int
    url: str

    async def scrape(self) -> dict[str, float]:
        return await ServerUnderTest.scrape(self)  # type: ignore[arg-type]  # needs .url only


def worker_processes(parent_pid: int) -> list[Worker]:
    """The node processes ``conf-server --workers`` started, in node-port order."""
    with open(f"/proc/{parent_pid}/task/{parent_pid}/children") as fh:
        children = [int(pid) for pid in fh.read().split()]
    workers = []
    for pid in children:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            args = fh.read().decode().split("\0")
        if "--node-port" in args:
            port = int(args[args.index("--node-port") + 1])
            workers.append(Worker(pid, f"http://127.0.0.1:{port}"))
    return sorted(workers, key=lambda w: w.url)


async def started_workers(
    server: ServerUnderTest, count: int, cpus: list[set[int]]
) -> list[Worker]:
    """Wait (up to 30 s) until ``count`` workers of ``server`` listen on their
    node ports; pin worker k to ``cpus[k % len(cpus)]``."""
    for _ in range(300):
        workers = worker_processes(server.pid)
        listening = [await listens(int(w.url.rsplit(":", 1)[1])) for w in workers]
        if len(workers) == count and all(listening):
            for index, worker in enumerate(workers):
                os.sched_setaffinity(worker.pid, cpus[index % len(cpus)])
            return workers
        await asyncio.sleep(0.1)
    raise RuntimeError(f"conf-server did not start {count} workers within 30 s")
