"""Multi-node test deployments: real ``conf-server`` processes sharing a real
``redis-server``, and a protocol client that follows the multi-node rules of
docs/protocol.md (``wrong_node`` redirects, ``room_moved``, falling back to
the entry when its node dies) the way the web client does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from meeting_client import ProtocolError
from redis_server import free_port
from server_keys import ADMIN_KEY
from signaling_client import SignalingClientBase

#: Fast heartbeats so faults show within seconds (the defaults are 1 s / 5 s).
FAST_CLUSTER = {
    "CONF_HEARTBEAT_SECONDS": "0.5",
    "CONF_NODE_TTL_SECONDS": "3",
    "CONF_RECONNECT_GRACE_SECONDS": "6",
    "CONF_DRAIN_SECONDS": "2",
}


class NodeProcess:
    """One ``python -m conf_server`` node of a deployment, on a free port."""

    def __init__(
        self,
        tmp: Path,
        name: str,
        redis_url: str,
        prefix: str,
        ice_address: str = "127.0.0.1",
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in wait_exit)
        environment = {
            **os.environ,
            **FAST_CLUSTER,
            "CONF_REDIS_PREFIX": prefix,
            "CONF_ADMIN_API_KEY": ADMIN_KEY,
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "conf_server",
                "--port",
                str(self.port),
                "--data-dir",
                str(tmp / name),
                "--redis-url",
                redis_url,
                "--node-name",
                name,
                "--workers",
                "1",
                "--ice-address",
                ice_address,
                *args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environment,
        )

    def log(self) -> str:
        return self.log_path.read_text()

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node {self.name} exited:\n{self.log()}")
            with contextlib.suppress(OSError, aiohttp.ClientError):
                status, _ = await http(self.url, "GET", "/readyz")
                if status == 200:
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"node {self.name} not ready within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """``kill -9``: no drain, no goodbye to the registry."""
        self.proc.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    async def wait_exit(self, timeout: float = 20.0) -> int:
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(self.proc.wait, timeout)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"node {self.name} did not exit within {timeout} s")
        self._log.close()
        return self.proc.returncode

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def metric(text: str, name: str) -> float:
    """The value of one unlabelled sample of a Prometheus text page."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


async def http(
    base_url: str, method: str, path: str, key: str | None = ADMIN_KEY, **kwargs: Any
) -> tuple[int, Any]:
    """``(status, JSON or text)`` of one request."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeout = aiohttp.ClientTimeout(total=15)
    async with (
        aiohttp.ClientSession(headers=headers, timeout=timeout) as session,
        session.request(method, base_url + path, **kwargs) as response,
    ):
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def registry(node: NodeProcess) -> dict[str, Any]:
    """The node registry as one node sees it (GET /api/v1/admin/nodes)."""
    status, body = await http(node.url, "GET", "/api/v1/admin/nodes")
    assert status == 200, body
    return {entry["name"]: entry for entry in body["nodes"]}


async def room_node(node: NodeProcess, room: str) -> str | None:
    status, body = await http(node.url, "GET", f"/api/v1/rooms/{room}")
    assert status == 200, body
    return body["node"]  # type: ignore[no-any-return]


class RefusedError(ProtocolError):
    """A refused request, with the whole error object (``wrong_node`` carries a URL)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error)
        self.error = error


#: Error codes after which a client tries again (docs/protocol.md).
TRANSIENT = {"wrong_node", "store_unavailable", "draining"}


class NodeClient(SignalingClientBase):
    """A media-free protocol client for deployments of several nodes.

    ``join`` follows ``wrong_node`` redirects (at most 5 in a row). When its
    socket drops without it asking, or the server sends ``room_moved``, it
    joins again with its resume token: at the ``room_moved`` URL, else at the
    entry, retrying while the deployment recovers. ``rejoins`` counts that.
    """

    ack_wait = 15
    refused = RefusedError

    def __init__(self, entry_url: str, name: str) -> None:
        super().__init__(name)
        self.entry_url = entry_url
        self.url = entry_url
        self.sio: socketio.AsyncClient | None = None
        self.resume_token: str | None = None
        self.redirects: list[str] = []
        self.rejoins = 0
        self.auto_rejoin = True
        self._join_fields: dict[str, Any] = {}
        self._recovering: asyncio.Task[None] | None = None
        self._closers: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- connection ----------------------------------------------------------------

    async def _connect(self, url: str) -> None:
        await self._drop_socket()
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("*", self._record)
        sio.on("disconnect", lambda *args: self._on_disconnect(sio))
        self.sio = sio
        self.url = url
        try:
            await sio.connect(url, transports=["websocket"], wait_timeout=5)
        except Exception:
            if sio.eio.http is not None:  # python-socketio leaves it open
                await sio.eio.http.close()
            raise

    async def _drop_socket(self) -> None:
        old, self.sio = self.sio, None
        if old is not None and old.connected:
            # Not awaited: python-socketio's disconnect() may wait for the
            # handler that is running now (the one that got room_moved).
            self._closers.add(asyncio.get_running_loop().create_task(old.disconnect()))

    def _socket(self) -> socketio.AsyncClient:
        assert self.sio is not None, f"{self.name} is not connected"
        return self.sio

    def _follow(self, event: str, data: Any) -> None:
        if event == "room_moved":
            self._recover(data["url"])
        elif event == "lobby_admitted":
            self._joined(data)  # the join acknowledgement, as docs/protocol.md says

    def _on_disconnect(self, sio: socketio.AsyncClient) -> None:
        if sio is self.sio and not self._closing:
            self.sio = None
            self._recover(self.entry_url)
        self._changed.set()

    # -- joining -------------------------------------------------------------------

    async def join(self, room: str, retry_for: float = 0.0, **extra: Any) -> dict[str, Any]:
        """Join through the entry; transient refusals (``store_unavailable``,
        ``draining``) are retried for ``retry_for`` seconds, as the web client does."""
        self._join_fields = self._join_payload(room, extra)
        deadline = time.monotonic() + retry_for
        while True:
            try:
                return await self._join(self.entry_url)
            except RefusedError as exc:
                if exc.code not in TRANSIENT or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.3)

    async def _join(self, url: str) -> dict[str, Any]:
        for _ in range(6):
            if self.sio is None or not self.sio.connected or self.url != url:
                await self._connect(url)
            payload = dict(self._join_fields)
            if self.resume_token:
                payload["resume_token"] = self.resume_token
            try:
                ack = await self._send_join(payload)
            except RefusedError as exc:
                if exc.code != "wrong_node":
                    raise
                url = exc.error["url"]
                self.redirects.append(url)
                continue
            self._changed.set()
            return ack
        raise AssertionError(f"{self.name}: more than 5 redirects: {self.redirects}")

    def _joined(self, ack: dict[str, Any]) -> None:
        super()._joined(ack)
        self.resume_token = ack["resume_token"]

    def _recover(self, url: str) -> None:
        if not self.auto_rejoin or self.resume_token is None or self._closing:
            return
        if self._recovering is None or self._recovering.done():
            self._recovering = asyncio.get_running_loop().create_task(self._rejoin(url))

    async def _rejoin(self, url: str, give_up_after: float = 40.0) -> None:
        deadline = time.monotonic() + give_up_after
        while not self._closing and time.monotonic() < deadline:
            try:
                await self._join(url)
                self.rejoins += 1
                self._changed.set()
                return
            except RefusedError as exc:
                if exc.code not in TRANSIENT:
                    self.events.append(("rejoin_failed", exc.error))
                    return
            except (OSError, socketio.exceptions.ConnectionError, TimeoutError):
                pass  # its node is gone and the entry still points there
            url = self.entry_url
            await asyncio.sleep(0.3)
        self.events.append(("rejoin_failed", {"code": "gave_up"}))

    # -- observing -----------------------------------------------------------------

    async def wait_rejoined(self, count: int = 1, timeout: float = 20.0) -> None:
        await self.wait_for(lambda: self.rejoins >= count, timeout)

    async def close(self) -> None:
        self._closing = True
        if self._recovering is not None:
            self._recovering.cancel()
            await asyncio.gather(self._recovering, return_exceptions=True)
        await self._drop_socket()
        await asyncio.gather(*self._closers, return_exceptions=True)

    def vanish(self) -> None:
        """Stop taking part without a word (a laptop that went to sleep)."""
        self._closing = True


# -- --workers -------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def three_free_ports() -> int:
    for _ in range(50):
        port = free_port()
        if port < 65000 and port_free(port + 1) and port_free(port + 2):
            return port
    raise RuntimeError("no three consecutive free ports")


def two_free_udp_ports() -> int:
    """A UDP port whose next one is free too (for two workers' relays)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65000:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.bind(("127.0.0.1", port + 1))
                return int(port)
            except OSError:
                continue
    raise RuntimeError("no two consecutive free UDP ports")


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def alive(pid: int) -> bool:
    """The process runs (a zombie does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return False


class Workers:
    """``conf-server --workers 2 --node-name w`` on a shared port with two node ports."""

    def __init__(
        self, tmp: Path, redis_url: str, prefix: str, env: dict[str, str] | None = None
    ) -> None:
        self.port = three_free_ports()
        self.entry = f"http://127.0.0.1:{self.port}"
        self.node_url = {
            "w-1": f"http://127.0.0.1:{self.port + 1}",
            "w-2": f"http://127.0.0.1:{self.port + 2}",
        }
        self.log_path = tmp / "workers.log"
        self.children: list[int] = []
        #: The workers' media relays: a fixed port, so each takes its own.
        self.relay_port = two_free_udp_ports()
        environment = {
            **os.environ,
            **FAST_CLUSTER,
            "CONF_RELAY_HOST": "127.0.0.1",
            "CONF_RELAY_PORT": str(self.relay_port),
            "CONF_REDIS_PREFIX": prefix,
            "CONF_ADMIN_API_KEY": ADMIN_KEY,
            **(env or {}),
        }
        with open(self.log_path, "w") as log:
            self.parent = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "conf_server",
                    "--workers",
                    "2",
                    "--port",
                    str(self.port),
                    "--redis-url",
                    redis_url,
                    "--data-dir",
                    str(tmp / "data"),
                    "--node-name",
                    "w",
                    "--ice-address",
                    "127.0.0.1",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + 60  # a loaded machine takes long to start
        while True:
            with contextlib.suppress(Exception):  # not up yet
                status, body = await http(self.entry, "GET", "/api/v1/admin/nodes")
                if status == 200 and {n["name"] for n in body["nodes"]} >= set(self.node_url):
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"workers did not come up:\n{self.log()}")
            await asyncio.sleep(0.1)
        self.children = children_of(self.parent.pid)

    async def terminate(self, within: float) -> int:
        """SIGTERM to the parent; its exit code, or AssertionError after ``within`` s."""
        self.parent.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.parent.wait, within)
        except subprocess.TimeoutExpired:
            running = [pid for pid in self.children if alive(pid)]
            raise AssertionError(
                f"still running {within} s after SIGTERM (workers alive: {running}):\n{self.log()}"
            ) from None

    def stop(self) -> None:
        if self.parent.poll() is None:
            self.parent.kill()
            self.parent.wait()
        for pid in self.children:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
