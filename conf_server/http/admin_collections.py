"""The shape shared by the admin collections (``/admin/keys``, ``/admin/webhooks``):
``GET`` lists the items under one field, ``DELETE .../{id}`` answers the removed
(revoked, deleted) item's description. Both need an admin key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .api_auth import caller

Handler = Callable[[web.Request], Awaitable[web.Response]]


def list_handler(field: str, items: Callable[[web.Request], list[dict[str, Any]]]) -> Handler:
    """``GET``: ``{field: items(request)}``."""

    async def handler(request: web.Request) -> web.Response:
        caller(request, "admin")
        return web.json_response({field: items(request)})

    return handler


def delete_handler(id_param: str, remove: Callable[[web.Request, str], dict[str, Any]]) -> Handler:
    """``DELETE .../{id_param}``: the item ``remove(request, id)`` answers."""

    async def handler(request: web.Request) -> web.Response:
        caller(request, "admin")
        return web.json_response(remove(request, request.match_info[id_param]))

    return handler
