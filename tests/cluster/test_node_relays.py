"""Nodes with a media relay (``relay_host``) link up with each other through
the registry (issue 17, point 3: the ground a room across nodes stands on)."""

from __future__ import annotations

import asyncio
import time

from deployment import http, registry

from conf_server.cluster.cluster import NodeInfo
from conf_server.cluster.node_relay import NodeRelay, parse_relay_address


async def relay_peers(node) -> float:
    """``conf_relay_peers`` of a node's /metrics."""
    status, page = await http(node.url, "GET", "/metrics")
    assert status == 200
    for line in page.splitlines():
        if line.startswith("conf_relay_peers "):
            return float(line.split()[1])
    raise AssertionError("conf_relay_peers is not in /metrics")


async def wait_for(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"{check.__name__} never held"
        await asyncio.sleep(0.2)


async def test_nodes_announce_their_relays_and_link_up_and_let_go(start_nodes):
    a, b = await start_nodes("node-a", "node-b", CONF_RELAY_HOST="127.0.0.1")
    nodes = await registry(a)
    for name in ("node-a", "node-b"):
        assert parse_relay_address(nodes[name]["relay"]) is not None, nodes[name]
        assert nodes[name]["relay_epoch"]
    assert nodes["node-a"]["relay"] != nodes["node-b"]["relay"]  # a free port each

    async def linked() -> bool:
        return await relay_peers(a) == 1 and await relay_peers(b) == 1

    await wait_for(linked)

    # A node that dies is let go once its heartbeat expires.
    b.kill()

    async def alone() -> bool:
        return await relay_peers(a) == 0

    await wait_for(alone)


async def test_a_node_without_a_relay_has_no_relay_metrics(start_nodes):
    (a,) = await start_nodes("node-a")
    status, page = await http(a.url, "GET", "/metrics")
    assert status == 200 and "conf_relay_peers" not in page
    assert (await registry(a))["node-a"]["relay"] is None


async def test_peers_follow_the_registry():
    relay = NodeRelay("node-a", b"s" * 32)

    def node(name: str, relay_address: str | None, epoch: str = "e1") -> NodeInfo:
        return NodeInfo(name=name, url="http://x", relay=relay_address, relay_epoch=epoch)

    relay.sync([node("node-a", "10.0.0.1:4000"), node("node-b", "10.0.0.2:4000")])
    assert relay.peers() == ["node-b"]  # never itself
    first = relay.endpoint.peer("node-b")
    relay.sync([node("node-b", "10.0.0.2:4000")])
    assert relay.endpoint.peer("node-b") is first  # unchanged: the same keys
    relay.sync([node("node-b", "10.0.0.2:4000", epoch="e2")])
    assert relay.endpoint.peer("node-b") is not first  # restarted: new keys
    relay.sync([node("node-b", "not an address"), node("node-c", None), node("node-d", "[::1]:9")])
    assert relay.peers() == ["node-d"]
    assert relay.endpoint.peer("node-d").address == ("::1", 9)
    relay.sync([])
    assert relay.peers() == []
