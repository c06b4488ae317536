"""The routes a share link's player page uses, without any key.

- ``GET /api/v1/shares/{share_id}``: is the link still good (``state``,
  ``expires_at``), else ``404 share_not_found`` / ``410 share_expired`` /
  ``410 share_revoked``. Nothing about the recording before the password.
- ``POST /api/v1/shares/{share_id}/session`` ``{password}``: a right password
  sets the share's session cookie (conf_server/http/share_access.py) and
  answers the recording's title and the video and transcript routes; a wrong
  one is ``401 wrong_password``, counted per link and per client address;
  past the limit ``429 rate_limited`` (``Retry-After``), unhashed.
- ``GET /api/v1/shares/{share_id}/video``: the recording's composite, with
  HTTP Range for seeking (conf_server/http/file_download.py).
- ``GET /api/v1/shares/{share_id}/transcript?format=vtt|txt|json``.

The last two ask for the session cookie, and every route checks the share
again (a revoked or expired link stops at once, session or not). What
happens is written to the recording's share audit (created by the share
routes, ``opened``, ``wrong_password``, ``served``: with time and client
address); ``served`` at most a few times a minute per file and address, so
seeking does not flood it.

Several nodes: the share id names its recording; a node without that
recording relays the request to the node that has it (as the recording
routes do), the session cookie included; with storage all nodes share, any
node answers itself (the session is signed with the deployment's shared
secret).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from conf_server.errors import ConfServerError, NotFound
from conf_server.integration.recording_shares import ShareBook, ensure_active, recording_of
from conf_server.integration.share_passwords import MAX_PASSWORD_CHARS, verify_password
from conf_server.meeting.transcript_links import TRANSCRIPT_FORMATS
from recording.library import RecordingLibrary
from signaling.rate_limit import Limit, RateLimiter

from .file_download import send_file
from .node_forwarding import forwarded
from .request_body import InvalidRequest, read_json_object, reject_unknown_fields
from .share_access import (
    WrongPassword,
    check_session,
    client_key,
    guards,
    hashing,
    install,
    recording_here,
    start_session,
)


class NoVideo(ConfServerError):
    """``video_not_ready`` (409: still being rendered) or ``no_video`` (404)."""

    code = "no_video"
    status = 404


@dataclass
class SharedRecording:
    """A share found on this node, with its recording."""

    share_id: str
    share: dict[str, Any]
    record: dict[str, Any]
    book: ShareBook
    library: RecordingLibrary


#: How often one address's use of one file is written to the audit.
_SERVED_AUDIT = web.AppKey("share_served_audit", RateLimiter)


async def _shared(request: web.Request) -> SharedRecording | web.StreamResponse:
    """The path's share if it is active, or the answer of the node that has it."""
    share_id = request.match_info["share_id"]
    recording_id = recording_of(share_id)
    if recording_id is None:
        raise NotFound("no share link with that id", "share_not_found")
    here = await recording_here(
        request, recording_id, NotFound("no share link with that id", "share_not_found")
    )
    if isinstance(here, web.StreamResponse):
        return here
    share = here.book.find(share_id)
    ensure_active(share)
    return SharedRecording(share_id, share, here.record, here.book, here.library)


def _share_url(share_id: str, what: str) -> str:
    return f"/api/v1/shares/{share_id}/{what}"


async def get_share(request: web.Request) -> web.StreamResponse:
    found = await _shared(request)
    if isinstance(found, web.StreamResponse):
        return found
    return web.json_response(
        {"share_id": found.share_id, "state": "active", "expires_at": found.share["expires_at"]}
    )


async def _password(request: web.Request) -> str:
    body = await read_json_object(request)
    reject_unknown_fields(body, {"password"})
    password = body.get("password")
    if not isinstance(password, str):
        raise InvalidRequest("field 'password' must be a string")
    return password


async def open_session(request: web.Request) -> web.StreamResponse:
    share_id = request.match_info["share_id"]
    # The client's address counts here, unless another node relayed the
    # request (then that node counted the client, and this one the link).
    address = None if forwarded(request) else client_key(request)
    guards(request).admit(None, address)
    found = await _shared(request)
    if isinstance(found, web.StreamResponse):
        if found.status == WrongPassword.status:
            guards(request).wrong(None, address)
        return found
    password = await _password(request)
    with guards(request).one_at_a_time(share_id, address):
        guards(request).admit(share_id, address)
        right = False
        if len(password) <= MAX_PASSWORD_CHARS:
            async with hashing(request):
                right = await asyncio.to_thread(verify_password, password, found.share["password"])
        if not right:
            guards(request).wrong(share_id, address)
            found.book.audit("wrong_password", share_id, address)
            raise WrongPassword("that is not this link's password")
    found.book.audit("opened", share_id, address)
    transcript = found.library.file_path(found.record["id"], TRANSCRIPT_FORMATS["vtt"])
    body = {
        "share_id": share_id,
        "title": found.record.get("title"),
        "started_at": found.record.get("started_at"),
        "duration": found.record.get("duration"),
        "video_url": _share_url(share_id, "video"),
        "transcript": None
        if transcript is None
        else {
            fmt: f"{_share_url(share_id, 'transcript')}?format={fmt}" for fmt in TRANSCRIPT_FORMATS
        },
    }
    return start_session(request, share_id, found.share["expires_at"], body)


async def _serve(request: web.Request, found: SharedRecording, name: str) -> web.StreamResponse:
    """One file of the shared recording, audited now and then."""
    fd = found.library.open_file(found.record["id"], name)
    if fd is None:
        raise NotFound("this recording has no such file")
    address = None if forwarded(request) else client_key(request)  # as open_session
    if request.app[_SERVED_AUDIT].take((found.share_id, name, address)) is None:
        found.book.audit("served", found.share_id, address, name)
    try:
        return await send_file(request, fd, name)
    finally:
        os.close(fd)


async def get_video(request: web.Request) -> web.StreamResponse:
    found = await _shared(request)
    if isinstance(found, web.StreamResponse):
        return found
    check_session(request, found.share_id)
    composite = found.record.get("composite")
    ready = isinstance(composite, dict) and composite.get("state") == "ready"
    name = composite.get("file") if ready and isinstance(composite, dict) else None
    if not isinstance(name, str):
        if found.record.get("state") == "processing":
            raise NoVideo("the video is still being made; try again later", "video_not_ready")
        raise NoVideo("this recording has no video")
    return await _serve(request, found, name)


async def get_transcript(request: web.Request) -> web.StreamResponse:
    fmt = request.query.get("format", "vtt")
    if fmt not in TRANSCRIPT_FORMATS:
        raise InvalidRequest("format must be json, vtt or txt")
    found = await _shared(request)
    if isinstance(found, web.StreamResponse):
        return found
    check_session(request, found.share_id)
    if found.library.file_path(found.record["id"], TRANSCRIPT_FORMATS[fmt]) is None:
        raise NotFound("this recording has no transcript", "no_transcript")
    return await _serve(request, found, TRANSCRIPT_FORMATS[fmt])


def add_routes(api: web.Application) -> None:
    install(api)
    api[_SERVED_AUDIT] = RateLimiter(Limit(rate=1 / 60, burst=3), max_keys=10_000)
    api.router.add_get("/shares/{share_id}", get_share)
    api.router.add_post("/shares/{share_id}/session", open_session)
    api.router.add_get("/shares/{share_id}/video", get_video)
    api.router.add_get("/shares/{share_id}/transcript", get_transcript)
