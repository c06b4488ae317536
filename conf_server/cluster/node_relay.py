"""This node's media relay: its endpoint, and its peers kept in step with the
node registry.

A node with ``relay_host`` set opens one relay endpoint (:mod:`sfu.relay_link`)
at start-up and announces its address and epoch in every heartbeat
(:class:`~conf_server.cluster.cluster.NodeInfo`). Once per heartbeat round the
node agent hands the live nodes to :meth:`NodeRelay.sync`: a node that
announces a relay becomes a peer (keys derived from the deployment's relay
secret, both names and its epoch), one that restarted is re-keyed, one that
died or dropped its relay is removed. Which tracks cross is decided per room
(issue 17, point 3); this module only keeps the link ready.
"""

from __future__ import annotations

import logging

from sfu.relay_link import RelayEndpoint, RelayStats

from .cluster import NodeInfo

logger = logging.getLogger(__name__)


def parse_relay_address(text: str) -> tuple[str, int] | None:
    """``"host:port"`` (IPv6 in brackets) as a socket address, or None."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host.strip("[]"), int(port)


def format_relay_address(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class NodeRelay:
    """The node's relay endpoint and its peer list."""

    def __init__(self, name: str, secret: bytes) -> None:
        self.endpoint = RelayEndpoint(name, secret)
        #: "host:port" other nodes send to, once started.
        self.address: str | None = None

    @property
    def epoch(self) -> str:
        return self.endpoint.epoch

    @property
    def stats(self) -> RelayStats:
        return self.endpoint.stats

    async def start(self, host: str, port: int) -> None:
        bound = await self.endpoint.start(host, port)
        self.address = format_relay_address(bound)
        logger.info("media relay listening on %s (udp)", self.address)

    def close(self) -> None:
        self.endpoint.close()

    def peers(self) -> list[str]:
        """Names of the nodes this one has a relay link with."""
        return sorted(self.endpoint.peer_names())

    def sync(self, nodes: list[NodeInfo]) -> None:
        """Make the peers exactly the other live nodes that announce a relay."""
        wanted: dict[str, tuple[tuple[str, int], str]] = {}
        for node in nodes:
            if node.name == self.endpoint.name or not node.relay or not node.relay_epoch:
                continue
            address = parse_relay_address(node.relay)
            if address is None:
                logger.warning("node %s announces a bad relay address %r", node.name, node.relay)
                continue
            wanted[node.name] = (address, node.relay_epoch)
        for name in set(self.endpoint.peer_names()) - set(wanted):
            self.endpoint.remove_peer(name)
            logger.info("media relay: %s is gone", name)
        for name, (address, epoch) in wanted.items():
            known = self.endpoint.peer(name)
            if known is None or known.epoch != epoch or known.address != address:
                self.endpoint.add_peer(name, address, epoch)
                logger.info("media relay: linked with %s at %s", name, address)
