#!/usr/bin/env python3
"""Load-and-abuse figures for docs/security.md: what floods cost the server.

Starts a real ``conf-server`` process on a free loopback port (data dir under
/tmp, the soft open-file limit of a default systemd service: 1024), then runs,
each bounded in count and time:

- **idle sockets**: N Socket.IO connections that connect and never join, held
  open for a while;
- **message floods**: a few joined clients send one action as fast as the
  acknowledgements come back (chat, raise/lower hand, vote, set_view,
  reactions, mute), one action after the other, while one more member only
  listens (what reaches the room);
- **anonymous creation**: ``POST /api/v1/meetings`` without a key, several
  requests at a time.

For each it reports messages sent / accepted / refused (by error code), the
server's resident memory and open descriptors (from /proc/<pid>), the lines
the server logged, and the latency of ``GET /healthz`` sampled every 0.2 s
during the flood (median, max, failures). Everything talks to 127.0.0.1 only.

Not a test: ``.venv/bin/python scripts/abuse_bench.py [--source DIR]``
(``--source`` runs the server from another checkout, e.g. an export of an
older commit, with this checkout's virtualenv).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parents[1]
ADMIN_KEY = "abuse-bench-admin-key-0123456789"
HOST = "127.0.0.1"


# --- the server under test -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def limit_files(soft: int) -> Callable[[], None]:
    """A preexec_fn: the child's soft RLIMIT_NOFILE (a systemd service's default)."""

    def apply() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, hard), hard))

    return apply


class Server:
    """``python -m conf_server`` on a free loopback port."""

    def __init__(self, source: Path, nofile: int, extra_env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="conf-abuse-"))
        self.log_path = self.dir / "server.log"
        env = {
            **os.environ,
            "PYTHONPATH": str(source),
            "CONF_ADMIN_API_KEY": ADMIN_KEY,
            "CONF_ICE_ADDRESSES": HOST,
            **extra_env,
        }
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "conf_server",
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.dir / "data"),
                ],
                cwd=source,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=limit_files(nofile),  # no threads yet in this process
            )

    async def wait_ready(self, http: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"conf-server exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise RuntimeError("conf-server did not come up in 60 s")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def log_lines(self) -> int:
        with open(self.log_path, "rb") as log:
            return sum(1 for _ in log)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one flood did."""

    name: str
    sent: int = 0
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    closed: int = 0  # accepted, then closed by the server (idle sockets)
    received: int | None = None  # events the listening member got
    seconds: float = 0.0
    rss: list[float] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    log_lines: int = 0
    health_ms: list[float] = field(default_factory=list)
    health_failures: int = 0

    def row(self) -> dict[str, Any]:
        ms = sorted(self.health_ms)
        return {
            "flood": self.name,
            "sent": self.sent,
            "accepted": self.accepted,
            "refused": dict(self.refused.most_common()),
            "failed": dict(self.failed.most_common()),
            "closed_by_server": self.closed,
            "listener_events": self.received,
            "seconds": round(self.seconds, 1),
            "rss_mib": [round(self.rss[0], 1), round(max(self.rss), 1), round(self.rss[-1], 1)],
            "fds": [self.fds[0], max(self.fds), self.fds[-1]],
            "log_lines": self.log_lines,
            "healthz_ms": {
                "median": round(statistics.median(ms), 1) if ms else None,
                "max": round(ms[-1], 1) if ms else None,
                "failures": self.health_failures,
                "samples": len(ms) + self.health_failures,
            },
        }


class Watch:
    """Samples /healthz latency, RSS and fds every 0.2 s while a flood runs."""

    def __init__(self, server: Server, figures: Figures) -> None:
        self.server = server
        self.figures = figures
        self._task: asyncio.Task[None] | None = None
        self._log_start = 0

    async def __aenter__(self) -> Watch:
        self._log_start = self.server.log_lines()
        self._sample_process()
        self._task = asyncio.create_task(self._run())
        self._started = time.monotonic()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.figures.seconds = time.monotonic() - self._started
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await asyncio.sleep(2)  # what the flood leaves behind once it stopped
        self._sample_process()
        self.figures.log_lines = self.server.log_lines() - self._log_start

    def _sample_process(self) -> None:
        with contextlib.suppress(OSError):
            self.figures.rss.append(self.server.rss_mib())
            self.figures.fds.append(self.server.fds())

    async def _run(self) -> None:
        # Its own connection each time: a flood of sockets must not be able to
        # hide behind a pooled keep-alive connection opened before it.
        timeout = aiohttp.ClientTimeout(total=5)
        while True:
            start = time.monotonic()
            try:
                async with (
                    aiohttp.ClientSession(timeout=timeout) as http,
                    http.get(f"{self.server.url}/healthz") as response,
                ):
                    await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, TimeoutError, OSError):
                ok = False
            if ok:
                self.figures.health_ms.append((time.monotonic() - start) * 1000)
            else:
                self.figures.health_failures += 1
            self._sample_process()
            await asyncio.sleep(max(0.0, 0.2 - (time.monotonic() - start)))


# --- the floods ------------------------------------------------------------------------------


async def idle_socket(
    http: aiohttp.ClientSession, url: str, figures: Figures, hold: asyncio.Event
) -> None:
    """One Socket.IO connection (Engine.IO WebSocket + namespace CONNECT) that
    never joins; it waits for ``hold`` or for the server to close it."""
    figures.sent += 1
    try:
        async with http.ws_connect(
            f"{url}/socket.io/?EIO=4&transport=websocket",
            timeout=aiohttp.ClientWSTimeout(ws_close=10),
        ) as ws:
            opened = await ws.receive(timeout=10)
            if opened.type != aiohttp.WSMsgType.TEXT or not str(opened.data).startswith("0"):
                figures.refused["no open packet"] += 1
                return
            await ws.send_str("40")
            answer = await ws.receive(timeout=10)
            if answer.type != aiohttp.WSMsgType.TEXT or not str(answer.data).startswith("40"):
                figures.refused[f"connect refused: {str(answer.data)[:40]}"] += 1
                return
            figures.accepted += 1
            closed = asyncio.create_task(_until_closed(ws))
            waiting = asyncio.create_task(hold.wait())
            done, _ = await asyncio.wait({closed, waiting}, return_when=asyncio.FIRST_COMPLETED)
            for task in (closed, waiting):
                task.cancel()
            if closed in done:
                figures.closed += 1
    except aiohttp.WSServerHandshakeError as exc:
        figures.refused[f"HTTP {exc.status}"] += 1
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        figures.failed[type(exc).__name__] += 1


async def _until_closed(ws: aiohttp.ClientWebSocketResponse) -> None:
    while True:
        message = await ws.receive()
        if message.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.ERROR,
        ):
            return
        if message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
            await ws.send_str("3")  # answer Engine.IO pings: idle, not dead


async def idle_flood(server: Server, count: int, hold_seconds: float) -> Figures:
    figures = Figures(f"idle sockets ({count}, held {hold_seconds:.0f} s)")
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http, Watch(server, figures):
        hold = asyncio.Event()
        gate = asyncio.Semaphore(100)  # connecting, not holding: all stay open

        async def one() -> None:
            async with gate:
                pass
            await idle_socket(http, server.url, figures, hold)

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        await asyncio.sleep(hold_seconds)
        hold.set()
        await asyncio.wait(tasks, timeout=30)
    return figures


class Member:
    """A joined Socket.IO client (python-socketio) that counts room events."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events = 0
        self.participant_id = ""
        self.sio.on("*", self._count)

    async def _count(self, event: str, data: Any = None) -> None:
        self.events += 1

    async def join(self, url: str, room: str, **extra: Any) -> dict[str, Any]:
        await self.sio.connect(url, transports=["websocket"], wait_timeout=10)
        ack: dict[str, Any] = await self.sio.call(
            "join", {"protocol": 1, "room": room, "name": self.name, "receive": False, **extra}
        )
        if not ack.get("ok"):
            raise RuntimeError(f"{self.name} could not join: {ack}")
        self.participant_id = ack["participant_id"]
        return ack

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


Payload = Callable[[int], tuple[str, dict[str, Any]]]


async def message_flood(
    server: Server, name: str, payloads: Payload, clients: int, seconds: float, limit: int
) -> Figures:
    """``clients`` members send ``payloads(i)`` as fast as acknowledgements
    come back, for ``seconds`` or ``limit`` messages in all; one more member
    only listens."""
    figures = Figures(f"{name} ({clients} clients)")
    meeting = await create_meeting(server.url)
    room, host_key = meeting["room"], meeting["host_key"]
    senders = [Member(f"sender {i}") for i in range(clients)]
    listener = Member("listener")
    try:
        await senders[0].join(server.url, room, host_key=host_key)
        for member in [*senders[1:], listener]:
            await member.join(server.url, room)
        await prepare(senders[0], name)
        listener.events = 0
        deadline = time.monotonic() + seconds

        async def send(member: Member) -> None:
            i = 0
            while time.monotonic() < deadline and figures.sent < limit:
                event, payload = payloads(i)
                i += 1
                figures.sent += 1
                try:
                    ack = await member.sio.call(event, payload, timeout=10)
                except Exception as exc:
                    figures.failed[type(exc).__name__] += 1
                    continue
                if ack.get("ok"):
                    figures.accepted += 1
                else:
                    figures.refused[ack.get("error", {}).get("code", "?")] += 1

        async with Watch(server, figures):
            await asyncio.gather(*(send(member) for member in senders))
        figures.received = listener.events
    finally:
        for member in [*senders, listener]:
            await member.close()
    return figures


async def prepare(host: Member, flood: str) -> None:
    """What a flood needs first: a launched poll to vote in (the meeting's
    first poll is ``p1``)."""
    if flood == "poll_vote":
        ack = await host.sio.call(
            "poll_create", {"question": "Lunch?", "options": ["Yes", "No"], "kind": "multiple"}
        )
        await host.sio.call("poll_launch", {"poll_id": ack["poll"]["poll_id"]})


def action_payloads() -> dict[str, Payload]:
    """One payload sequence per flooded action."""
    return {
        "chat_send": lambda i: ("chat_send", {"text": f"spam {i}"}),
        "raise_hand/lower_hand": lambda i: ("raise_hand", {}) if i % 2 == 0 else ("lower_hand", {}),
        "poll_vote": lambda i: (
            "poll_vote",
            {"poll_id": "p1", "option_ids": ["o1" if i % 2 else "o2"]},
        ),
        "set_view": lambda i: ("set_view", {"video": [f"p_{i % 7}"]}),
        "react": lambda i: ("react", {"emoji": "\U0001f44d"}),
        "mute": lambda i: ("mute", {"source": "microphone", "muted": i % 2 == 0}),
    }


async def create_meeting(url: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/v1/meetings", json={}, headers=headers) as response,
    ):
        body: dict[str, Any] = await response.json()
        if response.status != 201:
            raise RuntimeError(f"cannot create a meeting: {response.status} {body}")
        return body


async def creation_flood(server: Server, seconds: float, limit: int, concurrency: int) -> Figures:
    figures = Figures(f"anonymous POST /api/v1/meetings ({concurrency} at a time)")
    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http, Watch(server, figures):

        async def worker() -> None:
            while time.monotonic() < deadline and figures.sent < limit:
                figures.sent += 1
                try:
                    async with http.post(
                        f"{server.url}/api/v1/meetings",
                        data=b"{}",
                        headers={"Content-Type": "application/json"},
                    ) as response:
                        body = await response.read()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    figures.failed[type(exc).__name__] += 1
                    continue
                if response.status == 201:
                    figures.accepted += 1
                else:
                    figures.refused[f"{response.status} {_code(body)}".strip()] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return figures


def _code(body: bytes) -> str:
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return str(json.loads(body)["error"]["code"])
    return ""


# --- the report ------------------------------------------------------------------------------


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'flood':<48} {'s':>5} {'sent':>6} {'ok':>6} {'refused':>7} {'failed':>6} {'closed':>6} "
        f"{'listener':>8} "
        f"{'RSS MiB start/peak/end':>23} {'fds start/peak/end':>19} {'log':>6} "
        f"{'/healthz ms med/max (fail)':>27}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        health = row["healthz_ms"]
        listener = "" if row["listener_events"] is None else str(row["listener_events"])
        latency = f"{health['median']}/{health['max']} ({health['failures']})"
        print(
            f"{row['flood']:<48} {row['seconds']:>5} {row['sent']:>6} {row['accepted']:>6} "
            f"{sum(row['refused'].values()):>7} {sum(row['failed'].values()):>6} "
            f"{row['closed_by_server']:>6} {listener:>8} "
            f"{'/'.join(str(v) for v in row['rss_mib']):>23} "
            f"{'/'.join(str(v) for v in row['fds']):>19} {row['log_lines']:>6} "
            f"{latency:>27}"
        )
    for row in rows:
        if row["refused"] or row["failed"]:
            print(f"  {row['flood']}: refused {row['refused']} failed {row['failed']}")


def floods(server: Server, args: argparse.Namespace) -> list[Callable[[], Awaitable[Figures]]]:
    """Every flood of the benchmark, in order, ready to run."""

    def flood_of(name: str, payloads: Payload) -> Callable[[], Awaitable[Figures]]:
        return lambda: message_flood(
            server, name, payloads, args.clients, args.flood_seconds, args.flood_max
        )

    chosen = set(args.floods.split(","))
    return [
        *([lambda: idle_flood(server, args.idle, args.idle_hold)] if "idle" in chosen else []),
        *(
            flood_of(name, payloads)
            for name, payloads in action_payloads().items()
            if "messages" in chosen
        ),
        *(
            [lambda: creation_flood(server, args.create_seconds, args.create_max, args.concurrency)]
            if "create" in chosen
            else []
        ),
    ]


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the bench's own sockets
    server = Server(args.source.resolve(), args.server_nofile, {})
    rows: list[dict[str, Any]] = []
    try:
        async with aiohttp.ClientSession() as http:
            await server.wait_ready(http)
        for step in floods(server, args):
            if server.proc.poll() is not None:
                print("conf-server died; stopping", file=sys.stderr)
                break
            figures = await step()
            rows.append(figures.row())
            print(f"done: {figures.name}", file=sys.stderr)
    finally:
        server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout to run the server from")
    parser.add_argument("--server-nofile", type=int, default=1024, help="server's soft fd limit")
    parser.add_argument("--idle", type=int, default=1200, help="idle sockets to open")
    parser.add_argument("--idle-hold", type=float, default=30.0, help="seconds to hold them")
    parser.add_argument("--clients", type=int, default=3, help="senders per message flood")
    parser.add_argument("--flood-seconds", type=float, default=5.0)
    parser.add_argument("--flood-max", type=int, default=5000, help="messages per action at most")
    parser.add_argument("--create-seconds", type=float, default=10.0)
    parser.add_argument("--create-max", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=8, help="creation requests at a time")
    parser.add_argument(
        "--floods", default="idle,messages,create", help="which floods (comma-separated)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    rows = asyncio.run(run(args))
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
