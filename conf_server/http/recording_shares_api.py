"""REST routes that make, list and revoke a recording's share links.

``POST /api/v1/recordings/{id}/shares`` ``{password, expires_in | expires_at,
note?}`` -> the share with its ``url`` (``/s/<share id>``, the player page);
``GET .../shares`` -> the shares (never their password hashes) and the audit
trail; ``DELETE .../shares/{share_id}`` revokes one.

Who may: an admin key, or a meeting's host holding the signed ``shares_url``
that ``recording_links`` hands hosts when the deployment lets hosts download
(``recording_host_download``): a ``download_token`` for the pseudo-file
:data:`~conf_server.integration.recording_shares.SHARES_SCOPE` of that
recording, valid for an hour.

The shares themselves: conf_server/integration/recording_shares.py; the page
and routes a link opens: conf_server/http/share_viewer_api.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from conf_server.errors import NotFound
from conf_server.integration.api_keys import Unauthorized
from conf_server.integration.recording_shares import (
    MAX_NOTE_CHARS,
    SHARES_SCOPE,
    ShareBook,
    public_share,
    recording_of,
)
from conf_server.integration.share_passwords import check_password, hash_password

from .api_auth import caller
from .keys import MEETINGS
from .request_body import InvalidRequest, read_json_object, reject_unknown_fields
from .share_access import client_key, hashing, recording_here

MIN_LIFETIME = 60.0
MAX_LIFETIME = 90 * 86400.0


def _who(request: web.Request, recording_id: str) -> str:
    """``admin`` or ``host``: who manages this recording's shares (else 401/403)."""
    token = request.query.get("download_token")
    if token is None:
        caller(request, "admin")
        return "admin"
    service = request.config_dict[MEETINGS]
    if not service.settings.recording_host_download or service.download_links is None:
        raise Unauthorized("on this server only administrators share recordings")
    service.download_links.check(token, recording_id, SHARES_SCOPE)
    return "host"


async def _book(request: web.Request) -> ShareBook | web.StreamResponse:
    """The recording's shares here, or the answer of the node that has it."""
    recording_id = request.match_info["recording_id"]
    here = await recording_here(request, recording_id, NotFound("no recording with that id"))
    return here if isinstance(here, web.StreamResponse) else here.book


def _expiry(body: dict[str, Any], now: float) -> float:
    """``expires_at`` from ``expires_in`` (seconds) or ``expires_at`` (Unix seconds)."""
    has_in, has_at = "expires_in" in body, "expires_at" in body
    if has_in == has_at:
        raise InvalidRequest("give exactly one of 'expires_in' and 'expires_at'", "invalid_expiry")
    value = body["expires_in"] if has_in else body["expires_at"]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidRequest("the expiry must be a number of seconds", "invalid_expiry")
    lifetime = float(value) if has_in else float(value) - now
    if not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        raise InvalidRequest("a share link lives from one minute to 90 days", "invalid_expiry")
    return round(now + lifetime, 3)


async def create_share(request: web.Request) -> web.StreamResponse:
    recording_id = request.match_info["recording_id"]
    by = _who(request, recording_id)
    body = await read_json_object(request)
    reject_unknown_fields(body, {"password", "expires_in", "expires_at", "note"})
    password = check_password(body.get("password"))
    expires_at = _expiry(body, time.time())
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE_CHARS):
        raise InvalidRequest(f"field 'note' must be text of at most {MAX_NOTE_CHARS} characters")
    book = await _book(request)
    if isinstance(book, web.StreamResponse):
        return book
    async with hashing(request):
        stored = await asyncio.to_thread(hash_password, password)
    share = book.create(stored, expires_at, by, note, client_key(request))
    return web.json_response(public_share(share), status=201)


async def list_shares(request: web.Request) -> web.StreamResponse:
    _who(request, request.match_info["recording_id"])
    book = await _book(request)
    if isinstance(book, web.StreamResponse):
        return book
    data = book.read()
    return web.json_response(
        {
            "recording_id": book.recording_id,
            "shares": [public_share(s) for s in book.shares()],
            "audit": data["audit"],
            "audit_dropped": data["audit_dropped"],
        }
    )


async def revoke_share(request: web.Request) -> web.StreamResponse:
    recording_id, share_id = request.match_info["recording_id"], request.match_info["share_id"]
    by = _who(request, recording_id)
    book = await _book(request)
    if isinstance(book, web.StreamResponse):
        return book
    if recording_of(share_id) != recording_id:
        raise NotFound("no share link with that id", "share_not_found")
    share = book.revoke(share_id, by, client_key(request))
    return web.json_response(public_share(share))


def add_routes(api: web.Application) -> None:
    api.router.add_post("/recordings/{recording_id}/shares", create_share)
    api.router.add_get("/recordings/{recording_id}/shares", list_shares)
    api.router.add_delete("/recordings/{recording_id}/shares/{share_id}", revoke_share)
