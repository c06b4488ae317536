"""``GET /api/v1/admin/rooms/{room}/media``: one room's media as this node's SFU
sees it (admin scope), for finding out why someone's video is poor.

Per node: a room's media lives on the node that hosts it; another node answers
``404 room_not_found`` (``GET /api/v1/admin/nodes`` says which node to ask).
"""

from __future__ import annotations

import time

from aiohttp import web

from conf_server.errors import InvalidRequest, NotFound
from conf_server.meeting.media_report import room_media_report
from signaling.protocol import is_room_name

from .api_auth import caller
from .keys import MEETINGS


async def room_media(request: web.Request) -> web.Response:
    caller(request, "admin")
    room = request.match_info["room"]
    if not is_room_name(room):
        raise InvalidRequest("room names are 1-64 of A-Z a-z 0-9 _ -", code="invalid_room")
    participant = request.query.get("participant")
    service = request.config_dict[MEETINGS]
    # service.media, not service.room_media(): that would create the room's media.
    media = service.media.get(room)
    if media is None:
        raise NotFound(f"room {room!r} has no media on this node", code="room_not_found")
    report = room_media_report(media, time.monotonic(), participant)
    return web.json_response({"room": room, "node": service.node.name, **report})


def add_routes(api: web.Application) -> None:
    api.router.add_get("/admin/rooms/{room}/media", room_media)
