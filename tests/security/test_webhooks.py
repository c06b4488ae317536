"""Webhook URLs cannot point the server at itself or its network (SSRF): loopback,
link-local (cloud metadata), private and other non-public addresses are refused
at registration and, after DNS resolution, at every delivery attempt, unless
the deployment allows their networks (``webhook_allowed_networks``). The
delivery log never shows what a receiver answered.

No test sends a packet to a non-loopback address: refusals happen before any
connection, and names are resolved by a stub resolver or /etc/hosts."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from server_keys import ADMIN_KEY
from webhook_receiver import Receiver

from conf_server import Settings, create_app
from conf_server.errors import ConfigError
from conf_server.integration.database import Database
from conf_server.integration.webhook_addresses import AddressPolicy, AddressRefused, CheckedResolver
from conf_server.integration.webhooks import WebhookDispatcher
from conf_server.settings import load_settings

FAST = {"backoff_base": 0.1, "backoff_cap": 0.4, "timeout": 2.0}
LOOPBACK = ("127.0.0.0/8",)

REFUSED_URLS = [
    "http://127.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://[::1]/",
    "http://localhost/",
    "http://LocalHost.:8080/x",
    "http://app.localhost/x",
    "http://127.1/",  # legacy numeric forms the C library accepts
    "http://2130706433/",
    "http://[::ffff:127.0.0.1]/",
    "http://192.168.1.20/hook",
    "http://172.16.0.5/hook",
    "http://100.100.100.200/",  # shared address space (a cloud's metadata)
    "http://[fd00:ec2::254]/",
    "http://0.0.0.0:8080/",
    "https://[fe80::1]/",
]


async def api(url: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.request(method, f"{url}/api/v1{path}", **kwargs) as response,
    ):
        return response.status, await response.json()


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_registering_a_loopback_metadata_or_private_url_is_refused(server, url):
    status, body = await api(server.url, "POST", "/admin/webhooks", json={"url": url})
    assert status == 400, body
    assert body["error"]["code"] == "webhook_address_not_allowed"
    assert "webhook_allowed_networks" in body["error"]["message"]
    assert (await api(server.url, "GET", "/admin/webhooks"))[1]["webhooks"] == []


async def test_public_addresses_and_names_are_accepted_at_registration(server):
    for url in (
        "https://chat.example.com/hooks",
        "http://93.184.215.14/h",
        "https://[2606:4700::1111]/",
    ):
        # (Not reached: nothing is published while they exist.)
        status, body = await api(server.url, "POST", "/admin/webhooks", json={"url": url})
        assert status == 201, (url, body)
        await api(server.url, "DELETE", f"/admin/webhooks/{body['id']}")


async def test_an_explicitly_allowed_network_may_be_registered(settings):
    allowed = replace(settings, webhook_allowed_networks=LOOPBACK)
    app = create_app(allowed)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        url = str(test_server.make_url("")).rstrip("/")
        status, _ = await api(url, "POST", "/admin/webhooks", json={"url": "http://127.0.0.1:9/h"})
        assert status == 201
        status, _ = await api(url, "POST", "/admin/webhooks", json={"url": "http://localhost:9/h"})
        assert status == 201
        # Only what is listed: other private networks stay refused.
        status, body = await api(url, "POST", "/admin/webhooks", json={"url": "http://10.0.0.1/"})
        assert status == 400 and body["error"]["code"] == "webhook_address_not_allowed"
    finally:
        await test_server.close()


def test_the_allowance_must_name_networks():
    assert load_settings(environ={"CONF_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8, 10.1.2.3"})
    with pytest.raises(ConfigError, match="webhook_allowed_networks"):
        load_settings(environ={"CONF_WEBHOOK_ALLOWED_NETWORKS": "intranet"})


# -- at delivery -------------------------------------------------------------------------------


class StubResolver(AbstractResolver):
    """A DNS that answers ``answers[name]`` in turn (the last one from then on)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        turns = self.answers[host]
        address = turns.pop(0) if len(turns) > 1 else turns[0]
        kind = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": kind,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        return None


Make = Callable[..., WebhookDispatcher]


@pytest.fixture
async def make_dispatcher(tmp_path: Path) -> AsyncIterator[Make]:
    made: list[tuple[WebhookDispatcher, Database]] = []

    def make(**options: Any) -> WebhookDispatcher:
        db = Database(tmp_path / "conf.sqlite3")
        dispatcher = WebhookDispatcher(db, **{**FAST, **options})
        made.append((dispatcher, db))
        return dispatcher

    yield make
    for dispatcher, db in made:
        await dispatcher.close()
        db.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    running = await Receiver().start()
    yield running
    await running.stop()


@pytest.fixture
async def receivers() -> AsyncIterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for running in started:
        await running.stop()


async def first_attempt(dispatcher: WebhookDispatcher, endpoint_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        log = dispatcher.deliveries(endpoint_id)
        if log and log[0]["attempts"] >= 1:
            return log[0]
        assert time.monotonic() < deadline, log
        await asyncio.sleep(0.02)


def stored_endpoint(dispatcher: WebhookDispatcher, url: str) -> str:
    """An endpoint as if registered earlier (when the name pointed elsewhere, or
    before the allowance was taken away): straight into the store."""
    endpoint, _secret = dispatcher.store.add_endpoint(url, None)
    return endpoint.id


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_a_stored_loopback_endpoint_is_refused_at_delivery(make_dispatcher, receiver, host):
    dispatcher = make_dispatcher()
    endpoint_id = stored_endpoint(dispatcher, f"http://{host}:{receiver.port}/hook")
    await dispatcher.start()
    dispatcher.publish("meeting.started", {"meeting_id": "m"})
    entry = await first_attempt(dispatcher, endpoint_id)
    assert entry["last_status"] is None
    assert entry["last_error"].startswith("refused before connecting")
    assert "loopback" in entry["last_error"]
    await asyncio.sleep(0.3)
    assert receiver.requests == []  # nothing ever connected


async def test_a_name_is_checked_after_resolution_and_refused_if_it_means_loopback(
    make_dispatcher, receiver
):
    dns = StubResolver({"hooks.example.test": ["127.0.0.1"]})
    dispatcher = make_dispatcher(resolver=dns)
    created = dispatcher.add_endpoint(f"http://hooks.example.test:{receiver.port}/hook")
    await dispatcher.start()
    dispatcher.publish("meeting.started", {"meeting_id": "m"})
    entry = await first_attempt(dispatcher, created["id"])
    assert "hooks.example.test" in dns.asked
    assert entry["last_error"].startswith("refused before connecting")
    assert "127.0.0.1 is a loopback address" in entry["last_error"]
    await asyncio.sleep(0.3)
    assert receiver.requests == []


async def test_the_connection_goes_to_the_checked_address_and_a_rebound_name_is_refused(
    make_dispatcher, receivers
):
    # First answer: the one allowed address (the receiver's); then the name
    # "rebinds" to another loopback address, not allowed (like an internal
    # service; loopback, so that even a broken check sends nothing outside).
    # Each new connection resolves once and goes to what was checked (the
    # receiver closes every connection: the next attempt needs a new one).
    receiver = await Receiver(keep_alive=False).start()
    receivers.append(receiver)
    dns = StubResolver({"hooks.example.test": ["127.0.0.1", "127.0.0.2"]})
    dispatcher = make_dispatcher(resolver=dns, allowed_networks=("127.0.0.1/32",))
    created = dispatcher.add_endpoint(f"http://hooks.example.test:{receiver.port}/hook")
    await dispatcher.start()
    first = dispatcher.publish("meeting.started", {"meeting_id": "m"})
    await receiver.wait_for(1)
    assert receiver.event_ids() == [first] and dns.asked == ["hooks.example.test"]
    assert receiver.requests[0].headers["Host"] == f"hooks.example.test:{receiver.port}"
    dispatcher.publish("meeting.ended", {"meeting_id": "m"})
    deadline = time.monotonic() + 10
    while not (log := dispatcher.deliveries(created["id"]))[0]["attempts"]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert "127.0.0.2 is a loopback address" in log[0]["last_error"]
    assert len(receiver.requests) == 1


async def test_the_system_resolver_answer_for_localhost_is_refused():
    resolver = CheckedResolver(AddressPolicy())
    with pytest.raises(AddressRefused, match="loopback"):
        await resolver.resolve("localhost", 80, socket.AF_INET)
    allowed = CheckedResolver(AddressPolicy(LOOPBACK))
    [answer] = await allowed.resolve("localhost", 80, socket.AF_INET)
    assert answer["host"] == "127.0.0.1"
    await resolver.close()
    await allowed.close()


async def test_the_delivery_log_never_holds_the_receivers_answer(make_dispatcher):
    secret_page = "internal admin page: root password is hunter2"

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(status=500, text=secret_page)

    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        dispatcher = make_dispatcher(allowed_networks=LOOPBACK, max_attempts=2)
        created = dispatcher.add_endpoint(f"http://127.0.0.1:{port}/hook")
        await dispatcher.start()
        dispatcher.publish("meeting.started", {"meeting_id": "m"})
        deadline = time.monotonic() + 10
        while (log := dispatcher.deliveries(created["id"]))[0]["status"] != "failed":
            assert time.monotonic() < deadline, log
            await asyncio.sleep(0.02)
        assert [a["error"] for a in log[0]["attempt_log"]] == ["HTTP 500", "HTTP 500"]
        assert log[0]["last_error"] == "HTTP 500"
        assert "hunter2" not in json.dumps(log)
    finally:
        await runner.cleanup()


def test_the_default_settings_allow_no_private_network():
    assert Settings().webhook_allowed_networks == ()
