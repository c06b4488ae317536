"""The admin webhook routes on a full server: auth, validation, the endpoint's
life (create, list, test, delivery log, delete) and real meeting events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from openapi_schema_validator import OAS30Validator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from webhook_receiver import Receiver

from conf_server import Settings
from conf_server.http.keys import API_KEYS, WEBHOOKS
from conf_server.http.openapi import openapi_document

ADMIN = "webhook-tests-admin-key-42"
ROUTES = [
    ("POST", "/admin/webhooks", {"url": "https://example.com/hook"}),
    ("GET", "/admin/webhooks", None),
    ("DELETE", "/admin/webhooks/wh_x", None),
    ("GET", "/admin/webhooks/wh_x/deliveries", None),
    ("POST", "/admin/webhooks/wh_x/test", None),
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        ice_addresses=("127.0.0.1",),
        admin_api_key=ADMIN,
        webhook_allowed_networks=("127.0.0.0/8",),  # the receivers are on loopback
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    running = await Receiver().start()
    yield running
    await running.stop()


async def call(
    server: Any, method: str, path: str, key: str | None = ADMIN, **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.request(method, f"{server.url}/api/v1{path}", **kwargs) as response,
    ):
        assert response.content_type == "application/json"
        return response.status, await response.json()


def conforms(instance: Any, schema: str) -> None:
    """Raise unless ``instance`` matches ``components.schemas[schema]`` of the OpenAPI
    document."""
    document = Resource.from_contents(openapi_document(Settings()), default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource("urn:api", document)
    ref = {"$ref": f"urn:api#/components/schemas/{schema}"}
    validate(instance, ref, cls=OAS30Validator, registry=registry)


async def wait_log(server: Any, endpoint_id: str, status: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while True:
        code, body = await call(server, "GET", f"/admin/webhooks/{endpoint_id}/deliveries")
        assert code == 200
        if body["deliveries"] and all(d["status"] == status for d in body["deliveries"]):
            return list(body["deliveries"])
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("method, path, body", ROUTES)
async def test_every_route_needs_a_valid_admin_key(server, method, path, body):
    keys = server.server.app[API_KEYS]
    integration = keys.create("chat app", "integration")
    revoked = keys.create("old admin", "admin")
    keys.revoke(revoked["id"])
    for key, status, code in [
        (None, 401, "unauthorized"),
        ("ck_wrong_key", 401, "unauthorized"),
        (revoked["key"], 401, "unauthorized"),
        (integration["key"], 403, "forbidden"),
    ]:
        answer, error = await call(server, method, path, key, json=body)
        assert answer == status, (key, error)
        assert error["error"]["code"] == code and error["error"]["message"]
    assert server.server.app[WEBHOOKS].endpoints() == []


async def test_an_endpoint_is_created_listed_tested_logged_and_deleted(server, receiver):
    status, created = await call(
        server, "POST", "/admin/webhooks", json={"url": receiver.url, "events": ["chat.message"]}
    )
    assert status == 201
    assert created["id"].startswith("wh_") and created["secret"].startswith("whsec_")
    assert created["url"] == receiver.url and created["events"] == ["chat.message"]
    assert isinstance(created["created_at"], float)
    conforms(created, "CreatedWebhook")
    endpoint_id = created["id"]

    status, listed = await call(server, "GET", "/admin/webhooks")
    assert status == 200
    [entry] = listed["webhooks"]
    assert entry["id"] == endpoint_id and "secret" not in entry
    conforms(entry, "Webhook")
    assert created["secret"] not in str(listed)

    status, queued = await call(server, "POST", f"/admin/webhooks/{endpoint_id}/test")
    assert status == 202 and queued["type"] == "webhook.test"
    [request] = await receiver.wait_for(1)
    assert request.verifies(created["secret"])
    assert request.body["id"] == queued["event_id"] and request.body["type"] == "webhook.test"
    assert request.headers["X-Conf-Event-Type"] == "webhook.test"
    conforms(request.body, "WebhookEvent")

    [logged] = await wait_log(server, endpoint_id, "delivered")
    assert logged["event_id"] == queued["event_id"] and logged["attempts"] == 1
    assert logged["last_status"] == 200 and logged["attempt_log"][0]["status"] == 200
    assert created["secret"] not in str(logged)
    conforms(logged, "WebhookDelivery")

    status, deleted = await call(server, "DELETE", f"/admin/webhooks/{endpoint_id}")
    assert status == 200 and deleted["id"] == endpoint_id and deleted["deleted_at"]
    conforms(deleted, "Webhook")
    status, listed = await call(server, "GET", "/admin/webhooks")
    assert listed["webhooks"] == []
    status, error = await call(server, "POST", f"/admin/webhooks/{endpoint_id}/test")
    assert status == 404 and error["error"]["code"] == "not_found"
    assert server.server.app[WEBHOOKS].publish("chat.message", {}) is None
    # The log of a deleted endpoint stays readable until it is pruned.
    status, log = await call(server, "GET", f"/admin/webhooks/{endpoint_id}/deliveries")
    assert status == 200 and len(log["deliveries"]) == 1


async def test_events_default_to_every_type(server):
    status, created = await call(server, "POST", "/admin/webhooks", json={"url": "http://h/x"})
    assert status == 201
    assert created["events"] == [
        "meeting.started",
        "meeting.ended",
        "participant.joined",
        "participant.left",
        "recording.ready",
        "recording.transcribed",
        "poll.closed",
        "questionnaire.launched",
        "questionnaire.closed",
        "chat.message",
        "meeting.summary",
    ]


async def test_the_delivery_log_is_newest_first_and_limited(server, receiver):
    _, created = await call(server, "POST", "/admin/webhooks", json={"url": receiver.url})
    webhooks = server.server.app[WEBHOOKS]
    ids = [webhooks.publish("recording.ready", {"recording_id": str(n)}) for n in range(5)]
    await receiver.wait_for(5)
    path = f"/admin/webhooks/{created['id']}/deliveries"
    await wait_log(server, created["id"], "delivered")
    status, log = await call(server, "GET", f"{path}?limit=2")
    assert status == 200 and [d["event_id"] for d in log["deliveries"]] == ids[::-1][:2]
    status, log = await call(server, "GET", f"{path}?status=failed")
    assert status == 200 and log["deliveries"] == []


async def test_meeting_events_reach_the_endpoint(server, receiver, make_member):
    _, created = await call(server, "POST", "/admin/webhooks", json={"url": receiver.url})
    ada = await make_member("Ada", room="standup")
    await ada.call("chat_send", {"text": "Hello, chat thread!"})
    requests = await receiver.wait_for(3)
    by_type = {r.body["type"]: r.body for r in requests}
    assert all(r.verifies(created["secret"]) for r in requests)
    assert {"meeting.started", "participant.joined", "chat.message"} <= set(by_type)
    joined = by_type["participant.joined"]["data"]
    assert joined["room"] == "standup" and joined["participant"]["name"] == "Ada"
    message = by_type["chat.message"]["data"]["message"]
    assert message["text"] == "Hello, chat thread!" and message["sender_name"] == "Ada"


@pytest.mark.parametrize(
    "body, words",
    [
        ({}, "field 'url' is required"),
        ({"url": "ftp://example.com/x"}, "http:// or https://"),
        ({"url": "example.com"}, "http:// or https://"),
        ({"url": 7}, "field 'url'"),
        ({"url": "https://e.com/h", "events": ["chat.deleted"]}, "unknown event type"),
        ({"url": "https://e.com/h", "events": []}, "non-empty list"),
        ({"url": "https://e.com/h", "events": "chat.message"}, "non-empty list"),
        ({"url": "https://e.com/h", "events": ["webhook.test"]}, "unknown event type"),
        ({"url": "https://e.com/h", "secret": "mine"}, "unknown field(s): secret"),
        ([1, 2], "JSON object"),
    ],
)
async def test_bad_input_gets_a_clear_400(server, body, words):
    status, error = await call(server, "POST", "/admin/webhooks", json=body)
    assert status == 400 and error["error"]["code"] == "invalid_request"
    assert words in error["error"]["message"]
    assert server.server.app[WEBHOOKS].endpoints() == []


async def test_invalid_json_gets_400(server):
    status, error = await call(
        server,
        "POST",
        "/admin/webhooks",
        data=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and error["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=abc", "limit=-1", "status=lost"])
async def test_bad_log_queries_get_400(server, query):
    _, created = await call(server, "POST", "/admin/webhooks", json={"url": "https://e.com/h"})
    status, error = await call(server, "GET", f"/admin/webhooks/{created['id']}/deliveries?{query}")
    assert status == 400 and error["error"]["code"] == "invalid_request"
    assert query.split("=")[0] in error["error"]["message"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("DELETE", "/admin/webhooks/wh_missing"),
        ("GET", "/admin/webhooks/wh_missing/deliveries"),
        ("POST", "/admin/webhooks/wh_missing/test"),
    ],
)
async def test_unknown_endpoints_get_404(server, method, path):
    status, error = await call(server, method, path)
    assert status == 404 and error["error"]["code"] == "not_found"


async def test_the_openapi_document_describes_the_webhook_routes(server):
    status, document = await call(server, "GET", "/openapi.json", key=None)
    assert status == 200
    paths = document["paths"]
    assert set(paths["/api/v1/admin/webhooks"]) == {"get", "post"}
    assert set(paths["/api/v1/admin/webhooks/{webhook_id}"]) == {"delete"}
    assert "get" in paths["/api/v1/admin/webhooks/{webhook_id}/deliveries"]
    assert "post" in paths["/api/v1/admin/webhooks/{webhook_id}/test"]
    schemas = document["components"]["schemas"]
    assert {"Webhook", "NewWebhook", "CreatedWebhook", "WebhookDelivery", "WebhookEvent"} <= set(
        schemas
    )
