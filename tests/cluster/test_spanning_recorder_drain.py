"""The node that records a room spanning nodes drains while it records
(issue 17, point 3): the room's owner hands the room to its satellite, its
people resume there, and the recording goes on there in a new part; the
first part is finalized. Real ``conf-server`` nodes with media relays, a
real ``redis-server``, an aiortc publisher; both parts decoded with PyAV."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from deployment import NodeClient, NodeProcess, http, metric, until
from media_node_client import MediaNodeClient
from media_peers import CounterVideoTrack, ToneAudioTrack, is_increasing
from spanning_support import (
    SPANNING,
    TONES,
    meeting_recordings,
    metrics,
    recorded_counters,
    recorded_file,
    recorded_tone,
    two_on_each,
)

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]

FINISHED = ("processing", "ready")
FPS = 30


async def listed_as(url: str, meeting_id: str, states: list[tuple[str, str]]) -> list[Any]:
    """The meeting's recordings once ``url`` lists them as ``states``
    ((node, state), oldest first; "finished": processing or ready)."""
    found: list[dict[str, Any]] = []

    async def listed() -> bool:
        found[:] = await meeting_recordings(url, meeting_id)
        return len(found) == len(states) and all(
            r["node"] == node and r["state"] in (FINISHED if state == "finished" else (state,))
            for r, (node, state) in zip(found, states, strict=True)
        )

    try:
        await until(listed, timeout=30)
    except AssertionError:
        raise AssertionError(f"recordings: {[(r['node'], r['state']) for r in found]}") from None
    return found


async def recorded_across_nodes(
    start_nodes: StartNodes, clients: list[Any], room: str
) -> tuple[NodeProcess, NodeProcess, list[Any], dict[str, Any]]:
    """Nodes a and b, and ``room`` spanning them, recorded by its owner a for
    2 s: through node-b, Ada (the host) and Bob go to node-a, the owner, Cy
    (camera with a frame counter, and tone) and Dee to node-b, a satellite,
    whose tracks node-a receives through the relay. Returns (a, b, [Ada, Bob,
    Cy, Dee], the recording's state as started)."""
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    people = await two_on_each(
        lambda _, name: (MediaNodeClient if name == "Cy" else NodeClient)(b.url, name),
        [a.url, b.url], room, clients, receive=[False] * 4,
    )  # fmt: skip
    ada, _, cy, dee = people
    await cy.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(TONES["Cy"])})

    async def relayed_to_a() -> bool:
        return metric(await metrics(a.url), "conf_relay_tracks_in") == 2

    await until(relayed_to_a, timeout=20)
    started: dict[str, Any] = (await ada.call("recording", {"action": "start"}))["recording"]
    assert started["state"] == "recording"
    await listed_as(a.url, dee.meeting["meeting_id"], [("node-a", "recording")])
    await asyncio.sleep(2.0)
    return a, b, people, started


def assert_parts_meet(tmp_path: Path, first: Any, second: Any, publisher: str) -> None:
    """node-a's part ``first`` and node-b's part ``second`` both hold the
    publisher's counter camera and tone, and no frame is missing between
    them (the second began before the first ended)."""
    counters = []
    for node, record in (("node-a", first), ("node-b", second)):
        video = recorded_counters(recorded_file(tmp_path / node, record, publisher, "video"))
        assert len(video) >= 2 * FPS and is_increasing(video), (node, video[:40])
        tone = recorded_tone(recorded_file(tmp_path / node, record, publisher, "audio"))
        assert abs(tone - TONES["Cy"]) < 30, (node, tone)
        counters.append(video)
    # Frames after the first part's last one, up to the second's first (mod
    # 256: the counter wraps every 8.5 s; below 0, the parts overlap).
    missing = (counters[1][0] - counters[0][-1] - 1 + 128) % 256 - 128
    print(f"frames missing between the parts: {missing}")
    assert missing <= 0, (counters[0][-5:], counters[1][:5])


async def test_the_recording_node_drains_and_the_recording_goes_on_on_the_other_node(
    start_nodes: StartNodes, clients: list[Any], tmp_path: Path
) -> None:
    a, b, people, started = await recorded_across_nodes(start_nodes, clients, "drained")
    ada, bob, _, dee = people
    ids = {p.name: p.participant_id for p in people}
    meeting_id = dee.meeting["meeting_id"]

    # node-a drains: after its drain time it hands the room to node-b.
    a.terminate()
    for person in (ada, bob):
        await person.wait_rejoined(timeout=20)
        assert person.url == b.url and person.participant_id == ids[person.name]
    assert await a.wait_exit() == 0
    _, room = await http(b.url, "GET", "/api/v1/rooms/drained")
    assert room["node"] == "node-b"
    # node-a finalized its part; node-b records on in a second one.
    await listed_as(b.url, meeting_id, [("node-a", "finished"), ("node-b", "recording")])
    # For the people nothing changed: it records, since the same moment.
    assert ada.meeting["recording"] == started
    for person in (ada, bob, dee):
        assert all(e["recording"] == started for e in person.of("recording_changed"))
    await asyncio.sleep(2.5)

    assert (await ada.call("recording", {"action": "stop"}))["recording"] is None
    await dee.wait_event("recording_changed", lambda e: e["recording"] is None)
    first, second = await listed_as(
        b.url, meeting_id, [("node-a", "finished"), ("node-b", "finished")]
    )

    # Both parts hold Cy's camera and tone, and nothing of it is missing
    # between them: the second began before the first ended.
    assert_parts_meet(tmp_path, first, second, ids["Cy"])
