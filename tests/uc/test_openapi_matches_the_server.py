"""The OpenAPI document served at /api/v1/openapi.json matches the server: every
route is in it, and real responses (successes and errors) validate against the
schema the document gives for their path, method and status."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from openapi_schemas import OpenApiSchemas
from server_keys import ADMIN_KEY

from conf_server import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The webhook registered below is on loopback: the documented opt-in.
    return replace(settings, webhook_allowed_networks=("127.0.0.0/8",))


class Api:
    def __init__(self, server: Any, document: dict[str, Any]) -> None:
        self.server = server
        self.document = document
        self.schemas = OpenApiSchemas(document)
        self.checked: set[tuple[str, str, str]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
            if re.match(pattern, path) and method.lower() in item:
                return template, item[method.lower()]
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")

    async def call(
        self, method: str, path: str, key: str | None = ADMIN_KEY, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.request(method, f"{self.server.url}{path}", **kwargs) as response,
        ):
            status, ctype = response.status, response.content_type
            body = await response.json() if ctype == "application/json" else await response.text()
        template, operation = self.operation(method, path.split("?")[0])
        documented = operation["responses"].get(str(status))
        assert documented is not None, f"{method} {template} answered {status}, not documented"
        content = documented.get("content", {})
        assert ctype in content, f"{method} {template} {status}: {ctype} not documented"
        schema = content[ctype].get("schema")
        if schema is not None and ctype == "application/json":
            self.schemas.check(body, schema)
        self.checked.add((method, template, str(status)))
        return status, body


async def test_every_api_route_is_documented(server):
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/v1/openapi.json") as r,
    ):
        document = await r.json()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    api_app = next(
        app
        for app in server.server.app._subapps
        if any(str(r.resource.canonical).endswith("/openapi.json") for r in app.router.routes())
    )
    for route in api_app.router.routes():
        if route.method == "HEAD":
            continue
        path = route.resource.canonical  # already includes the /api/v1 prefix
        assert (route.method, path) in documented, f"{route.method} {path} is not documented"


async def test_real_responses_match_the_document(server, make_member):
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/v1/openapi.json") as r,
    ):
        api = Api(server, await r.json())

    status, _ = await api.call("GET", "/api/v1/openapi.json", key=None)
    assert status == 200
    status, created = await api.call("POST", "/api/v1/meetings", key=None, json={"title": "T"})
    assert status == 201
    host = await make_member("Hana", room=created["room"], host_key=created["host_key"])
    await host.call("chat_send", {"text": "hello"})
    await api.call("GET", f"/api/v1/rooms/{created['room']}", key=None)
    await api.call("GET", "/api/v1/rooms/bad.name", key=None)
    await api.call("GET", "/api/v1/ice-servers", key=None)
    await api.call("GET", f"/api/v1/meetings/{created['meeting_id']}")
    await api.call("GET", "/api/v1/meetings/nope")
    await api.call("GET", f"/api/v1/meetings/{created['meeting_id']}", key=None)
    await api.call("GET", f"/api/v1/meetings/{created['meeting_id']}/report")
    await api.call("GET", f"/api/v1/meetings/{created['meeting_id']}/report?format=bad")
    json_type = {"Content-Type": "application/json"}
    await api.call("POST", "/api/v1/meetings", key=None, data=b"{bad json", headers=json_type)
    await api.call("POST", "/api/v1/meetings", key=None, data=b"x" * 70_000, headers=json_type)
    await api.call("POST", "/api/v1/meetings", key=None, data=b"{}")  # 415: not JSON-typed
    await api.call("POST", "/api/v1/meetings", key=None, json={"room": "mine"})  # 401
    status, _ = await api.call("POST", "/api/v1/meetings", json={"room": "mine"})
    assert status == 201
    await api.call("POST", "/api/v1/meetings", json={"room": "mine"})  # 409

    escalation = {
        "chat_id": "c-1",
        "title": "Crisis",
        "initiator": {"user_id": "u1", "name": "Ada"},
        "participants": [{"user_id": "u2", "name": "Bob"}],
    }
    assert (await api.call("POST", "/api/v1/escalations", json=escalation))[0] == 201
    assert (await api.call("POST", "/api/v1/escalations", json=escalation))[0] == 200
    await api.call("POST", "/api/v1/escalations", json={"chat_id": ""})
    await api.call("POST", "/api/v1/escalations", key="wrong", json=escalation)

    status, key = await api.call(
        "POST", "/api/v1/admin/keys", json={"name": "chat", "scope": "integration"}
    )
    assert status == 201
    await api.call("GET", "/api/v1/admin/keys")
    await api.call("GET", "/api/v1/admin/keys", key=key["key"])  # 403
    await api.call("POST", "/api/v1/admin/keys", json={"name": "x", "scope": "root"})
    await api.call("DELETE", f"/api/v1/admin/keys/{key['id']}")
    await api.call("DELETE", "/api/v1/admin/keys/unknown")

    status, hook = await api.call(
        "POST", "/api/v1/admin/webhooks", json={"url": "http://127.0.0.1:9/hook"}
    )
    assert status == 201
    await api.call("GET", "/api/v1/admin/webhooks")
    await api.call("GET", f"/api/v1/admin/webhooks/{hook['id']}/deliveries")
    await api.call("DELETE", f"/api/v1/admin/webhooks/{hook['id']}")

    statuses = {status for _, _, status in api.checked}
    assert {"200", "201", "400", "401", "403", "404", "409", "413", "415"} <= statuses
