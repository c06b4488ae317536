"""A node of a room that spans nodes goes away (issue 17, point 3): ``kill
-9`` of a satellite (its people come back on the owner with their places,
hands and roles, while the owner's people keep their media and see them
leave and return), and draining a satellite and then the owner (their
people move to a node that hosts the room and resume there). Real
``conf-server`` nodes with media relays, a real ``redis-server``, aiortc
peers and Socket.IO clients."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from deployment import NodeClient, NodeProcess, http, until
from media_node_client import MediaNodeClient
from media_peers import (
    CounterVideoTrack,
    collect_counters,
    is_increasing,
)
from spanning_support import (
    SPANNING,
    TONES,
    BandwidthPauses,
    assert_media_kept,
    failure_scene,
    join_in_turn,
    loads_shown,
    participants_of,
    rejoin,
)

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]


async def room_at(node: NodeProcess, room: str) -> dict[str, Any]:
    status, body = await http(node.url, "GET", f"/api/v1/rooms/{room}")
    assert status == 200, body
    return dict(body)


async def test_kill_9_of_a_satellite_its_people_come_back_on_the_owner_whose_media_goes_on(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    # Ada and Bob on node-a, the owner (camera and tone; they watch each
    # other); Cy and Dee on node-b, a satellite (a tone each, receiving
    # nothing). Bob's and Cy's hands are up; Dee is a co-host.
    people = [MediaNodeClient(a.url, name) for name in TONES]
    clients.extend(people)
    ada, bob, cy, dee = people
    *watching, lag = await failure_scene(people, "satellite", [a.url, b.url], watchers=0)
    pauses = BandwidthPauses(a.url)
    await cy.call("raise_hand")
    await ada.call("set_role", {"participant_id": dee.participant_id, "role": "co_host"})

    killed_at = time.monotonic()
    b.kill()
    # Once node-b's heartbeat has expired the owner keeps its people as
    # disconnected ones (the reconnect grace): Ada and Bob see them leave.
    for person in (ada, bob):
        await person.wait_for(
            lambda person=person: (
                not any(person.participants[p.participant_id]["connected"] for p in (cy, dee))
            ),
            timeout=10,
        )
    # They come back through node-a, with their resume tokens.
    rejoined = [await rejoin(a.url, old, "satellite", within=10) for old in (cy, dee)]
    clients.extend(client for client, _ in rejoined)
    assert time.monotonic() - killed_at < 10
    for old, (new, ack) in zip((cy, dee), rejoined, strict=True):
        assert new.base_url == a.url
        assert ack["resumed"] is True and new.participant_id == old.participant_id
    # Bob's and Cy's hands are still up; Dee is still co-host.
    (_, cy_ack), (_, dee_ack) = rejoined
    hands = [h["participant_id"] for h in cy_ack["meeting"]["hands"]]
    assert hands == [bob.participant_id, cy.participant_id]
    assert dee_ack["meeting"]["role"] == "co_host"
    # ... and Ada and Bob see them back.
    for person in (ada, bob):
        await person.wait_for(
            lambda person=person: all(
                person.participants[p.participant_id]["connected"] for p in (cy, dee)
            ),
            timeout=10,
        )
    body = await room_at(a, "satellite")
    assert body["node"] == "node-a"
    assert sorted(p["name"] for p in body["participants"]) == sorted(TONES)
    assert await participants_of(a.url) == 4
    # Cy's new camera reaches Ada (no relay in the way any more).
    new_cy = rejoined[0][0]
    await new_cy.publish({"camera": CounterVideoTrack()})
    await ada.wait_for(lambda: ada.track_of(cy.participant_id, "camera") is not None, timeout=20)
    counters = await collect_counters(ada.track_of(cy.participant_id, "camera"), 10, timeout=20)
    assert is_increasing(counters)

    # The owner's own people never lost each other's video meanwhile.
    assert_media_kept(watching, lag, killed_at, "the owner's own", pauses)


async def test_draining_a_satellite_and_then_the_owner_moves_their_people_to_the_room(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b, c = await start_nodes("node-a", "node-b", "node-c", **SPANNING)
    nodes = [a.url, b.url, c.url]
    people = [NodeClient(a.url, name) for name in ("Ada", "Bob", "Cy", "Dee")]
    clients.extend(people)
    ada, bob, cy, dee = people
    await join_in_turn(people, "moving", nodes)
    # node-a owns the room; node-b (next by name) hosts Cy and Dee.
    assert [p.url for p in people] == [a.url, a.url, b.url, b.url]
    await dee.call("raise_hand")
    await ada.call("set_role", {"participant_id": cy.participant_id, "role": "co_host"})
    ids = {p.name: p.participant_id for p in people}

    async def all_there(members: list[NodeClient]) -> None:
        for person in members:
            try:
                await person.wait_for(
                    lambda person=person: (
                        len(person.participants) == len(members)
                        and all(p["connected"] for p in person.participants.values())
                    ),
                    timeout=10,
                )
            except TimeoutError:
                seen = {p["name"]: p["connected"] for p in person.participants.values()}
                raise AssertionError(f"{person.name} sees {seen}") from None

    await all_there(people)

    # The satellite drains: Cy and Dee move to node-a, the room's other node,
    # and resume there (same places, hand and role kept).
    b.terminate()
    for person in (cy, dee):
        await person.wait_rejoined(timeout=20)
        assert person.url == a.url and person.participant_id == ids[person.name]
    assert await b.wait_exit() == 0
    await all_there(people)
    assert [h["participant_id"] for h in dee.meeting["hands"]] == [ids["Dee"]]
    assert cy.participants[ids["Cy"]]["role"] == "co_host"
    body = await room_at(a, "moving")
    assert body["node"] == "node-a" and len(body["participants"]) == 4
    await loads_shown([a.url, c.url], 4)

    # Eve comes (node-a is past its load): node-c becomes a satellite.
    eve = NodeClient(a.url, "Eve")
    clients.append(eve)
    await eve.join("moving")
    assert eve.url == c.url
    people.append(eve)
    await all_there(people)

    # The owner drains: it hands the room to node-c, where everybody resumes.
    before = {person.name: person.rejoins for person in people}
    a.terminate()
    for person in (ada, bob, cy, dee):
        await person.wait_rejoined(count=before[person.name] + 1, timeout=20)
    for person in people:
        await person.wait_for(lambda person=person: person.url == c.url, timeout=20)
        assert person.participant_id == ids.get(person.name, eve.participant_id)
    assert await a.wait_exit() == 0
    await all_there(people)
    body = await room_at(c, "moving")
    assert body["node"] == "node-c"
    assert sorted(p["name"] for p in body["participants"]) == ["Ada", "Bob", "Cy", "Dee", "Eve"]
    assert [h["participant_id"] for h in dee.meeting["hands"]] == [ids["Dee"]]
    assert ada.meeting["role"] == "host"

    async def all_on_c() -> bool:
        return await participants_of(c.url) == 5

    await until(all_on_c)
