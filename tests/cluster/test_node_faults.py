"""Faults of a deployment with real processes: kill -9 of the node that hosts a
meeting, SIGTERM drain, and Redis going away for 15 s. Every node is a real
``python -m conf_server`` sharing a real ``redis-server`` (tests/deployment.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from deployment import NodeClient, NodeProcess, http, registry, room_node
from redis.asyncio import Redis
from redis_server import RedisServer

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]  # the start_nodes fixture


@pytest.fixture
async def clients() -> AsyncIterator[Callable[[str, str], NodeClient]]:
    made: list[NodeClient] = []

    def make(entry_url: str, name: str) -> NodeClient:
        client = NodeClient(entry_url, name)
        made.append(client)
        return client

    yield make
    await asyncio.gather(*(client.close() for client in made))


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    """Poll ``predicate`` until true; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await predicate():
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


async def meeting_in_progress(
    clients: Callable[[str, str], NodeClient], entries: list[NodeProcess], room: str
) -> dict[str, Any]:
    """A host and three participants (entering through different nodes) with
    raised hands, a poll with votes and chat; returns them and what they did."""
    host = clients(entries[0].url, "Hana")
    await host.join(room)
    people = [
        clients(entries[i % len(entries)].url, n) for i, n in enumerate(("Ben", "Cleo", "Gus"))
    ]
    for person in people:
        await person.join(room)
    ben, cleo, gus = people
    await ben.call("raise_hand")
    await cleo.call("raise_hand")
    poll = (await host.call("poll_create", {"question": "Ship it?", "options": ["Yes", "No"]}))[
        "poll"
    ]
    await host.call("poll_launch", {"poll_id": poll["poll_id"]})
    yes, no = (option["id"] for option in poll["options"])
    await ben.call("poll_vote", {"poll_id": poll["poll_id"], "option_ids": [yes]})
    await cleo.call("poll_vote", {"poll_id": poll["poll_id"], "option_ids": [no]})
    await gus.call("poll_vote", {"poll_id": poll["poll_id"], "option_ids": [yes]})
    await host.call("chat_send", {"text": "before the fault"})
    await host.call("set_role", {"participant_id": ben.participant_id, "role": "co_host"})
    return {
        "host": host,
        "ben": ben,
        "cleo": cleo,
        "gus": gus,
        "poll_id": poll["poll_id"],
        "yes": yes,
        "no": no,
    }


def poll_counts(meeting: dict[str, Any], poll_id: str) -> dict[str, int]:
    poll = next(p for p in meeting["polls"] if p["poll_id"] == poll_id)
    return {row["id"]: row["votes"] for row in poll["results"]["options"]}


async def test_kill_9_of_the_hosting_node_the_meeting_comes_back_on_a_live_node(
    start_nodes: StartNodes, clients: Callable[[str, str], NodeClient]
) -> None:
    a, b, c = await start_nodes("node-a", "node-b", "node-c")
    meeting = await meeting_in_progress(clients, [c, b, a], "standup")
    host, ben, cleo, gus = (meeting[k] for k in ("host", "ben", "cleo", "gus"))
    hosting_name = await room_node(c, "standup")
    nodes = {"node-a": a, "node-b": b, "node-c": c}
    hosting = nodes.pop(hosting_name)
    survivor = next(iter(nodes.values()))
    ids = {client.name: client.participant_id for client in (host, ben, cleo, gus)}
    await host.wait_for(lambda: len(host.of("hands_changed")) >= 2)
    hands_before = [h["participant_id"] for h in host.of("hands_changed")[-1]["hands"]]
    assert hands_before == [ids["Ben"], ids["Cleo"]]

    gus.vanish()  # Gus's laptop dies with the node: he never comes back
    hosting.kill()
    killed_at = time.monotonic()

    async def taken_over() -> bool:
        return await room_node(survivor, "standup") not in (None, hosting_name)

    took = await until(taken_over, 10, "a live node hosts the room again")
    print(f"takeover after {took:.1f} s")
    assert time.monotonic() - killed_at <= 10

    # Everybody else reconnects by themselves, into their own place.
    await asyncio.gather(*(c.wait_rejoined(timeout=20) for c in (host, ben, cleo)))
    for client in (host, ben, cleo):
        assert client.participant_id == ids[client.name]
        assert client.url != hosting.url
        meeting_now = client.meeting
        assert [h["participant_id"] for h in meeting_now["hands"]] == hands_before
        assert [m["text"] for m in meeting_now["chat"]] == ["before the fault"]
    assert host.meeting["role"] == "host" and ben.meeting["role"] == "co_host"
    status, report = await http(
        b.url, "GET", f"/api/v1/meetings/{host.meeting['meeting_id']}/report"
    )
    assert status == 200
    votes = {row["id"]: row["votes"] for row in report["polls"][0]["results"]["options"]}
    assert votes == {meeting["yes"]: 2, meeting["no"]: 1}

    # Gus is a ghost for the reconnect grace at most, then he is gone everywhere.
    left = await host_sees_left(host, ids["Gus"], timeout=15)
    assert left["reason"] == "timeout"
    status, info = await http(survivor.url, "GET", "/api/v1/rooms/standup")
    assert status == 200
    assert sorted(p["name"] for p in info["participants"]) == ["Ben", "Cleo", "Hana"]
    assert all(p["connected"] for p in info["participants"])
    assert hosting_name not in await registry(survivor)

    # The meeting goes on: the next action works and everybody sees it.
    await cleo.call("lower_hand")
    await ben.wait_for(
        lambda: any(
            [h["participant_id"] for h in e["hands"]] == [ids["Ben"]]
            for e in ben.of("hands_changed")
        )
    )
    await cleo.call("poll_vote", {"poll_id": meeting["poll_id"], "option_ids": [meeting["yes"]]})


async def host_sees_left(client: NodeClient, participant_id: str, timeout: float) -> Any:
    def seen() -> list[Any]:
        return [e for e in client.of("participant_left") if e["participant_id"] == participant_id]

    await client.wait_for(seen, timeout)
    return seen()[-1]


async def test_sigterm_drains_a_node_its_meeting_moves_and_it_leaves_the_registry(
    start_nodes: StartNodes, clients: Callable[[str, str], NodeClient]
) -> None:
    a, b = await start_nodes("node-a", "node-b", CONF_DRAIN_SECONDS="2")
    meeting = await meeting_in_progress(clients, [a, b], "review")
    host, ben = meeting["host"], meeting["ben"]
    hosting_name = await room_node(a, "review")
    hosting, other = (a, b) if hosting_name == "node-a" else (b, a)
    ids = {meeting[k].name: meeting[k].participant_id for k in ("host", "ben", "cleo", "gus")}
    await host.wait_for(lambda: len(host.of("hands_changed")) >= 2)
    hands_before = [h["participant_id"] for h in host.of("hands_changed")[-1]["hands"]]

    hosting.terminate()

    async def draining() -> bool:
        status, body = await http(hosting.url, "GET", "/readyz")
        return status == 503 and body["status"] == "draining"

    await until(draining, 3, "the draining node says it is not ready")
    # No new rooms while draining: a new meeting entered through it goes elsewhere.
    newcomer = clients(hosting.url, "Nia")
    await newcomer.join("fresh-room")
    assert newcomer.url == other.url and await room_node(other, "fresh-room") == other.name

    # After the drain deadline the meeting moves, and everybody follows it.
    clients_in_room = [meeting[k] for k in ("host", "ben", "cleo", "gus")]
    await asyncio.gather(*(c.wait_rejoined(timeout=15) for c in clients_in_room))
    for client in clients_in_room:
        assert client.of("room_moved")[-1]["url"] == other.url
        assert client.url == other.url
        assert client.participant_id == ids[client.name]
        assert [h["participant_id"] for h in client.meeting["hands"]] == hands_before
    assert ben.meeting["role"] == "co_host"
    assert await room_node(other, "review") == other.name
    assert await hosting.wait_exit(15) == 0
    assert hosting.name not in await registry(other)
    # Nobody was reported as having left.
    assert host.of("participant_left") == []


async def test_redis_down_for_15_s_store_actions_fail_clearly_then_everything_resumes(
    start_nodes: StartNodes, clients: Callable[[str, str], NodeClient], redis: RedisServer
) -> None:
    a, b = await start_nodes("node-a", "node-b")
    meeting = await meeting_in_progress(clients, [a, b], "planning")
    host, cleo = meeting["host"], meeting["cleo"]
    hosting_name = await room_node(a, "planning")

    redis.pause()  # Redis stops answering; connections stay open
    try:
        await asyncio.sleep(1)
        for node in (a, b):
            assert (await http(node.url, "GET", "/healthz"))[0] == 200
            status, body = await http(node.url, "GET", "/readyz")
            assert status == 503 and body["status"] == "unavailable"
        started = time.monotonic()
        error = await host.error_of("chat_send", {"text": "while Redis is away"})
        assert error["code"] == "store_unavailable" and error["retry_after"] > 0
        assert time.monotonic() - started < 5
        error = await cleo.error_of("lower_hand")
        assert error["code"] == "store_unavailable"
        stranger = clients(b.url, "Sam")
        with pytest.raises(Exception, match="store_unavailable"):
            await stranger.join("planning")
        # Events that need no store still reach the room (they skip Redis).
        await cleo.call("mute", {"source": "microphone", "muted": True})
        await host.wait_for(
            lambda: host.participants.get(cleo.participant_id, {}).get("audio_muted") is True
        )
        await asyncio.sleep(max(0.0, 15 - (time.monotonic() - started)))
    finally:
        redis.resume()

    async def ready_again() -> bool:
        return all([(await http(n.url, "GET", "/readyz"))[0] == 200 for n in (a, b)])

    await until(ready_again, 10, "both nodes are ready again")
    # Nothing was lost and nothing was taken over by mistake.
    assert await room_node(a, "planning") == hosting_name
    assert host.rejoins == 0 and cleo.rejoins == 0
    await host.call("chat_send", {"text": "after the outage"})
    await cleo.call("lower_hand")
    late = clients(b.url, "Lea")
    ack = await late.join("planning", retry_for=10)
    assert [m["text"] for m in ack["meeting"]["chat"]] == ["before the fault", "after the outage"]
    assert [h["participant_id"] for h in ack["meeting"]["hands"]] == [meeting["ben"].participant_id]
    status, report = await http(
        b.url, "GET", f"/api/v1/meetings/{host.meeting['meeting_id']}/report"
    )
    assert status == 200
    votes = {row["id"]: row["votes"] for row in report["polls"][0]["results"]["options"]}
    assert votes == {meeting["yes"]: 2, meeting["no"]: 1}


async def test_a_hosted_room_missing_from_the_directory_is_claimed_back(
    start_nodes: StartNodes, clients: Callable[[str, str], NodeClient], redis: RedisServer, prefix
) -> None:
    # A release racing a join can leave a room hosted with no directory entry;
    # the hosting node must repair that before another node places it too.
    a, b = await start_nodes("node-a", "node-b")
    ada = clients(a.url, "Ada")
    await ada.join("kept")
    assert await room_node(b, "kept") == "node-a"
    direct = Redis.from_url(redis.url, decode_responses=True)
    try:
        await direct.hdel(f"{prefix}room-node", "kept")
    finally:
        await direct.aclose()

    async def repaired() -> bool:
        return await room_node(b, "kept") == "node-a"

    await until(repaired, 3, "node-a claims its room back")
    bob = clients(b.url, "Bob")
    await bob.join("kept")
    assert bob.url == a.url and ada.participant_id in bob.participants


async def test_a_client_cannot_spoof_the_forwarding_header(
    start_nodes: StartNodes, clients: Callable[[str, str], NodeClient]
) -> None:
    a, b = await start_nodes("node-a", "node-b")
    ada = clients(a.url, "Ada")
    await ada.join("spoof")
    meeting_id = ada.meeting["meeting_id"]
    path = f"/api/v1/meetings/{meeting_id}"
    fake = {"X-Conf-Forwarded-By": "node-a.0123456789abcdef"}
    # With a made-up header node b still asks node a, which has the roster.
    status, body = await http(b.url, "GET", path, headers=fake)
    assert status == 200 and [p["name"] for p in body["participants"]] == ["Ada"]
    status, body = await http(
        b.url, "POST", f"{path}/recording", json={"action": "start"}, headers=fake
    )
    assert status == 200 and body["recording"]["state"] == "recording"
