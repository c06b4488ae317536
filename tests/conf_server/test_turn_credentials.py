"""TURN REST credentials (conf_server/integration/turn_credentials.py) against a real
coturn: what the join acknowledgement hands out lets a TURN client allocate a
relay; a wrong or expired credential does not."""

from __future__ import annotations

import asyncio
import time

import pytest
from aioice import stun, turn
from coturn_server import TEST_TURN_SECRET, CoturnServer, SelfSignedCertificate

from conf_server.integration.turn_credentials import (
    client_ice_servers,
    server_ice_servers,
    turn_rest_credentials,
)


class Sink(asyncio.DatagramProtocol):
    pass


@pytest.fixture
def coturn(tmp_path):
    server = CoturnServer(tmp_path, certificate=SelfSignedCertificate(tmp_path, ["127.0.0.1"]))
    yield server
    server.stop()


async def allocate(server: CoturnServer, username: str, password: str, transport: str) -> str:
    """Allocate a relay; returns its address or raises what aioice raises."""
    ssl = None
    port = server.port
    if transport == "tls":
        import ssl as ssl_module

        ssl = ssl_module.create_default_context()
        ssl.check_hostname = False
        ssl.verify_mode = ssl_module.CERT_NONE
        port = server.tls_port
    endpoint, _ = await asyncio.wait_for(
        turn.create_turn_endpoint(
            Sink,
            (server.listen_ip, port),
            username,
            password,
            ssl=ssl,
            transport="udp" if transport == "udp" else "tcp",
        ),
        timeout=15,
    )
    try:
        relayed = endpoint.get_extra_info("sockname")
        return f"{relayed[0]}:{relayed[1]}"
    finally:
        endpoint.close()


def join_credentials(server: CoturnServer, lifetime: float = 3600) -> dict:
    servers = client_ice_servers(
        tuple(server.urls()),
        user="p-123",
        now=time.time(),
        turn_secret=server.secret,
        lifetime_seconds=lifetime,
    )
    (entry,) = [s for s in servers if isinstance(s["urls"], list)]
    return entry


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_join_credentials_allocate_a_relay_on_coturn(coturn, transport):
    entry = join_credentials(coturn)
    assert entry["username"].endswith(":p-123")
    relayed = await allocate(coturn, entry["username"], entry["credential"], transport)
    assert relayed.startswith("127.0.0.1:")


async def test_a_wrong_secret_or_an_expired_credential_is_refused(coturn):
    username, password = turn_rest_credentials("another-secret-0123456789", "p-1", 2**31)
    with pytest.raises(stun.TransactionFailed):
        await allocate(coturn, username, password, "udp")
    expired, password = turn_rest_credentials(TEST_TURN_SECRET, "p-1", int(time.time()) - 60)
    with pytest.raises(stun.TransactionFailed):
        await allocate(coturn, expired, password, "udp")


def test_credentials_follow_the_turn_rest_convention():
    username, password = turn_rest_credentials("secret", "alice", 1700000000)
    # base64(HMAC-SHA1("secret", "1700000000:alice")), computed independently:
    #   printf '1700000000:alice' | openssl dgst -sha1 -hmac secret -binary | base64
    assert username == "1700000000:alice"
    assert password == "d8soP47RbdIKLDUOpnJPVQyq5Ts="


def test_each_join_gets_new_credentials_and_stun_stays_plain():
    urls = (
        "stun:stun.example:3478",
        "turn:turn.example:3478?transport=udp",
        "turns:turn.example:443?transport=tcp",
    )
    first = client_ice_servers(
        urls, user="p-1", now=1000.0, turn_secret="s" * 20, lifetime_seconds=600
    )
    later = client_ice_servers(
        urls, user="p-1", now=2000.0, turn_secret="s" * 20, lifetime_seconds=600
    )
    assert first[0] == {"urls": "stun:stun.example:3478"}
    assert first[1]["urls"] == list(urls[1:])
    assert first[1]["username"] == "1600:p-1" and later[1]["username"] == "2600:p-1"
    assert first[1]["credential"] != later[1]["credential"]
    assert "s" * 20 not in repr(first)  # the secret itself never goes out
    static = client_ice_servers(
        urls,
        user="p-1",
        now=0,
        turn_secret=None,
        lifetime_seconds=600,
        turn_username="u",
        turn_password="p",
    )
    assert static[1] == {"urls": list(urls[1:]), "username": "u", "credential": "p"}
    assert server_ice_servers(urls) == ("stun:stun.example:3478",)


def test_usernames_carry_an_id_only():
    for bad in ("", "a:b", "x" * 65):
        with pytest.raises(ValueError):
            turn_rest_credentials("secret", bad, 1)
