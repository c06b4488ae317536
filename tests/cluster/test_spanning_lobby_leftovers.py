"""A node that hosted a room that spans nodes only for a guest in its lobby
stops hosting the room once that guest is gone (issue 17, point 3): at
once when the guest leaves, within a few heartbeats when a host turns the
guest away. Real ``conf-server`` nodes with media relays, a real
``redis-server`` (the room's satellites read from it), Socket.IO clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from deployment import NodeClient, NodeProcess, until
from redis.asyncio import Redis
from redis_server import RedisServer
from spanning_support import SPANNING, join_in_turn

from conf_server.cluster.node import STRAY_SPAN_SECONDS

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]

ROOM = "guests"


@pytest.fixture
async def satellites(redis: RedisServer, prefix: str) -> AsyncIterator[Callable[[], Any]]:
    """The room's satellites as the deployment lists them (``span:<room>``)."""
    direct = Redis.from_url(redis.url, decode_responses=True)

    async def listed() -> set[str]:
        return set(await direct.smembers(f"{prefix}span:{ROOM}"))

    yield listed
    await direct.aclose()


async def test_a_satellite_whose_lobby_guest_is_gone_stops_hosting_the_room(
    start_nodes: StartNodes, clients: list[Any], satellites: Callable[[], Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    ada, bob = NodeClient(a.url, "Ada"), NodeClient(a.url, "Bob")
    clients.extend([ada, bob])
    await join_in_turn([ada, bob], ROOM, [a.url, b.url])
    await ada.call("configure_meeting", {"lobby_enabled": True})

    async def guest(name: str) -> tuple[NodeClient, str]:
        """``name`` waits in the lobby, on node-b (node-a is full)."""
        client = NodeClient(a.url, name)
        clients.append(client)
        ack = await client.join(ROOM)
        assert ack["waiting"] is True and client.url == b.url, (ack, client.url)
        client.auto_rejoin = False
        return client, ack["lobby_id"]

    async def not_hosting() -> bool:
        return await satellites() == set()

    # Cy waits on node-b, which becomes a satellite for him and stays one
    # while he waits (heartbeat rounds pass).
    cy, _ = await guest("Cy")
    assert await satellites() == {"node-b"}
    await asyncio.sleep(1.5)
    assert await satellites() == {"node-b"}
    # He gives up: node-b has nobody of the room and stops hosting it.
    await cy.call("leave")
    await until(not_hosting, timeout=5)

    # Dee waits on node-b and Ada turns her away: node-b's sweep lets the
    # room go once it has had nobody of it for a while.
    dee, dee_entry = await guest("Dee")
    assert await satellites() == {"node-b"}
    await ada.call("deny", {"lobby_id": dee_entry})
    assert (await dee.wait_event("lobby_denied"))["code"] == "denied"
    await until(not_hosting, timeout=STRAY_SPAN_SECONDS + 10)

    # The room goes on on node-a; a newcomer placed on node-b again is a
    # satellite's participant as before.
    eve = NodeClient(a.url, "Eve")
    clients.append(eve)
    await ada.call("configure_meeting", {"lobby_enabled": False})
    await eve.join(ROOM)
    assert eve.url == b.url
    assert await satellites() == {"node-b"}
    await eve.wait_for(lambda: {p["name"] for p in eve.participants.values()} >= {"Ada", "Bob"})
