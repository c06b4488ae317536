"""A recording's share link on a deployment of two nodes with separate disks:
the recording is on node a, the viewer and the admin only ever talk to node
b, which relays every share route (the session cookie both ways). Real
conf-server processes and a real redis-server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
from deployment import NodeProcess, http
from shared_recording import SEGMENTS, shared_recording
from test_shared_recordings import StartNodes, listed

from recording.composite import COMPOSITE_FILE

PASSWORD = "across the nodes"


async def test_a_share_of_another_nodes_recording_works_through_any_node(
    start_nodes: StartNodes, tmp_path: Path
) -> None:
    recording_id = shared_recording(tmp_path / "node-a" / "recordings")
    _, b = await start_nodes("node-a", "node-b")
    await until_listed(b, recording_id)

    status, share = await http(
        b.url,
        "POST",
        f"/api/v1/recordings/{recording_id}/shares",
        json={"password": PASSWORD, "expires_in": 600},
    )
    assert status == 201, share
    assert (tmp_path / "node-a" / "recordings" / recording_id / ".shares.json").exists()
    base = f"{b.url}/api/v1/shares/{share['share_id']}"

    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as viewer:
        status, body = await call(viewer, "GET", base)
        assert status == 200 and body["state"] == "active"
        status, body = await call(viewer, "POST", f"{base}/session", json={"password": "nope!!!!"})
        assert status == 401 and body["error"]["code"] == "wrong_password"
        status, session = await call(viewer, "POST", f"{base}/session", json={"password": PASSWORD})
        assert status == 200, session
        assert any(c.key == "share_session" for c in jar)  # Set-Cookie came back through b

        on_disk = (tmp_path / "node-a" / "recordings" / recording_id / COMPOSITE_FILE).read_bytes()
        async with viewer.get(
            b.url + session["video_url"], headers={"Range": "bytes=0-1023"}
        ) as response:
            assert response.status == 206 and await response.read() == on_disk[:1024]
        status, vtt = await call(viewer, "GET", b.url + session["transcript"]["vtt"])
        assert status == 200 and SEGMENTS[0].text in vtt

    # Without the cookie, node b's relay opens nothing.
    async with aiohttp.ClientSession() as stranger:
        status, body = await call(stranger, "GET", b.url + session["video_url"])
        assert status == 401 and body["error"]["code"] == "share_session_required"

    # The audit (read through b) has it all; wrong passwords are limited via b too.
    status, listing = await http(b.url, "GET", f"/api/v1/recordings/{recording_id}/shares")
    assert status == 200
    events = {e["event"] for e in listing["audit"]}
    assert {"created", "wrong_password", "opened", "served"} <= events
    async with aiohttp.ClientSession() as guesser:
        answers = [
            await call(guesser, "POST", f"{base}/session", json={"password": f"guess {n}"})
            for n in range(6)
        ]
    assert [s for s, _ in answers[:4]] == [401] * 4  # one wrong try was spent above
    assert answers[5][0] == 429 and answers[5][1]["error"]["code"] == "rate_limited"


async def until_listed(node: NodeProcess, recording_id: str) -> None:
    deadline = time.monotonic() + 15
    while await listed(node, recording_id) is None:
        assert time.monotonic() < deadline, f"{node.name} never listed {recording_id}"
        await asyncio.sleep(0.2)


async def call(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any]:
    async with session.request(method, url, **kwargs) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()
