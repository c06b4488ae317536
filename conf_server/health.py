"""Health, readiness and metrics endpoints."""

from __future__ import annotations

from aiohttp import web

from .keys import MEETINGS


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    request.app[MEETINGS]  # the service exists once the app started
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format: live media objects on this node."""
    stats = request.app[MEETINGS].media_stats()
    lines = []
    for key in ("rooms", "publish_transports", "subscribe_transports", "producers", "consumers"):
        lines.append(f"# TYPE conf_{key} gauge")
        lines.append(f"conf_{key} {stats.get(key, 0)}")
    participants = sum(len(r.participants) for r in request.app[MEETINGS].directory.rooms.values())
    lines += ["# TYPE conf_participants gauge", f"conf_participants {participants}"]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
