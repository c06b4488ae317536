"""Issue 16, point 3: a participant behind a masquerading router (a home or
hotel NAT) meets others on the server.

::

    server 10.88.2.1 ─┐
    stun   10.88.2.2 ─┤ lan (br0) ── 10.88.2.254 nat 10.88.20.1 ── N 10.88.20.2
    A      10.88.2.11 ┘              (masquerade on its lan side)

The server has no route to 10.88.20.0/24: N's host candidate is unreachable
from it, so media can only flow through the mapping N's router makes. coturn
serves as the STUN server (``stun:`` URL; no TURN here), so N learns its
router's address and signals it as a server-reflexive candidate, as browsers
behind NAT do in production.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from coturn_server import CoturnServer
from namespaced_browser import OpenBrowser
from namespaced_server import PORT, NamespacedServer
from netns_hosts import Hosts

pytestmark = [pytest.mark.e2e, pytest.mark.media, pytest.mark.timeout(180)]

SERVER, STUN, A = "10.88.2.1", "10.88.2.2", "10.88.2.11"
ROUTER_OUTSIDE, ROUTER_INSIDE, N = "10.88.2.254", "10.88.20.1", "10.88.20.2"


@dataclass
class Network:
    hosts: Hosts
    stun_url: str
    server: NamespacedServer


def _build(hosts: Hosts) -> None:
    hosts.add("lan", "server", "stun", "a", "nat", "n")
    for role, device, address in (("server", "eth0", SERVER), ("stun", "eth0", STUN),
                                  ("a", "eth0", A), ("nat", "wan", ROUTER_OUTSIDE)):  # fmt: skip
        hosts.link("lan", f"p-{role}", role, device)
        hosts.address(role, device, f"{address}/24")
    hosts.bridge("lan", "br0", ["p-server", "p-stun", "p-a", "p-nat"])
    hosts.link("nat", "home", "n", "eth0")
    hosts.address("nat", "home", f"{ROUTER_INSIDE}/24")
    hosts.address("n", "eth0", f"{N}/24")
    hosts.default_route("n", ROUTER_INSIDE)
    hosts.router("nat")
    hosts.nft(
        "nat",
        """
table ip home_nat {
  chain post {
    type nat hook postrouting priority 100;
    oifname "wan" counter masquerade
  }
}
""",
    )


@pytest.fixture(scope="module")
def network(
    connectivity_tools: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Network]:
    workdir = tmp_path_factory.mktemp("nat-client")
    hosts = Hosts()
    stun: CoturnServer | None = None
    server: NamespacedServer | None = None
    try:
        _build(hosts)
        stun = CoturnServer(workdir, listen_ip=STUN, command_prefix=hosts.exec_argv("stun"))
        stun_url = f"stun:{STUN}:{stun.port}"
        server = NamespacedServer(
            hosts.exec_argv("server"), SERVER, workdir, flags=["--ice-server", stun_url]
        )
        server.wait_listening()
        yield Network(hosts, stun_url, server)
    finally:
        if server is not None:
            server.stop()
        if stun is not None:
            stun.stop()
        hosts.close()


def _media_pairs(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pairs if p["rtp"] > 0 and p["pair"] is not None]


async def test_client_behind_nat_meets_through_its_router_address(
    network: Network, open_browser: OpenBrowser
) -> None:
    """N and A exchange audio and video, and every connection of N's is carried
    by a candidate whose address is N's router's outside address: server-
    reflexive (learnt from STUN and signalled) or peer-reflexive (learnt from
    the server's check responses, whose XOR-MAPPED-ADDRESS is the source
    address the server saw). Either way it shows the server reached N through
    the NAT's mapping, not at N's own (unroutable) address."""
    url, room = f"http://{SERVER}:{PORT}", f"nat-{secrets.token_hex(3)}"
    a = await open_browser(network.hosts.ns("a"), "A", url, room)
    n = await open_browser(network.hosts.ns("n"), "N", url, room)
    await a.wait_joined()
    await n.wait_joined()
    took = await n.wait_media_from(a.participant_id, 90)
    await a.wait_media_from(n.participant_id, 60)
    pairs = await n.selected_pairs()
    media = _media_pairs(pairs)
    kinds = [entry["pair"]["local"]["type"] for entry in media]
    print(f"behind NAT: N's media from A {took:.1f} s after opening its page; N's pairs {kinds}")
    assert len(media) >= 2, f"N has not both connections up: {pairs}"
    for entry in media:
        local, remote = entry["pair"]["local"], entry["pair"]["remote"]
        assert entry["state"] == "connected", entry
        assert local["type"] in ("srflx", "prflx"), f"N's media is not NAT-mapped: {entry}"
        assert local["address"] == ROUTER_OUTSIDE, entry
        assert remote["address"] == SERVER, entry
