"""Who is calling the REST API: ``caller(request, *scopes)`` in each protected
handler (see conf_server/integration/api_keys.py for the rules)."""

from __future__ import annotations

from aiohttp import web

from conf_server.integration.api_keys import Caller

from .keys import API_KEYS


def caller(request: web.Request, *scopes: str) -> Caller:
    """Authenticate the request (401) and check that its key has one of
    ``scopes`` or is an admin key (403)."""
    found = request.config_dict[API_KEYS].authenticate(request)
    found.require(*scopes)
    return found
