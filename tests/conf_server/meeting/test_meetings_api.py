"""Meetings created ahead of time through the REST API."""

from __future__ import annotations

import aiohttp
from server_keys import ADMIN_KEY

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def post(server, body=None, raw=None, key=ADMIN_KEY):
    """POST /api/v1/meetings with a key (chosen room names and draft polls
    need one; tests/security/test_rest.py covers creation without a key)."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    async with aiohttp.ClientSession(headers=headers) as http:
        kwargs = {"data": raw} if raw is not None else {"json": body if body is not None else {}}
        async with http.post(f"{server.url}/api/v1/meetings", **kwargs) as response:
            return response.status, await response.json()


async def test_create_a_meeting_then_open_the_host_link(server, make_member):
    status, created = await post(
        server,
        {
            "title": "Retro",
            "lobby_enabled": True,
            "polls": [{"question": "Went well?", "options": ["Yes", "No"]}],
        },
    )
    assert status == 201
    room, key = created["room"], created["host_key"]
    assert created["host_url"] == f"{server.url}/r/{room}?host_key={key}"
    assert created["join_url"] == f"{server.url}/r/{room}"
    # Someone who opens the plain link first is not host: they wait in the lobby.
    early = await make_member("Early")
    assert (await early.join(room))["waiting"] is True
    host = await make_member("Hana", room=room, host_key=key)
    assert host.meeting["role"] == "host" and host.meeting["title"] == "Retro"
    assert [p["question"] for p in host.meeting["polls"]] == ["Went well?"]
    assert host.meeting["polls"][0]["state"] == "draft"
    assert [e["name"] for e in host.meeting["lobby"]] == ["Early"]
    url = f"{server.url}/api/v1/meetings/{created['meeting_id']}"
    async with aiohttp.ClientSession(headers=ADMIN) as http, http.get(url) as r:
        info = await r.json()
    assert info["state"] == "live" and info["room"] == room
    assert [p["name"] for p in info["participants"]] == ["Hana"]


async def test_bad_requests_get_clear_errors(server):
    status, body = await post(server, raw=b"{not json")
    assert status == 400 and body["error"]["code"] == "invalid_json"
    status, body = await post(server, raw=b"[1, 2]")
    assert status == 400 and body["error"]["code"] == "invalid_request"
    status, body = await post(server, {"room": "no spaces allowed"})
    assert status == 400 and "room" in body["error"]["message"]
    status, body = await post(server, {"polls": [{"question": "Q", "options": ["one"]}]})
    assert status == 400 and "2 to 20 options" in body["error"]["message"]
    status, body = await post(server, {"lobby_enabled": "yes"})
    assert status == 400 and body["error"]["code"] == "invalid_request"
    status, body = await post(server, {"room": "taken"})
    assert status == 201
    status, body = await post(server, {"room": "taken"})
    assert status == 409 and body["error"]["code"] == "room_in_use"
    url = f"{server.url}/api/v1/meetings/nope"
    async with aiohttp.ClientSession(headers=ADMIN) as http, http.get(url) as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"
