"""A real webhook receiver for the tests: an aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from conf_server.integration.webhooks import verify_signature


def free_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    raw: bytes
    body: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.body = json.loads(self.raw)

    def verifies(self, secret: str) -> bool:
        return verify_signature(
            secret, self.headers["X-Conf-Timestamp"], self.raw, self.headers["X-Conf-Signature"]
        )


class Receiver:
    """Answers each POST with the next status of ``statuses`` (then 200), after
    ``delay`` seconds; keeps every request it got. ``keep_alive=False`` closes
    each connection after its answer (the sender must connect anew)."""

    def __init__(
        self,
        statuses: list[int] | None = None,
        delay: float = 0.0,
        port: int | None = None,
        keep_alive: bool = True,
    ) -> None:
        self.statuses = list(statuses or [])
        self.delay = delay
        self.keep_alive = keep_alive
        self.port = port or free_port()
        self.requests: list[Received] = []
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.requests.append(Received(time.monotonic(), dict(request.headers), raw))
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        response = web.Response(status=status, text="nope" if status >= 300 else "ok")
        if not self.keep_alive:
            response.force_close()
        return response

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._released.clear()
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def event_ids(self) -> list[str]:
        return [r.body["id"] for r in self.requests]

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Wait until at least ``count`` requests arrived."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} of {count} webhook requests arrived")
            await asyncio.sleep(0.01)
        return self.requests
