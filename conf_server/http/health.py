"""Health and readiness endpoints (metrics: conf_server/http/metrics.py).

``/healthz`` says the process is alive; it never depends on Redis, so an
orchestrator does not restart nodes whose media is fine while Redis is away.
``/readyz`` says "send me new meetings": it fails while the shared store
cannot be reached and while the node drains.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from conf_server.errors import ConfServerError

from .keys import MEETINGS

#: How long /readyz waits for the store before calling it unreachable.
READY_TIMEOUT = 2.0


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    service = request.app[MEETINGS]
    if service.node.draining:
        return web.json_response(
            {"status": "draining", "reason": "this node is shutting down"}, status=503
        )
    try:
        await asyncio.wait_for(service.cluster.ping(), READY_TIMEOUT)
    except (ConfServerError, TimeoutError):
        return web.json_response(
            {"status": "unavailable", "reason": "the shared state store (Redis) cannot be reached"},
            status=503,
        )
    return web.json_response({"status": "ready", "node": service.node.name})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
