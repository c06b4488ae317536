"""The coturn configuration of docs/operations.md ("TURN with coturn") works as
documented: coturn starts with it, the meeting server's TURN credentials
allocate relays over UDP, TCP and TLS, and the relay refuses every peer but
the meeting server's media address (no scanning of internal networks, no open
proxy). Only the addresses, ports, secret and certificate are the test's.

No packet is relayed: a ChannelBind only asks coturn for a permission, which
it grants or refuses (403) by its peer rules, so 203.0.113.7 (TEST-NET-3, the
guide's meeting server) is never sent to.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from pathlib import Path

import pytest
from aioice import stun, turn
from coturn_server import TEST_TURN_SECRET, CoturnServer, SelfSignedCertificate

from conf_server.integration.turn_credentials import client_ice_servers

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
MEETING_SERVER = "203.0.113.7"  # allowed-peer-ip in the guide


def documented_config() -> list[str]:
    """The guide's turnserver.conf lines, without comments."""
    text = GUIDE.read_text()
    section = text[text.index("### TURN with coturn") :]
    block = re.search(r"```ini\n(.*?)```", section, re.S)
    assert block is not None, "the guide lost its coturn configuration"
    return [
        line.strip()
        for line in block.group(1).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def for_this_test(lines: list[str], certificate: SelfSignedCertificate) -> list[str]:
    """Swap the guide's addresses, ports, secret and certificate for the test's."""
    swapped = {
        "listening-ip": "127.0.0.1",
        "relay-ip": "127.0.0.1",
        "static-auth-secret": TEST_TURN_SECRET,
        "cert": str(certificate.cert_path),
        "pkey": str(certificate.key_path),
    }
    out = []
    for line in lines:
        key = line.split("=", 1)[0]
        if key in ("listening-port", "tls-listening-port"):
            continue  # the test's free ports (CoturnServer adds them)
        out.append(f"{key}={swapped[key]}" if key in swapped else line)
    return out


@pytest.fixture
def documented_coturn(tmp_path):
    certificate = SelfSignedCertificate(tmp_path, ["127.0.0.1"])
    config = for_this_test(documented_config(), certificate)
    server = CoturnServer(tmp_path, certificate=certificate, config=config)
    yield server
    server.stop()


def test_the_guide_has_the_settings_it_promises():
    keys = {line.split("=", 1)[0] for line in documented_config()}
    assert {
        "use-auth-secret",
        "static-auth-secret",
        "realm",
        "tls-listening-port",
        "denied-peer-ip",
        "allowed-peer-ip",
        "no-multicast-peers",
    } <= keys


async def turn_client(server: CoturnServer, transport: str) -> turn.TurnClientMixin:
    """A TURN client with the credentials a join hands out, allocated."""
    (entry,) = [
        s
        for s in client_ice_servers(
            tuple(server.urls()),
            user="p-guide",
            now=time.time(),
            turn_secret=TEST_TURN_SECRET,
            lifetime_seconds=600,
        )
        if isinstance(s["urls"], list)
    ]
    loop = asyncio.get_running_loop()
    args = {
        "username": entry["username"],
        "password": entry["credential"],
        "lifetime": 600,
        "channel_refresh_time": 500,
    }
    protocol: turn.TurnClientMixin
    if transport == "udp":
        address = (server.listen_ip, server.port)
        _, protocol = await loop.create_datagram_endpoint(
            lambda: turn.TurnClientUdpProtocol(address, **args), remote_addr=address
        )
    else:
        context = None
        port = server.port
        if transport == "tls":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            assert server.tls_port is not None
            port = server.tls_port
        address = (server.listen_ip, port)
        _, protocol = await loop.create_connection(
            lambda: turn.TurnClientTcpProtocol(address, **args),
            host=address[0],
            port=address[1],
            ssl=context,
        )
    await asyncio.wait_for(protocol.connect(), timeout=15)
    return protocol


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_the_documented_coturn_relays_to_the_meeting_server_only(
    documented_coturn, transport
):
    client = await turn_client(documented_coturn, transport)
    try:
        assert client.relayed_address is not None
        await asyncio.wait_for(client.channel_bind(0x4000, (MEETING_SERVER, 40000)), 15)
        for peer in ("10.0.0.5", "192.168.1.1", "8.8.8.8", "127.0.0.1"):
            with pytest.raises(stun.TransactionFailed) as refused:
                await asyncio.wait_for(client.channel_bind(0x4001, (peer, 40000)), 15)
            assert refused.value.response.attributes["ERROR-CODE"][0] == 403, peer
    finally:
        await client.delete()
