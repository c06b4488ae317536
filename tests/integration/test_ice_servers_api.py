"""``GET /api/v1/ice-servers``, the pre-join connectivity check's route, against a
real coturn: STUN URLs plain, TURN URLs with short-lived credentials coturn
accepts over UDP, TCP and TLS; the secret never in the answer; a per-address
budget that answers ``429 rate_limited``; only what is configured."""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioice import turn
from coturn_server import TEST_TURN_SECRET, CoturnServer, SelfSignedCertificate
from openapi_schemas import OpenApiSchemas
from running_server import running

from conf_server.http.ice_servers_api import BURST


class Sink(asyncio.DatagramProtocol):
    pass


@pytest.fixture
def coturn(tmp_path: Path) -> Any:
    server = CoturnServer(tmp_path, certificate=SelfSignedCertificate(tmp_path, ["127.0.0.1"]))
    try:
        yield server
    finally:
        server.stop()


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    """GET ``{url}/api/v1/ice-servers``: status, JSON body, headers."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/v1/ice-servers", headers=headers or {}) as response,
    ):
        return response.status, await response.json(), response.headers


async def allocate(server: CoturnServer, url: str, username: str, password: str) -> str:
    """Allocate a relay through ``url`` (one of ``server.urls()``); its address."""
    tls = url.startswith("turns:")
    context = None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the test certificate is self-signed
    endpoint, _ = await asyncio.wait_for(
        turn.create_turn_endpoint(
            Sink,
            (server.listen_ip, server.tls_port if tls else server.port),
            username,
            password,
            ssl=context,
            transport="udp" if url.endswith("transport=udp") else "tcp",
        ),
        timeout=15,
    )
    try:
        host, port = endpoint.get_extra_info("sockname")[:2]
        return f"{host}:{port}"
    finally:
        endpoint.close()


async def test_turn_urls_come_with_credentials_that_coturn_accepts(settings, coturn):
    stun = f"stun:{coturn.listen_ip}:{coturn.port}"
    urls = (stun, *coturn.urls())
    async with running(settings, ice_servers=urls, turn_secret=TEST_TURN_SECRET) as server:
        before = time.time()
        status, body, headers = await get(server.url)
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    plain, relays = body["ice_servers"]
    assert plain == {"urls": stun}
    assert relays["urls"] == coturn.urls()
    expiry, user = relays["username"].split(":")
    assert user.startswith("check-") and int(expiry) == body["expires_at"]
    # Five minutes at most (the join's own credentials live a day by default).
    assert before + 240 <= body["expires_at"] <= time.time() + 301
    assert TEST_TURN_SECRET not in repr(body)
    for url in coturn.urls():
        relayed = await allocate(coturn, url, relays["username"], relays["credential"])
        assert relayed.startswith("127.0.0.1:"), url


async def test_each_check_is_a_user_of_its_own(settings, coturn):
    async with running(settings, ice_servers=tuple(coturn.urls()), turn_secret="x" * 20) as s:
        first = (await get(s.url))[1]["ice_servers"][0]["username"]
        second = (await get(s.url))[1]["ice_servers"][0]["username"]
    assert first.split(":")[1] != second.split(":")[1]


async def test_a_shorter_credential_lifetime_is_kept(settings):
    urls = ("turn:turn.example:3478?transport=udp",)
    async with running(
        settings, ice_servers=urls, turn_secret="y" * 20, turn_credential_seconds=120.0
    ) as server:
        status, body, _ = await get(server.url)
    assert status == 200
    assert body["expires_at"] <= time.time() + 121


async def test_only_what_is_configured_is_given(settings):
    async with running(settings, ice_servers=()) as server:
        status, body, _ = await get(server.url)
    assert status == 200 and body["ice_servers"] == []
    stun = ("stun:stun.example:3478",)
    async with running(settings, ice_servers=stun) as server:
        assert (await get(server.url))[1]["ice_servers"] == [{"urls": stun[0]}]
    # A TURN server without the shared-secret scheme: its fixed credentials,
    # exactly what every join gets too.
    fixed = ("turn:turn.example:3478?transport=tcp",)
    async with running(
        settings, ice_servers=fixed, turn_username="office", turn_password="pw-123"
    ) as server:
        servers = (await get(server.url))[1]["ice_servers"]
    assert servers == [{"urls": list(fixed), "username": "office", "credential": "pw-123"}]


async def until_refused(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    """Ask until refused; how many were answered, the refusal and its headers.
    The budget refills one check per 15 s, so a slow machine gains at most one."""
    for answered in range(BURST + 10):
        status, body, response_headers = await get(url, headers)
        if status != 200:
            assert status == 429, body
            return answered, body, response_headers
    raise AssertionError("never rate limited")


async def test_a_burst_of_checks_from_one_address_is_refused(settings):
    async with running(settings, ice_servers=()) as server:
        answered, body, headers = await until_refused(server.url)
        assert BURST <= answered <= BURST + 2
        assert body["error"]["code"] == "rate_limited" and body["error"]["message"]
        assert 0 < body["error"]["retry_after"] <= 15
        assert int(headers["Retry-After"]) >= 1
        # A forged X-Forwarded-For from an untrusted peer is no way around it.
        status, _, _ = await get(server.url, {"X-Forwarded-For": "203.0.113.9"})
        assert status == 429


async def test_behind_a_trusted_proxy_each_client_has_its_own_budget(settings):
    trusted = replace(settings, trusted_proxies=("127.0.0.1",))
    async with running(trusted, ice_servers=()) as server:
        await until_refused(server.url, {"X-Forwarded-For": "198.51.100.1"})
        status, _, _ = await get(server.url, {"X-Forwarded-For": "198.51.100.2"})
        assert status == 200


async def test_answers_match_the_openapi_document(settings):
    urls = ("stun:stun.example:3478", "turns:turn.example:443?transport=tcp")
    async with running(settings, ice_servers=urls, turn_secret="z" * 20) as server:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.url}/api/v1/openapi.json") as response,
        ):
            document = await response.json()
        answers = {200: (await get(server.url))[1]}
        answers[429] = (await until_refused(server.url))[1]
    schemas = OpenApiSchemas(document)
    for status, body in answers.items():
        schemas.check(body, schemas.response_schema("/api/v1/ice-servers", "get", status))
