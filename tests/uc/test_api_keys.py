"""API keys: bootstrap admin key, created keys with scopes, revocation; 401/403."""

from __future__ import annotations

import dataclasses

from aiohttp.test_utils import TestServer
from api_client import call
from running_server import RunningServer
from server_keys import ADMIN_KEY

from conf_server import create_app

ESCALATION = {
    "chat_id": "c1",
    "title": "t",
    "initiator": {"user_id": "u1", "name": "Ada"},
    "participants": [],
}


async def test_missing_wrong_and_malformed_keys_get_401(server):
    for key, headers in [
        (None, {}),
        ("nope", {}),
        (None, {"Authorization": "Basic abc"}),
        (None, {"Authorization": "Bearer "}),
    ]:
        status, body = await call(server, "GET", "/admin/keys", key, headers=headers)
        assert status == 401, (key, headers)
        assert body["error"]["code"] == "unauthorized" and body["error"]["message"]


async def test_keys_are_created_listed_used_and_revoked(server, settings):
    status, created = await call(
        server, "POST", "/admin/keys", ADMIN_KEY, json={"name": "chat app", "scope": "integration"}
    )
    assert status == 201
    key = created["key"]
    assert key.startswith("ck_") and created["scope"] == "integration"
    # Listed without the secret; stored only as a hash.
    status, listed = await call(server, "GET", "/admin/keys", ADMIN_KEY)
    assert status == 200 and [k["id"] for k in listed["keys"]] == [created["id"]]
    assert "key" not in listed["keys"][0]
    raw = (settings.data_dir / "conf.sqlite3").read_bytes()
    assert key.encode() not in raw
    # An integration key escalates but may not administer.
    status, _ = await call(server, "POST", "/escalations", key, json=ESCALATION)
    assert status == 201
    status, body = await call(server, "GET", "/admin/keys", key)
    assert status == 403 and body["error"]["code"] == "forbidden"
    # Revoked: 401 from then on.
    status, revoked = await call(server, "DELETE", f"/admin/keys/{created['id']}", ADMIN_KEY)
    assert status == 200 and revoked["revoked_at"] is not None
    status, body = await call(server, "POST", "/escalations", key, json=ESCALATION)
    assert status == 401 and "revoked" in body["error"]["message"]


async def test_an_admin_key_made_by_the_bootstrap_key_administers(server):
    _, created = await call(
        server, "POST", "/admin/keys", ADMIN_KEY, json={"name": "ops", "scope": "admin"}
    )
    status, _ = await call(server, "GET", "/admin/keys", created["key"])
    assert status == 200


async def test_bad_key_requests_get_400(server):
    for body in [
        {"name": "x", "scope": "root"},
        {"name": "", "scope": "admin"},
        {"scope": "admin"},
    ]:
        status, answer = await call(server, "POST", "/admin/keys", ADMIN_KEY, json=body)
        assert status == 400 and answer["error"]["code"] == "invalid_request"
    status, answer = await call(server, "DELETE", "/admin/keys/unknown", ADMIN_KEY)
    assert status == 404


async def test_integration_keys_listed_in_the_configuration(settings):
    configured = dataclasses.replace(settings, integration_api_keys=("chat-app-key-0123456789",))
    test_server = TestServer(create_app(configured), host="127.0.0.1")
    await test_server.start_server()
    try:
        server = RunningServer(test_server)
        key = "chat-app-key-0123456789"
        status, _ = await call(server, "POST", "/escalations", key, json=ESCALATION)
        assert status == 201
        status, _ = await call(server, "GET", "/admin/keys", key)
        assert status == 403
    finally:
        await test_server.close()
