"""Building the Socket.IO server and the event sink the domain emits through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import socketio


def create_socket_server(
    client_manager: Any | None = None,
    allowed_origins: list[str] | Callable[[str, dict[str, Any]], bool] | None = None,
) -> socketio.AsyncServer:
    """An ``AsyncServer`` for aiohttp; pass ``AsyncRedisManager`` to fan out over Redis.

    ``allowed_origins`` None means same origin only (python-engineio's default;
    an empty list would switch the Origin check off); a callable decides per
    Origin (python-engineio passes the origin and the WSGI-style environ).
    """
    kwargs: dict[str, Any] = {
        "async_mode": "aiohttp",
        "cors_allowed_origins": allowed_origins,
        # Room for the largest message: a subscriber answer (1 MiB, protocol.py).
        "max_http_buffer_size": 2 * 1024 * 1024,
        "ping_interval": 10,
        "ping_timeout": 10,
    }
    if client_manager is not None:
        kwargs["client_manager"] = client_manager
    return socketio.AsyncServer(**kwargs)


class SocketEmitter:
    """:class:`EventSink` on top of a python-socketio server."""

    def __init__(self, server: socketio.AsyncServer) -> None:
        self._server = server

    # A room lives on one node, so its sockets are normally all connected here:
    # then events skip the Redis round trip (``ignore_queue``) and still reach
    # everybody while Redis is down. Only events for sockets elsewhere (from a
    # REST call on another node) go through the client manager's queue.

    def _local(self, room: str) -> bool:
        return bool(self._server.manager.rooms.get("/", {}).get(room))

    async def to_client(self, sid: str, event: str, data: dict[str, Any]) -> None:
        await self._server.emit(event, data, to=sid, ignore_queue=self._local(sid))

    async def to_room(
        self, room: str, event: str, data: dict[str, Any], skip_sid: str | list[str] | None = None
    ) -> None:
        await self._server.emit(
            event, data, room=room, skip_sid=skip_sid, ignore_queue=self._local(room)
        )

    async def enter_room(self, sid: str, room: str) -> None:
        await self._server.enter_room(sid, room)

    async def leave_room(self, sid: str, room: str) -> None:
        await self._server.leave_room(sid, room)

    async def disconnect(self, sid: str) -> None:
        await self._server.disconnect(sid)
