"""One room across processes (issue 17, point 3): real ``conf-server`` nodes
with media relays sharing a real ``redis-server``; a room whose participants
sit on two nodes (``room_span_load`` 2: a node with two participants sends
newcomers to another node). Everybody sees everybody and their events; host
actions reach participants of the other node; real aiortc participants on
each node receive every other participant's frames and tones, and each
published track crosses once per remote node (``/metrics``)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from deployment import NodeClient, NodeProcess, Workers, http, metric, until
from media_node_client import MediaNodeClient
from media_peers import (
    CounterVideoTrack,
    ToneAudioTrack,
    collect_counters,
    dominant_frequency,
    is_increasing,
)
from spanning_support import (
    SPANNING,
    TONES,
    BandwidthPauses,
    assert_media_kept,
    equals,
    failure_scene,
    join_in_turn,
    metrics,
    participants_of,
    rejoin,
    worker_pid,
)

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]

# -- roster, events and host actions across two nodes ---------------------------------


async def test_a_room_spans_two_nodes_and_everybody_sees_everybody(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    people = [NodeClient(a.url, name) for name in ("Ada", "Bob", "Cy", "Dee")]
    clients.extend(people)
    ada, bob, cy, dee = people
    await join_in_turn(people, "big", [a.url, b.url])
    # Ada and Bob fill node-a; Cy and Dee go to node-b, a satellite of the room.
    assert [p.url for p in people] == [a.url, a.url, b.url, b.url]
    for node in (a, b):
        status, body = await http(node.url, "GET", "/api/v1/rooms/big")
        assert status == 200
        assert body["node"] == "node-a"
        assert sorted(p["name"] for p in body["participants"]) == ["Ada", "Bob", "Cy", "Dee"]
    status, body = await http(a.url, "GET", "/api/v1/admin/nodes")
    assert body["rooms"] == {"big": "node-a"}

    # Everybody's roster has everybody (the last one from its join, the
    # others from participant_joined, across nodes too).
    async def all_seen() -> bool:
        return all(len(p.participants) == 4 for p in people)

    await until(all_seen)
    for person in people:
        assert sorted(p["name"] for p in person.participants.values()) == [
            "Ada",
            "Bob",
            "Cy",
            "Dee",
        ]
    # Only node-a's two and node-b's two are counted where they are.
    assert await participants_of(a.url) == 2
    assert await participants_of(b.url) == 2

    # Hands and chat: state in the store, events to every node.
    await dee.call("raise_hand")
    for person in people:
        await person.wait_event("hands_changed", lambda d: len(d["hands"]) == 1, timeout=5)
    await ada.call("chat_send", {"text": "hello from node-a"})
    for person in people:
        await person.wait_event(
            "chat_message", lambda d: d["message"]["text"] == "hello from node-a", timeout=5
        )

    # Ada is the host (she opened the room): she mutes Cy on the other node.
    await ada.call("mute_participant", {"participant_id": cy.participant_id, "lock": False})
    await cy.wait_event("muted_by_host", lambda d: d["source"] == "microphone", timeout=5)
    for person in people:
        await person.wait_for(
            lambda person=person: person.participants[cy.participant_id]["audio_muted"], timeout=5
        )

    # A co-host on node-b gets the role on every node's roster.
    await ada.call("set_role", {"participant_id": dee.participant_id, "role": "co_host"})
    for person in people:
        await person.wait_for(
            lambda person=person: person.participants[dee.participant_id]["role"] == "co_host",
            timeout=5,
        )

    # Ada removes Cy: node-b removes its participant; everybody hears it.
    cy.auto_rejoin = False
    await ada.call("remove_participant", {"participant_id": cy.participant_id})
    await cy.wait_event("removed", timeout=5)
    for person in (ada, bob, dee):
        await person.wait_for(
            lambda person=person: cy.participant_id not in person.participants, timeout=5
        )
    await until(lambda: equals(participants_of(b.url), 1))

    # Dee leaves: node-b hosts nobody of the room any more and lets it go.
    await dee.call("leave")
    dee.auto_rejoin = False
    for person in (ada, bob):
        await person.wait_for(
            lambda person=person: dee.participant_id not in person.participants, timeout=5
        )

    async def a_alone() -> bool:
        _, body = await http(a.url, "GET", "/api/v1/rooms/big")
        return sorted(p["name"] for p in body["participants"]) == ["Ada", "Bob"]

    await until(a_alone)
    assert metric(await metrics(b.url), "conf_spanning_rooms") == 0


# -- media across two workers --------------------------------------------------------


async def test_with_two_workers_every_participant_gets_every_other_ones_media(
    spanning_workers: Workers, clients: list[Any]
) -> None:
    workers = spanning_workers
    people = [MediaNodeClient(workers.entry, name) for name in TONES]
    clients.extend(people)
    nodes = list(workers.node_url.values())
    await join_in_turn(people, "hybrid", nodes)
    # Two people on each worker (whichever the shared port gave them first).
    assert [await participants_of(url) for url in nodes] == [2, 2]

    for person in people:
        await person.publish(
            {"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(TONES[person.name])}
        )
    for person in people:
        for other in people:
            if other is person:
                continue
            await person.wait_for(
                lambda person=person, other=other: (
                    person.track_of(other.participant_id, "camera") is not None
                    and person.track_of(other.participant_id, "microphone") is not None
                ),
                timeout=20,
            )
            counters = await collect_counters(
                person.track_of(other.participant_id, "camera"), 10, timeout=20
            )
            assert is_increasing(counters), (person.name, other.name, counters)
            frequency = await dominant_frequency(
                person.track_of(other.participant_id, "microphone"), seconds=0.5, timeout=20
            )
            assert abs(frequency - TONES[other.name]) < 30, (person.name, other.name, frequency)

    # Each worker publishes 2 people's 2 tracks, each sent once to the other
    # worker, whatever the number of subscribers there; it gets as many.
    for url in nodes:
        page = await metrics(url)
        assert metric(page, "conf_relay_tracks_out") == 4, url
        assert metric(page, "conf_relay_tracks_in") == 4, url
        assert metric(page, "conf_relay_rtp_packets_sent_total") > 0, url
        assert metric(page, "conf_relay_datagrams_rejected_total") == 0, url
        assert metric(page, "conf_participants") == 2, url


# -- a node of a spanning room dies -----------------------------------------------------


async def after_failure(
    rejoined: list[tuple[MediaNodeClient, dict[str, Any]]],
    old: list[MediaNodeClient],
    watching: list[Any],
    killed_at: float,
    pauses: BandwidthPauses,
) -> None:
    """The rejoined have their place and Bob's hand back; Ada's new camera
    reaches Cy; Cy and Dee never lost 1 s of each other's video."""
    ada, bob, cy, _ = old
    for before, (new, ack) in zip(old, rejoined, strict=False):
        assert ack["resumed"] is True
        assert new.participant_id == before.participant_id  # their own place back
    hands = [h["participant_id"] for h in rejoined[0][1]["meeting"]["hands"]]
    assert hands == [bob.participant_id]
    await rejoined[0][0].publish({"camera": CounterVideoTrack()})
    await cy.wait_for(
        lambda: any(
            info["participant_id"] == ada.participant_id and info["source"] == "camera"
            for info in cy.tracks.values()
        ),
        timeout=20,
    )
    counters = await collect_counters(cy.track_of(ada.participant_id, "camera"), 10, timeout=20)
    assert is_increasing(counters)
    *clocks, lag = watching
    assert_media_kept(clocks, lag, killed_at, "the other node's", pauses)


async def test_kill_9_of_the_owner_its_people_rejoin_on_the_other_node_which_keeps_its_media(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    # Everybody enters through node-b: Ada and Bob are placed on node-a (the
    # tie goes by name), Cy and Dee on node-b, a satellite of the room.
    people = [MediaNodeClient(b.url, name) for name in TONES]
    clients.extend(people)
    watching = await failure_scene(people, "crash", [a.url, b.url])
    pauses = BandwidthPauses(b.url)

    killed_at = time.monotonic()
    a.kill()
    rejoined = [await rejoin(b.url, old, "crash", within=10) for old in people[:2]]
    clients.extend(client for client, _ in rejoined)
    took = time.monotonic() - killed_at
    assert took < 10, took
    assert all(client.base_url == b.url for client, _ in rejoined)
    status, body = await http(b.url, "GET", "/api/v1/rooms/crash")
    assert status == 200 and body["node"] == "node-b"
    assert sorted(p["name"] for p in body["participants"]) == ["Ada", "Bob", "Cy", "Dee"]
    await after_failure(rejoined, people, watching, killed_at, pauses)
    assert metric(await metrics(b.url), "conf_participants") == 4


async def test_with_two_workers_kill_9_of_one_its_people_rejoin_within_10_s(
    spanning_workers: Workers, clients: list[Any]
) -> None:
    workers = spanning_workers
    first, second = workers.node_url["w-1"], workers.node_url["w-2"]
    # Ada and Bob on w-1 (the owner), Cy and Dee on w-2 (a satellite).
    people = [
        MediaNodeClient(url, name)
        for url, name in zip((first, first, second, second), TONES, strict=True)
    ]
    clients.extend(people)
    watching = await failure_scene(people, "workers", [first, second])
    pauses = BandwidthPauses(second)

    killed_at = time.monotonic()
    # The parent starts w-1 again under its name: Ada and Bob get their place
    # back from it, or from w-2 if w-1 took longer than the registry's TTL.
    os.kill(worker_pid(workers, "w-1"), signal.SIGKILL)
    rejoined = [await rejoin(workers.entry, old, "workers", within=10) for old in people[:2]]
    clients.extend(client for client, _ in rejoined)
    took = time.monotonic() - killed_at
    assert took < 10, took
    await after_failure(rejoined, people, watching, killed_at, pauses)
    totals = [metric(await metrics(url), "conf_participants") for url in (first, second)]
    assert sum(totals) == 4, totals


async def test_the_owner_records_the_tracks_of_the_other_nodes_people(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    people = [MediaNodeClient(b.url, name) for name in TONES]
    clients.extend(people)
    ada, _bob, cy, _dee = people
    # Nobody receives: the recorder on node-a is the only subscriber that matters.
    await join_in_turn(people, "recorded", [a.url, b.url], receive=[False] * 4)
    assert [p.base_url for p in people] == [a.url, a.url, b.url, b.url]
    ack = await ada.call("recording", {"action": "start"})  # Ada: the host, on node-a
    assert ack["recording"]["state"] == "recording"
    for person in (ada, cy):
        await person.publish(
            {"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(TONES[person.name])}
        )
    await asyncio.sleep(3.0)
    await ada.call("recording", {"action": "stop"})

    async def recorded() -> dict[str, Any] | None:
        _, listed = await http(a.url, "GET", "/api/v1/recordings")
        for summary in listed["recordings"]:
            _, record = await http(a.url, "GET", f"/api/v1/recordings/{summary['id']}")
            if record["state"] in ("processing", "ready"):
                return dict(record)
        return None

    record = None

    async def finished() -> bool:
        nonlocal record
        record = await recorded()
        return record is not None

    await until(finished, timeout=20)
    assert record is not None and record["node"] == "node-a"
    tracks = {(t["participant_id"], t["kind"]): t for t in record["tracks"]}
    # Cy's camera and microphone crossed from node-b and were recorded on node-a.
    for kind in ("audio", "video"):
        track = tracks[(cy.participant_id, kind)]
        assert track["duration"] > 1.0, track
        assert tracks[(ada.participant_id, kind)]["duration"] > 1.0
