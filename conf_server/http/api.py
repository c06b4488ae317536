"""The REST API, an aiohttp sub-application mounted at ``/api/v1``."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable

from aiohttp import web

from conf_server.errors import ConfServerError
from signaling.protocol import is_room_name

from . import (
    admin_api,
    escalations_api,
    expect_header,
    ice_servers_api,
    media_debug_api,
    meetings_api,
    nodes_api,
    recording_shares_api,
    recordings_api,
    share_viewer_api,
    webhooks_api,
)
from .keys import MEETINGS, SETTINGS
from .openapi import openapi_document

logger = logging.getLogger(__name__)

# Before any route is made (the composition root imports this module before it
# builds the application): see expect_header.py.
expect_header.install()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(
    status: int, code: str, message: str, retry_after: float | None = None
) -> web.Response:
    """The JSON error body of CONTRACT.md; with ``retry_after`` (seconds) also
    in the body and as a ``Retry-After`` header (whole seconds, rounded up)."""
    error: dict[str, object] = {"code": code, "message": message}
    headers = {}
    if retry_after is not None:
        error["retry_after"] = retry_after
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return web.json_response({"error": error}, status=status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure of the API becomes ``{"error": {"code", "message"}}``."""
    try:
        return await handler(request)
    except ConfServerError as exc:
        retry_after = getattr(exc, "retry_after", None)
        return error_response(
            exc.status,
            exc.code,
            exc.message,
            float(retry_after) if isinstance(retry_after, int | float) else None,
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status, "http_error"
        )
        return error_response(exc.status, code, exc.reason)
    except json.JSONDecodeError:
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    except ConnectionResetError:
        # The client went away mid-request (while its body was read or the
        # answer written): nobody is left to answer, and it is not our fault.
        logger.info("API request %s %s: the client went away", request.method, request.path)
        raise
    except Exception:
        logger.exception("API request %s %s failed", request.method, request.path)
        return error_response(500, "internal_error", "the server failed to handle this request")


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.config_dict[SETTINGS]))


async def get_room(request: web.Request) -> web.Response:
    room = request.match_info["room"]
    if not is_room_name(room):
        return error_response(400, "invalid_room", "room names are 1-64 of A-Z a-z 0-9 _ -")
    return web.json_response(await request.config_dict[MEETINGS].room_info(room))


def create_api() -> web.Application:
    api = web.Application(middlewares=[json_errors])
    api.router.add_get("/openapi.json", get_openapi)
    api.router.add_get("/rooms/{room}", get_room)
    meetings_api.add_routes(api)
    webhooks_api.add_routes(api)
    escalations_api.add_routes(api)
    admin_api.add_routes(api)
    media_debug_api.add_routes(api)
    nodes_api.add_routes(api)
    recordings_api.add_routes(api)
    recording_shares_api.add_routes(api)
    share_viewer_api.add_routes(api)
    ice_servers_api.add_routes(api)
    return api
