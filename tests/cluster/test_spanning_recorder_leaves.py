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

from deployment import NodeProcess, http
from test_spanning_recorder_drain import assert_parts_meet, listed_as, recorded_across_nodes

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]


async def test_the_owners_people_leave_and_the_recording_parts_overlap(
    start_nodes: StartNodes, clients: list[Any], tmp_path: Path
) -> None:
    # Ada (the host) and Bob on node-a, the owner, which records; Cy (camera
    # and tone) and Dee on node-b, a satellite.
    _, b, people, started = await recorded_across_nodes(start_nodes, clients, "leaving")
    ada, bob, cy, dee = people
    meeting_id = dee.meeting["meeting_id"]

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
    assert_parts_meet(tmp_path, first, second, cy.participant_id)
