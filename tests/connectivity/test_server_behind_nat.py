"""Issue 16, point 4: a server behind 1:1 NAT (a cloud's public address, a
container's published address) is reachable for media when it announces the
public address in its candidates (``--announced-address``).

::

    server 10.88.30.2 ── 10.88.30.1 cloud 10.88.9.1 ── 10.88.9.20 home 10.88.40.1 ─┬─ X .11
                          (DNAT 10.88.9.1 -> server,    (masquerade)               └─ Y .12
                           SNAT server -> 10.88.9.1)

The participants sit behind a home router of their own, as most do: nothing
outside can reach their own addresses, and nothing on their side routes to the
server's private network. So media can flow only if the server tells them the
public address; the server's own checks towards them cannot open a path (which
they could with participants on public addresses, hiding the problem).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from namespaced_browser import OpenBrowser
from namespaced_server import PORT, NamespacedServer
from netns_hosts import Hosts

pytestmark = [pytest.mark.e2e, pytest.mark.media, pytest.mark.timeout(180)]

PRIVATE, CLOUD_INSIDE, PUBLIC = "10.88.30.2", "10.88.30.1", "10.88.9.1"
HOME_OUTSIDE, HOME_INSIDE = "10.88.9.20", "10.88.40.1"
CLIENTS = {"x": "10.88.40.11", "y": "10.88.40.12"}
URL = f"http://{PUBLIC}:{PORT}"
# How long the test waits to see that media does not connect without the flag
# (Chromium gives up on a pair after about as long; not a measured bound).
UNREACHABLE_WAIT_S = 15


def _build(hosts: Hosts) -> None:
    hosts.add("server", "cloud", "home", *CLIENTS)
    hosts.link("cloud", "inside", "server", "eth0")
    hosts.address("cloud", "inside", f"{CLOUD_INSIDE}/24")
    hosts.address("server", "eth0", f"{PRIVATE}/24")
    hosts.default_route("server", CLOUD_INSIDE)
    hosts.link("cloud", "wan", "home", "wan")
    hosts.address("cloud", "wan", f"{PUBLIC}/24")
    hosts.address("home", "wan", f"{HOME_OUTSIDE}/24")
    for role, address in CLIENTS.items():
        hosts.link("home", f"p-{role}", role, "eth0")
        hosts.address(role, "eth0", f"{address}/24")
        hosts.default_route(role, HOME_INSIDE)
    hosts.bridge("home", "br0", [f"p-{role}" for role in CLIENTS])
    hosts.address("home", "br0", f"{HOME_INSIDE}/24")
    for router in ("cloud", "home"):
        hosts.router(router)
    hosts.nft(
        "cloud",
        f"""
table ip one_to_one {{
  chain pre {{
    type nat hook prerouting priority -100;
    ip daddr {PUBLIC} dnat to {PRIVATE}
  }}
  chain post {{
    type nat hook postrouting priority 100;
    ip saddr {PRIVATE} oifname "wan" snat to {PUBLIC}
  }}
}}
""",
    )
    hosts.nft(
        "home",
        """
table ip home_nat {
  chain post {
    type nat hook postrouting priority 100;
    oifname "wan" masquerade
  }
}
""",
    )


@pytest.fixture(scope="module")
def hosts(connectivity_tools: None) -> Iterator[Hosts]:
    built = Hosts()
    try:
        _build(built)
        yield built
    finally:
        built.close()


def _server(hosts: Hosts, workdir: Path, flags: list[str]) -> NamespacedServer:
    server = NamespacedServer(hosts.exec_argv("server"), PRIVATE, workdir, flags=flags)
    try:
        server.wait_listening()
    except BaseException:
        server.stop()
        raise
    return server


def _server_hosts(pairs: list[dict[str, Any]]) -> set[str]:
    """The addresses of the host candidates the server offered this page."""
    return {c["address"] for p in pairs for c in p["remotes"] if c["type"] == "host"}


async def test_announced_address_lets_clients_behind_nat_reach_the_server(
    hosts: Hosts, open_browser: OpenBrowser, tmp_path: Path
) -> None:
    """With ``--announced-address 10.88.9.1`` X and Y exchange audio and video;
    the server's host candidates carry the public address only, and X's
    connections run to it."""
    server = _server(hosts, tmp_path, ["--announced-address", PUBLIC])
    try:
        room = f"dnat-{secrets.token_hex(3)}"
        x = await open_browser(hosts.ns("x"), "X", URL, room)
        y = await open_browser(hosts.ns("y"), "Y", URL, room)
        await x.wait_joined()
        await y.wait_joined()
        took = await x.wait_media_from(y.participant_id, 90)
        await y.wait_media_from(x.participant_id, 60)
        print(f"server behind 1:1 NAT: X's media from Y {took:.1f} s after opening its page")
        pairs = await x.selected_pairs()
    finally:
        server.stop()
    media = [p for p in pairs if p["rtp"] > 0 and p["pair"] is not None]
    assert len(media) >= 2, f"X has not both connections up: {pairs}"
    for entry in media:
        assert entry["state"] == "connected", entry
        remote = entry["pair"]["remote"]
        assert (remote["type"], remote["address"]) == ("host", PUBLIC), entry
    assert _server_hosts(pairs) == {PUBLIC}, f"the private address leaked: {pairs}"


async def test_without_announced_address_media_does_not_connect(
    hosts: Hosts, open_browser: OpenBrowser, tmp_path: Path
) -> None:
    """The same topology without the flag: signaling works (HTTP through the
    DNAT), but the server offers its private address, which X cannot reach, and
    X's peer connection never gets a connected pair (what the flag fixes)."""
    server = _server(hosts, tmp_path, [])
    try:
        x = await open_browser(hosts.ns("x"), "X", URL, f"dnat-{secrets.token_hex(3)}")
        await x.wait_joined()
        deadline = time.monotonic() + UNREACHABLE_WAIT_S
        offered: set[str] = set()
        while time.monotonic() < deadline:
            pairs = await x.selected_pairs()
            offered |= _server_hosts(pairs)
            connected = [p for p in pairs if p["state"] == "connected" or p["pair"] is not None]
            assert not connected, f"media connected without the announced address: {connected}"
            await asyncio.sleep(0.5)
    finally:
        server.stop()
    assert offered == {PRIVATE}, f"the server offered {offered}"
