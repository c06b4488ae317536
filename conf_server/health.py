"""Health and readiness endpoints (metrics: conf_server/metrics.py)."""

from __future__ import annotations

from aiohttp import web

from .keys import MEETINGS


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    request.app[MEETINGS]  # the service exists once the app started
    return web.json_response({"status": "ready"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
