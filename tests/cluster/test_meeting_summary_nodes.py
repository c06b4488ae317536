"""meeting.summary with several nodes: one summary per meeting. Real
conf-server processes sharing a real redis-server, each with its own database
and webhook endpoints (registered on each node, as docs/rest-api.md says);
and two nodes in one process that both saw the end (the claim decides)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from deployment import NodeClient, NodeProcess, http
from media_node_client import MediaNodeClient
from media_peers import CounterVideoTrack, ToneAudioTrack
from redis_server import RedisServer
from webhook_receiver import Receiver

from conf_server import Settings, create_app
from conf_server.cluster.redis_connection import connect
from conf_server.http.keys import MEETINGS, WEBHOOKS

ALLOW_LOOPBACK = "127.0.0.0/8"


def summaries(receiver: Receiver) -> list[dict[str, Any]]:
    return [r.body for r in receiver.requests if r.body["type"] == "meeting.summary"]


async def until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


async def test_a_meeting_on_two_nodes_gets_one_summary(start_nodes: Any, prefix: str) -> None:
    a, b = await start_nodes("node-a", "node-b", CONF_WEBHOOK_ALLOWED_NETWORKS=ALLOW_LOOPBACK)
    receiver = await Receiver().start()
    host, guest = NodeClient(a.url, "Hana"), NodeClient(b.url, "Gus")
    try:
        for node in (a, b):
            status, hook = await http(
                node.url, "POST", "/api/v1/admin/webhooks", json={"url": receiver.url}
            )
            assert status == 201, hook
        ack = await host.join("summit")
        await guest.join("summit")
        meeting_id = ack["meeting"]["meeting_id"]
        hosting = host.url
        await host.call("mark_decision", {"text": "Ship it"})
        await host.call("end_meeting", {})
        await until(lambda: summaries(receiver), 60, "no meeting.summary")
        await asyncio.sleep(8.0)  # more than a check interval of every node
        (summary,) = summaries(receiver)
        assert summary["data"]["meeting_id"] == meeting_id
        assert [d["text"] for d in summary["data"]["decisions"]] == ["Ship it"]
        assert {p["name"] for p in summary["data"]["attendance"]["participants"]} == {
            "Hana",
            "Gus",
        }
        # Claimed in Redis by the node that hosted (and ended) the meeting.
        owner = next(n for n in (a, b) if n.url == hosting).name
        redis = connect(f"redis://127.0.0.1:{_redis_port(a)}/0")
        try:
            assert await redis.get(f"{prefix}once:summary:{meeting_id}") == owner
        finally:
            await redis.aclose()
    finally:
        await host.close()
        await guest.close()
        await receiver.stop()


def _redis_port(node: NodeProcess) -> int:
    url = node.proc.args[node.proc.args.index("--redis-url") + 1]
    return int(url.rsplit(":", 1)[1].split("/")[0])


async def test_two_nodes_that_both_saw_the_end_send_one_summary(tmp_path: Path) -> None:
    """The race the claim is for: two nodes (separate databases, their own
    endpoints) each note the same meeting's end; only one sends its summary."""
    redis = RedisServer(tmp_path)
    receiver = await Receiver().start()
    servers: list[TestServer] = []
    try:
        for name in ("node-x", "node-y"):
            settings = Settings(
                data_dir=tmp_path / name,
                node_name=name,
                redis_url=redis.url,
                redis_prefix="race:",
                ice_addresses=("127.0.0.1",),
                webhook_allowed_networks=(ALLOW_LOOPBACK,),
                summary_wait_max_seconds=0.0,
            )
            server = TestServer(create_app(settings), host="127.0.0.1")
            await server.start_server()
            servers.append(server)
        ended = {"meeting_id": "m-race", "room": "r", "title": "T", "chat_id": "c1"}
        for server in servers:
            server.app[WEBHOOKS].add_endpoint(receiver.url)
        # Both nodes see meeting.ended of the same meeting at about the same time.
        for server in servers:
            server.app[MEETINGS].publisher.publish("meeting.ended", {**ended, "reason": "empty"})
        await until(lambda: summaries(receiver), 30, "no meeting.summary")
        await asyncio.sleep(7.0)
        (summary,) = summaries(receiver)
        assert summary["data"]["meeting_id"] == "m-race"
        assert summary["data"]["chat_id"] == "c1"
        ended_events = [r for r in receiver.requests if r.body["type"] == "meeting.ended"]
        assert len(ended_events) == 2  # each node's own meeting.ended went out
    finally:
        for server in servers:
            await server.close()
        await receiver.stop()
        redis.stop()


async def test_a_node_killed_while_the_summary_waits_sends_it_after_its_restart(
    tmp_path: Path, redis: RedisServer, prefix: str
) -> None:
    """kill -9 between meeting.ended and the summary (the recording is still
    being rendered): the node restarted under its name renders it and sends the
    one summary; nothing else ever sends it."""
    env = {"CONF_WEBHOOK_ALLOWED_NETWORKS": ALLOW_LOOPBACK}
    node = NodeProcess(tmp_path, "node-k", redis.url, prefix, env=env)
    receiver = await Receiver().start()
    publisher = MediaNodeClient(node.url, "Pia")
    restarted: NodeProcess | None = None
    try:
        await node.wait_ready()
        status, hook = await http(
            node.url, "POST", "/api/v1/admin/webhooks", json={"url": receiver.url}
        )
        assert status == 201, hook
        joined = await publisher.join("kill-room")
        meeting_id = joined["meeting"]["meeting_id"]
        await publisher.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(440)})
        await publisher.call("recording", {"action": "start"})
        await asyncio.sleep(2.0)
        await publisher.call("end_meeting")
        ended = lambda: any(r.body["type"] == "meeting.ended" for r in receiver.requests)  # noqa: E731
        await until(ended, 20, "no meeting.ended")
        node.kill()
        await node.wait_exit()
        assert summaries(receiver) == [], "sent before the kill: the test proves nothing"

        restarted = NodeProcess(tmp_path, "node-k", redis.url, prefix, env=env)
        await restarted.wait_ready()
        await until(lambda: summaries(receiver), 120, "no meeting.summary after the restart")
        await asyncio.sleep(6.0)
        (summary,) = summaries(receiver)
        data = summary["data"]
        assert data["meeting_id"] == meeting_id and data["complete"] is True
        (recording,) = data["recordings"]
        assert recording["state"] == "ready"
    finally:
        await publisher.close()
        await receiver.stop()
        for process in (node, restarted):
            if process is not None:
                process.stop()
