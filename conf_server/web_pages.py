"""The browser client: landing page, room page, admin page, static modules and the vendored
socket.io client that ``npm ci`` put under web_client/node_modules."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

WEB_CLIENT_DIR = Path(__file__).resolve().parent.parent / "web_client"
SOCKET_IO_CLIENT = "node_modules/socket.io-client/dist/socket.io.esm.min.js"
ROOM_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def add_routes(app: web.Application, client_dir: Path = WEB_CLIENT_DIR) -> None:
    async def landing(_: web.Request) -> web.FileResponse:
        return web.FileResponse(client_dir / "index.html")

    async def room(request: web.Request) -> web.StreamResponse:
        if not ROOM_PATTERN.match(request.match_info["room"]):
            raise web.HTTPNotFound(text="Room names are 1-64 characters of A-Z a-z 0-9 _ -")
        return web.FileResponse(client_dir / "room.html")

    async def admin(_: web.Request) -> web.FileResponse:
        return web.FileResponse(client_dir / "admin.html")

    async def socket_io_client(_: web.Request) -> web.StreamResponse:
        path = client_dir / SOCKET_IO_CLIENT
        if not path.is_file():
            raise web.HTTPServiceUnavailable(
                text="socket.io client missing: run `npm ci` in web_client/ (see README)"
            )
        return web.FileResponse(path, headers={"Content-Type": "text/javascript"})

    app.router.add_get("/", landing)
    app.router.add_get("/r/{room}", room)
    app.router.add_get("/admin", admin)
    app.router.add_get("/vendor/socket.io.esm.min.js", socket_io_client)
    app.router.add_static("/static/", client_dir, follow_symlinks=False)
