"""Deployments of real ``conf-server`` processes sharing a real ``redis-server``:
rooms go to the least-loaded node and live on exactly one; the REST API
answers the same from every node; a room's state stays consistent for
clients that entered through different nodes; media never crosses nodes; and
``--workers 2`` runs two nodes behind one shared port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from deployment import (
    NodeClient,
    NodeProcess,
    Workers,
    alive,
    http,
    metric,
    registry,
    room_node,
    until,
)
from media_node_client import MediaNodeClient
from media_peers import CounterVideoTrack, collect_counters, is_increasing
from redis_server import RedisServer

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]  # the start_nodes fixture


async def registry_at(url: str) -> dict[str, Any]:
    """The node registry as the node(s) behind ``url`` see it."""
    status, body = await http(url, "GET", "/api/v1/admin/nodes")
    assert status == 200, body
    return {entry["name"]: entry for entry in body["nodes"]}


async def registry_has(node: NodeProcess | str, names: list[str]) -> bool:
    url = node if isinstance(node, str) else node.url
    try:
        return set(await registry_at(url)) >= set(names)
    except Exception:  # not up yet
        return False


def names_of(participants: list[dict[str, Any]]) -> list[str]:
    return sorted(p["name"] for p in participants)


# -- 1. placement -----------------------------------------------------------------------


async def test_new_rooms_go_to_the_least_loaded_node_and_live_on_exactly_one(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b, c = await start_nodes("node-a", "node-b", "node-c")
    nodes = (a, b, c)

    def client(entry: NodeProcess, name: str) -> NodeClient:
        made = NodeClient(entry.url, name)
        clients.append(made)
        return made

    # An empty deployment: the tie goes by name, so the first room lands on node-a.
    first = [client(a, f"A{i}") for i in range(3)]
    for member in first:
        await member.join("busy")
        assert member.redirects == []
    for node in nodes:
        assert await room_node(node, "busy") == "node-a"

    # node-a now has 3 participants: a room entered through node-a goes elsewhere.
    newcomer = client(a, "Nina")
    await newcomer.join("fresh")
    assert newcomer.redirects == [b.url]
    assert newcomer.url == b.url
    for node in nodes:
        assert await room_node(node, "fresh") == "node-b"

    # After a heartbeat every node's registry shows the load.
    async def loads_shown() -> bool:
        for node in nodes:
            seen = await registry(node)
            load = {name: (seen[name]["rooms"], seen[name]["participants"]) for name in seen}
            if load != {"node-a": (1, 3), "node-b": (1, 1), "node-c": (0, 0)}:
                return False
        return True

    await until(loads_shown, timeout=5)
    status, body = await http(c.url, "GET", "/api/v1/admin/nodes")
    assert status == 200
    assert body["this_node"] == "node-c"
    assert body["rooms"] == {"busy": "node-a", "fresh": "node-b"}

    # Three people enter one new room at once, each through another node: the room
    # lands on one node (the least-loaded, node-c) and they all meet there.
    trio = [client(entry, f"T-{entry.name}") for entry in nodes]
    await asyncio.gather(*(member.join("together") for member in trio))
    for node in nodes:
        assert await room_node(node, "together") == "node-c"
    assert {member.url for member in trio} == {c.url}
    for member in trio:
        await member.wait_for(lambda member=member: len(member.participants) == 3)
        assert names_of(list(member.participants.values())) == [
            "T-node-a",
            "T-node-b",
            "T-node-c",
        ]
    status, info = await http(a.url, "GET", "/api/v1/rooms/together")
    assert names_of(info["participants"]) == ["T-node-a", "T-node-b", "T-node-c"]


# -- 2. REST from any node --------------------------------------------------------------


async def test_rest_answers_the_same_from_a_node_that_does_not_host_the_room(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b")
    ann, bob = NodeClient(b.url, "Ann"), NodeClient(a.url, "Bob")
    clients.extend([ann, bob])
    await ann.join("rest")
    await bob.join("rest")
    assert await room_node(a, "rest") == "node-a"  # so node-b does not host it
    await ann.wait_for(lambda: len(ann.participants) == 2)
    meeting_id = ann.meeting["meeting_id"]

    status_a, room_a = await http(a.url, "GET", "/api/v1/rooms/rest")
    status_b, room_b = await http(b.url, "GET", "/api/v1/rooms/rest")
    assert (status_a, status_b) == (200, 200)
    assert names_of(room_b["participants"]) == ["Ann", "Bob"]
    assert room_b == room_a
    assert room_b["meeting_id"] == meeting_id

    status_a, meeting_a = await http(a.url, "GET", f"/api/v1/meetings/{meeting_id}")
    status_b, meeting_b = await http(b.url, "GET", f"/api/v1/meetings/{meeting_id}")
    assert (status_a, status_b) == (200, 200)
    assert meeting_b["state"] == "live"
    assert names_of(meeting_b["participants"]) == ["Ann", "Bob"]
    assert meeting_b["participants"] == meeting_a["participants"]
    assert meeting_b["recording"] is None

    path = f"/api/v1/meetings/{meeting_id}/recording"
    status, body = await http(b.url, "POST", path, json={"action": "start"})
    assert status == 200, body
    assert body["recording"]["state"] == "recording"
    for member in (ann, bob):
        await member.wait_for(lambda member=member: member.of("recording_changed"))
        change = member.of("recording_changed")[-1]
        assert change["recording"]["state"] == "recording"
        assert change["by"] == "api"
    status, meeting_a = await http(a.url, "GET", f"/api/v1/meetings/{meeting_id}")
    assert meeting_a["recording"]["state"] == "recording"

    status, body = await http(b.url, "POST", path, json={"action": "stop"})
    assert status == 200, body
    assert body["recording"] is None
    for member in (ann, bob):
        await member.wait_for(lambda member=member: len(member.of("recording_changed")) == 2)
        assert member.of("recording_changed")[-1]["recording"] is None
    status, meeting_b = await http(b.url, "GET", f"/api/v1/meetings/{meeting_id}")
    assert meeting_b["recording"] is None


# -- 3. consistency ---------------------------------------------------------------------


async def test_forty_clients_through_two_nodes_see_one_consistent_meeting(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b")
    entries = (a, b)
    people = [NodeClient(entries[i % 2].url, f"P{i:02d}") for i in range(40)]
    clients.extend(people)
    host, rest = people[0], people[1:]
    await host.join("crowd")
    assert host.meeting["role"] == "host"
    await asyncio.gather(*(person.join("crowd") for person in rest))
    hosting = await room_node(a, "crowd")
    assert {person.url for person in people} == {next(n.url for n in entries if n.name == hosting)}
    for person in people:
        await person.wait_for(lambda person=person: len(person.participants) == 40, timeout=10)

    # One poll, 40 concurrent votes: the tally is exact.
    poll = (await host.call("poll_create", {"question": "Lunch?", "options": ["A", "B", "C"]}))[
        "poll"
    ]
    poll_id = poll["poll_id"]
    await host.call("poll_launch", {"poll_id": poll_id})
    choice = {person.name: f"o{i % 3 + 1}" for i, person in enumerate(people)}
    await asyncio.gather(
        *(
            person.call("poll_vote", {"poll_id": poll_id, "option_ids": [choice[person.name]]})
            for person in people
        )
    )
    await host.call("poll_close", {"poll_id": poll_id})
    expected = {option: list(choice.values()).count(option) for option in ("o1", "o2", "o3")}

    def closed_results() -> dict[str, Any] | None:
        for data in reversed(host.of("poll_changed")):
            if data["poll"]["poll_id"] == poll_id and data["poll"]["state"] == "closed":
                return data["poll"]["results"]  # type: ignore[no-any-return]
        return None

    await host.wait_for(lambda: closed_results() is not None)
    results = closed_results()
    assert results is not None
    assert results["voters"] == 40
    assert {row["id"]: row["votes"] for row in results["options"]} == expected

    # Ten hands go up at once: everybody sees the same line.
    raisers = people[5:15]
    await asyncio.gather(*(person.call("raise_hand") for person in raisers))

    def line(person: NodeClient) -> list[dict[str, Any]]:
        seen = person.of("hands_changed")
        return seen[-1]["hands"] if seen else []  # type: ignore[no-any-return]

    for person in people:
        await person.wait_for(lambda person=person: len(line(person)) == 10)
    lines = {tuple(hand["participant_id"] for hand in line(person)) for person in people}
    assert len(lines) == 1, lines
    assert set(lines.pop()) == {person.participant_id for person in raisers}
    hands = line(host)
    assert [hand["position"] for hand in hands] == list(range(1, 11))
    stamps = [hand["raised_at"] for hand in hands]
    assert stamps == sorted(stamps)  # the server's order: when each raise arrived

    # The host makes someone co-host: everybody sees the new role.
    promoted = people[21]
    await host.call("set_role", {"participant_id": promoted.participant_id, "role": "co_host"})
    for person in people:
        await person.wait_for(
            lambda person=person: (
                person.participants.get(promoted.participant_id, {}).get("role") == "co_host"
            )
        )
    await promoted.wait_for(lambda: promoted.of("meeting_state"))
    assert promoted.of("meeting_state")[-1]["meeting"]["role"] == "co_host"


# -- 4. media never crosses nodes -------------------------------------------------------


async def test_media_stays_on_the_node_that_hosts_the_room(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b, c = await start_nodes("node-a", "node-b", "node-c")
    # Room "one" is entered through node-b and lands on node-a; room "two" is
    # entered through node-a and lands on node-b (node-a is busier); node-c
    # hosts nothing.
    one = [MediaNodeClient(b.url, f"One{i}") for i in range(2)]
    two = [MediaNodeClient(a.url, f"Two{i}") for i in range(2)]
    clients.extend(one + two)
    for member in one:
        await member.join("one")
    for member in two:
        await member.join("two")
    assert await room_node(c, "one") == "node-a"
    assert await room_node(c, "two") == "node-b"
    assert [m.redirects for m in one] == [[a.url], [a.url]]
    assert [m.redirects for m in two] == [[b.url], [b.url]]

    for member in one + two:
        await member.publish({"camera": CounterVideoTrack()})
    for room in (one, two):
        for member in room:
            other = next(m for m in room if m is not member)
            await member.wait_for(
                lambda member=member, other=other: (
                    member.track_of(other.participant_id, "camera") is not None
                ),
                timeout=15,
            )
            track = member.track_of(other.participant_id, "camera")
            counters = await collect_counters(track, 10, timeout=15)
            assert is_increasing(counters), counters

    pages = {}
    for node in (a, b, c):
        status, pages[node.name] = await http(node.url, "GET", "/metrics")
        assert status == 200
    for name in ("node-a", "node-b"):
        page = pages[name]
        assert metric(page, "conf_rtp_packets_forwarded_total") > 0, name
        assert metric(page, "conf_rtp_packets_received_total") > 0, name
        # Just its own room: 2 participants, each publishing one camera the other
        # receives; 2 publish + 2 subscribe peer connections.
        assert metric(page, "conf_rooms") == 1, name
        assert metric(page, "conf_participants") == 2, name
        assert metric(page, "conf_producers") == 2, name
        assert metric(page, "conf_consumers") == 2, name
        assert metric(page, "conf_peer_connections") == 4, name
    idle = pages["node-c"]
    assert metric(idle, "conf_rtp_packets_forwarded_total") == 0
    assert metric(idle, "conf_rtp_packets_received_total") == 0
    assert metric(idle, "conf_peer_connections") == 0
    assert metric(idle, "conf_participants") == 0


# -- 5. --workers 2 ---------------------------------------------------------------------


@pytest.fixture
async def workers(tmp_path: Path, redis: RedisServer, prefix: str) -> AsyncIterator[Workers]:
    started = Workers(tmp_path, redis.url, prefix)
    try:
        await started.wait_ready()
        yield started
    finally:
        started.stop()


async def test_workers_share_one_port_and_stop_together(
    clients: list[Any], workers: Workers
) -> None:
    entry, node_url = workers.entry, workers.node_url
    assert len(workers.children) == 2, workers.children
    seen = await registry_at(entry)
    assert {name: info["url"] for name, info in seen.items()} == node_url
    assert {name: info["relay"] for name, info in seen.items()} == {
        "w-1": f"127.0.0.1:{workers.relay_port}",
        "w-2": f"127.0.0.1:{workers.relay_port + 1}",
    }

    def client(url: str, name: str) -> NodeClient:
        made = NodeClient(url, name)
        clients.append(made)
        return made

    first = [client(entry, f"F{i}") for i in range(3)]
    for member in first:
        await member.join("first")
    status, info = await http(entry, "GET", "/api/v1/rooms/first")
    first_node = info["node"]
    assert first_node in node_url

    async def load_shown() -> bool:
        return bool((await registry_at(entry))[first_node]["participants"] == 3)

    await until(load_shown, timeout=5)
    second = [client(entry, f"S{i}") for i in range(3)]
    for member in second:
        await member.join("second")
    status, info = await http(entry, "GET", "/api/v1/rooms/second")
    second_node = info["node"]
    assert {first_node, second_node} == {"w-1", "w-2"}

    # Someone entering through the other worker's own port is sent over.
    late = client(node_url[second_node], "Late")
    await late.join("first")
    assert late.redirects == [node_url[first_node]]
    assert late.url == node_url[first_node]

    for members, node in ((first, first_node), (second, second_node)):
        for member in members:
            # Through the shared port a client reaches either worker; one that
            # reached the wrong one is sent to its room's worker's own port.
            assert member.redirects in ([], [node_url[node]]), member.redirects
            assert member.url in (entry, node_url[node])
    for room, count in (("first", 4), ("second", 3)):
        for url in (entry, *node_url.values()):
            status, info = await http(url, "GET", f"/api/v1/rooms/{room}")
            assert status == 200
            assert len(info["participants"]) == count, (room, url, info)

    # Everyone leaves; SIGTERM to the parent stops both workers and the parent.
    for made in clients:
        await made.close()
    assert await workers.terminate(within=10) == 0, workers.log()
    assert not any(alive(pid) for pid in workers.children)
    for url in (entry, *node_url.values()):
        assert not await answers(url), f"{url} still answers"


async def answers(url: str) -> bool:
    try:
        await http(url, "GET", "/healthz")
    except (OSError, aiohttp.ClientError):
        return False
    return True


async def test_workers_stop_within_seconds_of_sigterm_during_a_meeting(
    clients: list[Any], workers: Workers
) -> None:
    people = [NodeClient(workers.entry, f"P{i}") for i in range(2)]
    clients.extend(people)
    for person in people:
        await person.join("ongoing")
        person.auto_rejoin = False
    # drain_seconds is 2 (FAST_CLUSTER): the meeting ends 2 s after the signal.
    assert await workers.terminate(within=10) == 0, workers.log()
    assert not any(alive(pid) for pid in workers.children)
    for person in people:
        reasons = [d.get("reason") for d in person.of("participant_left")]
        assert "server_shutdown" in reasons or person.sio is None
