"""Issue 16, point 2: a participant whose network blocks UDP takes part in a
meeting through coturn's TCP or TLS relay.

One office LAN (a bridge namespace), 10.88.1.0/24::

    server .1 ─┐
    coturn .2 ─┤
    A .11 ─────┤ lan (br0)
    B .12 ─────┤
    C .13 ─────┘  C's own nft: no UDP at all; TCP only to coturn and to the
                  server's HTTP port (signaling is HTTP/WebSocket)

coturn has a namespace of its own rather than sharing the server's: then "TCP to
coturn only" is a rule about a different host than the server, and the relay's
UDP leg to the server crosses a real link, as in a deployment where the TURN
server sits next to (not inside) the media server.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from coturn_server import TEST_TURN_SECRET, CoturnServer, SelfSignedCertificate
from namespaced_browser import OpenBrowser
from namespaced_server import PORT, NamespacedServer
from netns_hosts import Hosts

pytestmark = [pytest.mark.e2e, pytest.mark.media, pytest.mark.timeout(240)]

SUBNET = "10.88.1"
ADDRESSES = {"server": f"{SUBNET}.1", "turn": f"{SUBNET}.2", "a": f"{SUBNET}.11",
             "b": f"{SUBNET}.12", "c": f"{SUBNET}.13"}  # fmt: skip


@dataclass
class Office:
    hosts: Hosts
    coturn: CoturnServer
    certificate: SelfSignedCertificate


def _block_udp(hosts: Hosts, coturn: CoturnServer) -> None:
    """C's firewall, inside C's namespace only. UDP is dropped both ways and
    counted (the test shows Chromium did try it); new TCP goes only to coturn's
    ports and the server's HTTP port; inbound only what C's TCP started."""
    turn, server = ADDRESSES["turn"], ADDRESSES["server"]
    hosts.nft(
        "c",
        f"""
table inet udp_blocked {{
  chain out {{
    type filter hook output priority 0; policy drop;
    oifname "lo" accept
    meta l4proto udp counter drop comment "udp-out"
    ip daddr {turn} tcp dport {{ {coturn.port}, {coturn.tls_port} }} accept
    ip daddr {server} tcp dport {PORT} accept
  }}
  chain in {{
    type filter hook input priority 0; policy drop;
    iifname "lo" accept
    meta l4proto udp counter drop comment "udp-in"
    ct state established,related accept
  }}
}}
""",
    )


@pytest.fixture(scope="module")
def office(connectivity_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    workdir = tmp_path_factory.mktemp("office")
    hosts = Hosts()
    coturn: CoturnServer | None = None
    try:
        hosts.add("lan", *(role for role in ADDRESSES))
        ports = []
        for role, address in ADDRESSES.items():
            hosts.link("lan", f"p-{role}", role, "eth0")
            hosts.address(role, "eth0", f"{address}/24")
            ports.append(f"p-{role}")
        hosts.bridge("lan", "br0", ports)
        certificate = SelfSignedCertificate(workdir, [ADDRESSES["turn"]])
        coturn = CoturnServer(workdir, listen_ip=ADDRESSES["turn"], certificate=certificate,
                              command_prefix=hosts.exec_argv("turn"))  # fmt: skip
        _block_udp(hosts, coturn)
        yield Office(hosts, coturn, certificate)
    finally:
        if coturn is not None:
            coturn.stop()
        hosts.close()


def _udp_drops(hosts: Hosts) -> int:
    """Packets C's firewall dropped for being UDP, both directions."""
    total = 0
    for line in hosts.nft_list("c").splitlines():
        if "udp-" in line and "packets" in line:
            words = line.split()
            total += int(words[words.index("packets") + 1])
    return total


def _media_pairs(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The meeting's connections (a page may hold others, e.g. a self-test's)."""
    return [p for p in pairs if p["rtp"] > 0 and p["pair"] is not None]


@dataclass
class Meeting:
    """What a meeting of A, B and C showed: C's connections (selected_pairs)
    and figures to report (seconds from opening a page)."""

    c_pairs: list[dict[str, Any]]
    c_joined_s: float
    c_media_s: float
    b_media_s: float

    def figures(self) -> str:
        return (f"C joined {self.c_joined_s:.1f} s and had media from both others "
                f"{self.c_media_s:.1f} s after opening its page (B, on a direct path: media "
                f"{self.b_media_s:.1f} s)")  # fmt: skip


async def _meeting_through_relay(
    office: Office, open_browser: OpenBrowser, workdir: Path, urls: list[str],
    c_args: list[str],
) -> Meeting:  # fmt: skip
    """A, B and C meet on a server that hands out ``urls``; C joins last."""
    server = NamespacedServer(
        office.hosts.exec_argv("server"), ADDRESSES["server"], workdir,
        flags=[arg for url in urls for arg in ("--ice-server", url)],
        env={"CONF_TURN_SECRET": TEST_TURN_SECRET},
    )  # fmt: skip
    try:
        server.wait_listening()
        url, room = f"http://{ADDRESSES['server']}:{PORT}", f"udp-{secrets.token_hex(3)}"
        a = await open_browser(office.hosts.ns("a"), "A", url, room)
        b = await open_browser(office.hosts.ns("b"), "B", url, room)
        await a.wait_joined()
        await b.wait_joined()
        b_media = await b.wait_media_from(a.participant_id, 60)
        c = await open_browser(office.hosts.ns("c"), "C", url, room, c_args)
        await c.wait_joined()
        c_media = max([await c.wait_media_from(a.participant_id, 90),
                       await c.wait_media_from(b.participant_id, 90)])  # fmt: skip
        # The others decode what C sends (C's outbound leg is the relay too).
        await a.wait_media_from(c.participant_id, 60)
        await b.wait_media_from(c.participant_id, 60)
        return Meeting(await c.selected_pairs(), c.joined_after, c_media, b_media)
    finally:
        server.stop()


def _assert_relayed(pairs: list[dict[str, Any]], relay_protocol: str) -> None:
    media = _media_pairs(pairs)
    # Two connections per participant: publishing and subscribing.
    assert len(media) >= 2, f"C has not both connections up: {pairs}"
    for entry in media:
        assert entry["state"] == "connected", entry
        local, remote = entry["pair"]["local"], entry["pair"]["remote"]
        assert local["type"] == "relay", f"C's media does not go through the relay: {entry}"
        assert local["relayProtocol"] == relay_protocol, entry
        assert local["address"] == ADDRESSES["turn"], entry
        assert remote["address"] == ADDRESSES["server"], entry


async def test_udp_blocked_client_meets_through_turn_over_tcp(
    office: Office, open_browser: OpenBrowser, tmp_path: Path
) -> None:
    """The server offers coturn over UDP and TCP; C (no UDP) sends and receives
    audio and video through a relay it allocated over TCP, and A and B decode C."""
    drops_before = _udp_drops(office.hosts)
    meeting = await _meeting_through_relay(
        office, open_browser, tmp_path, office.coturn.urls(("udp", "tcp")), []
    )
    print(f"TURN/TCP: {meeting.figures()}")
    _assert_relayed(meeting.c_pairs, "tcp")
    assert _udp_drops(office.hosts) > drops_before, "C's browser never tried UDP"


async def test_udp_blocked_client_meets_through_turn_over_tls(
    office: Office, open_browser: OpenBrowser, tmp_path: Path
) -> None:
    """Only a ``turns:`` URL (TLS, a self-signed certificate that C's Chromium
    trusts by its key and nothing else): C's relay is allocated over TLS."""
    turns = [url for url in office.coturn.urls(()) if url.startswith("turns:")]
    trust = f"--ignore-certificate-errors-spki-list={office.certificate.spki_sha256}"
    meeting = await _meeting_through_relay(office, open_browser, tmp_path, turns, [trust])
    print(f"TURN/TLS: {meeting.figures()}")
    _assert_relayed(meeting.c_pairs, "tls")
