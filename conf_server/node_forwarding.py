"""REST requests about a room that lives on another node are answered by that
node: this one forwards them (method, path, query, key and body) and relays
the answer, so API clients may talk to any node of a deployment.

Only requests whose answer depends on the room's live objects (its roster,
its recorder) are forwarded; everything in the shared store is answered
wherever the request lands.
"""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from .errors import ConfServerError
from .keys import MEETINGS

logger = logging.getLogger(__name__)

#: Marks a forwarded request, so it is never forwarded again.
FORWARDED_HEADER = "X-Conf-Forwarded-By"
_PASSED_HEADERS = ("Authorization", "Content-Type", "Accept")


class NodeUnreachable(ConfServerError):
    code = "node_unreachable"
    status = 503


async def forward_to_room_node(request: web.Request, room: str) -> web.Response | None:
    """The answer of the node hosting ``room``, or None if this node should
    answer (it hosts the room, nobody does, or the request was forwarded)."""
    service = request.config_dict[MEETINGS]
    if FORWARDED_HEADER in request.headers:
        return None
    owner = await service.cluster.owner(room)
    if owner is None or owner == service.node.name:
        return None
    nodes = {node.name: node for node in await service.cluster.nodes()}
    if owner not in nodes:
        return None  # its node died: answer from the shared state until taken over
    headers = {name: request.headers[name] for name in _PASSED_HEADERS if name in request.headers}
    headers[FORWARDED_HEADER] = service.node.name
    url = nodes[owner].url + request.rel_url.path_qs
    body = await request.read()
    try:
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(request.method, url, data=body, headers=headers) as answer,
        ):
            payload = await answer.read()
            return web.Response(
                body=payload, status=answer.status, content_type=answer.content_type
            )
    except (aiohttp.ClientError, TimeoutError) as exc:
        logger.warning("forwarding %s %s to node %s failed: %s", request.method, url, owner, exc)
        if request.method == "GET":
            return None  # answer from the shared state (the node may just have died)
        raise NodeUnreachable(f"node {owner} that hosts the room does not answer") from exc
