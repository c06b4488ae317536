"""``GET /api/v1/admin/nodes``: the deployment as this node sees it: live
nodes with their load, and which node hosts which room (admin scope)."""

from __future__ import annotations

from aiohttp import web

from .api_auth import caller
from .keys import MEETINGS


async def list_nodes(request: web.Request) -> web.Response:
    caller(request, "admin")
    service = request.config_dict[MEETINGS]
    nodes = await service.cluster.nodes()
    return web.json_response(
        {
            "this_node": service.node.name,
            "nodes": [node.to_dict() for node in nodes],
            "rooms": await service.cluster.placements(),
        }
    )


def add_routes(api: web.Application) -> None:
    api.router.add_get("/admin/nodes", list_nodes)
