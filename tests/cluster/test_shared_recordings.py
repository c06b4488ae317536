"""Recording metadata and the deployment's secrets are shared between nodes:
every node lists every node's recordings and serves their files (relayed from
the node whose disk has them), and an invite signed by one node is good on
another. Real conf-server processes and a real redis-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
from deployment import NodeClient, NodeProcess, http, room_node
from media_node_client import MediaNodeClient
from media_peers import CounterVideoTrack
from server_keys import ADMIN_KEY

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]  # the start_nodes fixture


async def download(base_url: str, path: str, **headers: str) -> tuple[int, bytes, Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN_KEY}", **headers}) as s,
        s.get(base_url + path) as response,
    ):
        return response.status, await response.read(), response.headers


async def listed(node: NodeProcess, recording_id: str) -> dict[str, Any] | None:
    status, body = await http(node.url, "GET", "/api/v1/recordings")
    assert status == 200, body
    return next((r for r in body["recordings"] if r["id"] == recording_id), None)


async def rendered(node: NodeProcess, recording_id: str, timeout: float = 60) -> dict[str, Any]:
    """The recording, asked of ``node``, once its composite is no longer pending
    or rendering. Rendering runs in a worker process after the stop and takes
    longer on a loaded machine; until it ends, DELETE answers 409
    ``recording_in_progress`` (docs/rest-api.md)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await http(node.url, "GET", f"/api/v1/recordings/{recording_id}")
        assert status == 200, body
        composite = body["composite"]
        if composite is not None and composite["state"] not in ("pending", "rendering"):
            return body
        assert time.monotonic() < deadline, f"composite still {composite} after {timeout} s"
        await asyncio.sleep(0.2)


async def test_every_node_lists_serves_and_deletes_every_nodes_recordings(
    start_nodes: StartNodes,
) -> None:
    a, b = await start_nodes("node-a", "node-b")
    publisher = MediaNodeClient(b.url, "Pia")
    try:
        joined = await publisher.join("rec-room")
        assert await room_node(b, "rec-room") == "node-a"
        await publisher.publish({"camera": CounterVideoTrack()})
        meeting_id = joined["meeting"]["meeting_id"]
        path = f"/api/v1/meetings/{meeting_id}/recording"
        assert (await http(b.url, "POST", path, json={"action": "start"}))[0] == 200
        await asyncio.sleep(2.5)
        assert (await http(b.url, "POST", path, json={"action": "stop"}))[0] == 200
    finally:
        await publisher.close()

    status, on_a = await http(a.url, "GET", f"/api/v1/recordings?meeting_id={meeting_id}")
    assert status == 200 and len(on_a["recordings"]) == 1
    recording = on_a["recordings"][0]
    assert recording["node"] == "node-a"
    # Node b lists it too (from the index, republished every few seconds).
    deadline = time.monotonic() + 10
    while (entry := await listed(b, recording["id"])) is None:
        assert time.monotonic() < deadline, "node b never listed node a's recording"
        await asyncio.sleep(0.2)
    assert entry["node"] == "node-a" and entry["meeting_id"] == meeting_id

    status, via_b = await http(b.url, "GET", f"/api/v1/recordings/{recording['id']}")
    assert status == 200 and via_b["node"] == "node-a"
    # (the composite may have been added meanwhile)
    assert {f["name"] for f in recording["files"]} <= {f["name"] for f in via_b["files"]}
    video = next(f["name"] for f in via_b["files"] if f["name"].endswith(".webm"))
    file_path = f"/api/v1/recordings/{recording['id']}/files/{video}"
    status, whole_a, _ = await download(a.url, file_path)
    status_b, whole_b, headers = await download(b.url, file_path)
    assert (status, status_b) == (200, 200) and len(whole_a) > 1000
    assert whole_b == whole_a and "attachment" in headers["Content-Disposition"]
    status, part, headers = await download(b.url, file_path, Range="bytes=100-299")
    assert status == 206 and part == whole_a[100:300]
    assert headers["Content-Range"] == f"bytes 100-299/{len(whole_a)}"

    # Node b relays the DELETE too, once node a has finished the composite; a
    # recording whose composite is ready is deletable at once (not refused as
    # "being rendered" while the finished worker's process is still exiting).
    done = await rendered(b, recording["id"])
    assert done["composite"]["state"] == "ready", done["composite"]
    status, body = await http(b.url, "DELETE", f"/api/v1/recordings/{recording['id']}")
    assert status == 200 and body["deleted"] is True, body
    assert (await http(a.url, "GET", f"/api/v1/recordings/{recording['id']}"))[0] == 404
    assert await listed(a, recording["id"]) is None


async def test_a_recording_whose_node_is_down_is_listed_but_its_files_are_503(
    start_nodes: StartNodes,
) -> None:
    a, b = await start_nodes("node-a", "node-b")
    publisher = MediaNodeClient(a.url, "Pia")
    try:
        joined = await publisher.join("rec-down")
        await publisher.publish({"camera": CounterVideoTrack()})
        path = f"/api/v1/meetings/{joined['meeting']['meeting_id']}/recording"
        assert (await http(a.url, "POST", path, json={"action": "start"}))[0] == 200
        await asyncio.sleep(1.0)
        assert (await http(a.url, "POST", path, json={"action": "stop"}))[0] == 200
    finally:
        await publisher.close()
    status, body = await http(a.url, "GET", "/api/v1/recordings")
    recording_id = body["recordings"][0]["id"]
    deadline = time.monotonic() + 10
    while await listed(b, recording_id) is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    a.kill()
    await a.wait_exit()
    assert await listed(b, recording_id) is not None
    status, body = await http(b.url, "GET", f"/api/v1/recordings/{recording_id}")
    assert status == 503 and body["error"]["code"] == "node_unreachable"
    assert "node-a" in body["error"]["message"]


async def test_an_invite_signed_by_one_node_is_good_on_another(start_nodes: StartNodes) -> None:
    a, b = await start_nodes("node-a", "node-b")
    status, answer = await http(
        b.url,
        "POST",
        "/api/v1/escalations",
        json={
            "chat_id": "ops-1",
            "title": "Incident",
            "initiator": {"user_id": "ada", "name": "Ada"},
            "participants": [{"user_id": "bob", "name": "Bob"}],
        },
    )
    assert status == 201, answer
    token = parse_qs(urlparse(answer["invites"][0]["join_url"]).query)["token"][0]
    bob = NodeClient(a.url, "typed name")
    try:
        ack = await bob.join(answer["room"], token=token)
        assert ack["ok"] and bob.participants[bob.participant_id]["name"] == "Bob"
    finally:
        await bob.close()
