"""The owner's people leave a recorded room that spans nodes (issue 17,
point 3): the room passes to the satellite, whose people go on talking, and
the recording goes on there in a new part that begins before the old part
ends, as in a drain (tests/cluster/test_spanning_recorder_drain.py). Real
``conf-server`` nodes with media relays, a real ``redis-server``, an aiortc
publisher on the satellite; both parts decoded with PyAV."""

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
    metrics,
    recorded_counters,
    recorded_file,
    recorded_tone,
    two_on_each,
)
from test_spanning_recorder_drain import FPS, listed_as

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]


async def test_the_owners_people_leave_and_the_recording_parts_overlap(
    start_nodes: StartNodes, clients: list[Any], tmp_path: Path
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    # Ada (the host) and Bob on node-a, the owner, which records; Cy (camera
    # and tone) and Dee on node-b, a satellite.
    people = await two_on_each(
        lambda _, name: (MediaNodeClient if name == "Cy" else NodeClient)(b.url, name),
        [a.url, b.url], "leaving", clients, receive=[False] * 4,
    )  # fmt: skip
    ada, bob, cy, dee = people
    cy_id = cy.participant_id
    await cy.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(TONES["Cy"])})

    async def relayed_to_a() -> bool:
        return metric(await metrics(a.url), "conf_relay_tracks_in") == 2

    await until(relayed_to_a, timeout=20)
    started = (await ada.call("recording", {"action": "start"}))["recording"]
    assert started["state"] == "recording"
    meeting_id = dee.meeting["meeting_id"]
    await listed_as(a.url, meeting_id, [("node-a", "recording")])
    await asyncio.sleep(2.0)

    # The owner's people leave (no drain): node-a cedes the room to node-b.
    for person in (ada, bob):
        person.auto_rejoin = False
        await person.call("leave")
    await listed_as(b.url, meeting_id, [("node-a", "finished"), ("node-b", "recording")])
    # For the people nothing changed: it records, since the same moment.
    assert all(e["recording"] == started for e in dee.of("recording_changed"))
    await asyncio.sleep(2.5)

    status, body = await http(
        b.url, "POST", f"/api/v1/meetings/{meeting_id}/recording", json={"action": "stop"}
    )
    assert status == 200 and body["recording"] is None, body
    first, second = await listed_as(
        b.url, meeting_id, [("node-a", "finished"), ("node-b", "finished")]
    )

    # Both parts hold Cy's camera and tone, and nothing of it is missing
    # between them: the second began before the first ended.
    counters = []
    for node, record in (("node-a", first), ("node-b", second)):
        video = recorded_counters(recorded_file(tmp_path / node, record, cy_id, "video"))
        assert len(video) >= 2 * FPS and is_increasing(video), (node, video[:40])
        tone = recorded_tone(recorded_file(tmp_path / node, record, cy_id, "audio"))
        assert abs(tone - TONES["Cy"]) < 30, (node, tone)
        counters.append(video)
    # Frames after the first part's last one, up to the second's first (mod
    # 256: the counter wraps every 8.5 s; below 0, the parts overlap).
    missing = (counters[1][0] - counters[0][-1] - 1 + 128) % 256 - 128
    print(f"frames missing between the parts: {missing}")
    assert missing <= 0, (counters[0][-5:], counters[1][:5])
