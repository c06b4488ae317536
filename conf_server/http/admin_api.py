"""Admin routes for API keys: ``/api/v1/admin/keys`` (admin scope only)."""

from __future__ import annotations

from aiohttp import web

from conf_server.integration.api_keys import SCOPES

from .admin_collections import delete_handler, list_handler
from .api_auth import caller
from .keys import API_KEYS
from .request_body import InvalidRequest, read_json_object, reject_unknown_fields


async def create_key(request: web.Request) -> web.Response:
    caller(request, "admin")
    body = await read_json_object(request)
    reject_unknown_fields(body, {"name", "scope"})
    name, scope = body.get("name"), body.get("scope")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidRequest("field 'name' must be 1 to 100 characters")
    if scope not in SCOPES:
        raise InvalidRequest(f"field 'scope' must be one of {', '.join(SCOPES)}")
    created = request.config_dict[API_KEYS].create(name.strip(), scope)
    return web.json_response(created, status=201)


list_keys = list_handler("keys", lambda request: request.config_dict[API_KEYS].list())
revoke_key = delete_handler(
    "key_id", lambda request, key_id: request.config_dict[API_KEYS].revoke(key_id)
)


def add_routes(api: web.Application) -> None:
    api.router.add_post("/admin/keys", create_key)
    api.router.add_get("/admin/keys", list_keys)
    api.router.add_delete("/admin/keys/{key_id}", revoke_key)
