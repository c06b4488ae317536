"""REST requests that only another node can answer are relayed to it: those
about a room hosted elsewhere (its roster, its recorder) and those about a
recording whose files are on another node's disk. This node passes the
method, path, query, key, body and range headers on, and streams the answer
back, so API clients may talk to any node of a deployment.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import aiohttp
from aiohttp import web

from conf_server.cluster.cluster import NodeInfo
from conf_server.domain.meeting_state import MeetingState
from conf_server.errors import NodeUnreachable, NotFound

from .keys import MEETINGS
from .request_body import read_body

logger = logging.getLogger(__name__)

#: Marks a forwarded request, so it is never forwarded again. Its value is
#: signed with the deployment's forwarding secret: a client setting it itself
#: does not make a node answer for a room or recording it does not have.
FORWARDED_HEADER = "X-Conf-Forwarded-By"
#: The request's conditional and range headers go along, so a relayed download
#: answers exactly as on its own node (conf_server/http/file_download.py).
_PASSED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Accept",
    "Range",
    "If-Range",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
    # A share link's session (conf_server/http/share_access.py) goes to the
    # recording's node and comes back from it.
    "Cookie",
)
_RELAYED_HEADERS = (
    "Content-Type",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "Last-Modified",
    "Content-Disposition",
    "Set-Cookie",
    "Retry-After",
)
_CHUNK = 256 * 1024


def _signature(key: bytes, node: str, request: web.Request) -> str:
    message = f"{node}|{request.method}|{request.rel_url.path_qs}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def forwarded(request: web.Request) -> bool:
    """True if another node of this deployment relayed the request here."""
    value = request.headers.get(FORWARDED_HEADER, "")
    node, _, signature = value.partition(".")
    key = request.config_dict[MEETINGS].node.forward_key
    # Bytes: compare_digest raises on str with non-ASCII, and the header may
    # hold anything (a public route reads it; surrogate-escaped bytes too).
    given = signature.encode("utf-8", "surrogateescape")
    return bool(signature) and hmac.compare_digest(given, _signature(key, node, request).encode())


async def live_node(request: web.Request, name: str | None) -> NodeInfo | None:
    """The live node called ``name`` if a request should go there: None when it
    is this node, not alive, or the request was forwarded already."""
    service = request.config_dict[MEETINGS]
    if name is None or name == service.node.name or forwarded(request):
        return None
    for node in await service.cluster.nodes():
        if node.name == name:
            return node
    return None


async def forward_to_room_node(request: web.Request, room: str) -> web.StreamResponse | None:
    """The answer of the node hosting ``room``, or None if this node should
    answer (it hosts the room, nobody does, its node just died and this is a
    GET that the shared state answers, or the request was forwarded)."""
    service = request.config_dict[MEETINGS]
    owner = await live_node(request, await service.cluster.owner(room))
    if owner is None:
        return None
    try:
        return await relay(request, owner)
    except NodeUnreachable:
        if request.method == "GET":
            return None  # answer from the shared state (the node may just have died)
        raise


async def meeting_here(request: web.Request, not_found: str) -> MeetingState | web.StreamResponse:
    """The meeting of the path's ``{meeting_id}`` if this node answers for it,
    or the answer of the node hosting its room (:func:`forward_to_room_node`).
    Raises :class:`NotFound` with ``not_found`` when there is no such meeting."""
    state = await request.config_dict[MEETINGS].store.find(request.match_info["meeting_id"])
    if state is None:
        raise NotFound(not_found)
    forwarded = await forward_to_room_node(request, state.room)
    return state if forwarded is None else forwarded


def _sendable(value: str) -> str:
    """A header value as the HTTP client can send it on. Bytes that were no
    UTF-8 reach us as lone surrogates (surrogateescape), which aiohttp's client
    silently drops (``bytes=0\xff-9`` would go on as ``bytes=0-9``) or fails to
    encode: they go on as U+FFFD, so the other node refuses what this one would."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


async def relay(request: web.Request, node: NodeInfo) -> web.StreamResponse:
    """Send ``request`` to ``node`` and stream its answer back."""
    headers = {
        name: _sendable(request.headers[name])
        for name in _PASSED_HEADERS
        if name in request.headers
    }
    agent = request.config_dict[MEETINGS].node
    headers[FORWARDED_HEADER] = f"{agent.name}.{_signature(agent.forward_key, agent.name, request)}"
    url = node.url + request.rel_url.path_qs
    body = await read_body(request)
    timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_read=30)
    response: web.StreamResponse | None = None
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session,
            session.request(request.method, url, data=body, headers=headers) as answer,
        ):
            response = web.StreamResponse(status=answer.status)
            for name in _RELAYED_HEADERS:
                if name in answer.headers:
                    response.headers[name] = answer.headers[name]
            if answer.content_length is not None:
                response.content_length = answer.content_length
            await response.prepare(request)
            async for chunk in answer.content.iter_chunked(_CHUNK):
                await response.write(chunk)
            await response.write_eof()
            return response
    except (aiohttp.ClientError, TimeoutError) as exc:
        logger.warning(
            "forwarding %s %s to node %s failed: %s", request.method, url, node.name, exc
        )
        if response is not None and response.prepared:
            raise ConnectionResetError("the node stopped answering mid-way") from exc
        raise NodeUnreachable(f"node {node.name} does not answer") from exc
