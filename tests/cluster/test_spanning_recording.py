"""Recording a room that spans nodes (issue 17, point 3): real ``conf-server``
nodes with media relays sharing a real ``redis-server``, real aiortc
publishers, the recorded files decoded with PyAV.

The room's owner records (its relays bring it every track), whoever starts
it and wherever they sit; every node shows newcomers the room's recording
status; when the room changes owner the first part is finalized (or, after
a kill -9, is what the dead node left) and the recording goes on on the new
owner in a new part."""

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
    join_in_turn,
    meeting_recordings,
    metrics,
    recorded_counters,
    recorded_file,
    recorded_tone,
)

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]

FINISHED = ("processing", "ready")


async def publish(person: MediaNodeClient) -> None:
    await person.publish(
        {"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(TONES[person.name])}
    )


async def relayed_in(url: str, tracks: int) -> None:
    """Wait until the node at ``url`` receives ``tracks`` tracks from the other node."""

    async def arrived() -> bool:
        return metric(await metrics(url), "conf_relay_tracks_in") == tracks

    await until(arrived, timeout=20)


async def parts(
    url: str, meeting_id: str, states: list[tuple[str, str]], only: str | None = None
) -> list[dict[str, Any]]:
    """Wait until ``url`` lists the meeting's recordings (those of node
    ``only``, if given) as ``states``: (node, state) oldest first, "finished"
    meaning processing or ready. Returns them. Other nodes' recordings come
    from the deployment's index, up to 5 s late."""
    found: list[dict[str, Any]] = []

    def matches(record: dict[str, Any], node: str, state: str) -> bool:
        wanted = FINISHED if state == "finished" else (state,)
        return record["node"] == node and record["state"] in wanted

    async def listed() -> bool:
        found[:] = [
            r for r in await meeting_recordings(url, meeting_id) if only in (None, r["node"])
        ]
        return len(found) == len(states) and all(
            matches(record, *want) for record, want in zip(found, states, strict=True)
        )

    try:
        await until(listed, timeout=30)
    except AssertionError:
        raise AssertionError(f"recordings: {[(r['node'], r['state']) for r in found]}") from None
    return found


def assert_recorded(data_dir: Path, record: dict[str, Any], person: MediaNodeClient) -> None:
    """``person``'s camera and microphone are in ``record``'s files: the
    counters go up, the tone is theirs."""
    assert person.participant_id is not None
    video = recorded_file(data_dir, record, person.participant_id, "video")
    counters = recorded_counters(video)
    assert len(counters) >= 20 and is_increasing(counters), (person.name, counters[:40])
    tone = recorded_tone(recorded_file(data_dir, record, person.participant_id, "audio"))
    assert abs(tone - TONES[person.name]) < 30, (person.name, tone)


async def room_on_two_nodes(
    start_nodes: StartNodes, clients: list[Any], room: str, names: str, media: str
) -> tuple[NodeProcess, NodeProcess, list[Any]]:
    """node-a and node-b; of ``names`` (joining in this order, all through
    node-b) the first two are placed on node-a, the room's owner (the first
    is its host), the others on node-b, a satellite. Those in ``media`` are
    aiortc clients (they publish), the others media-free."""
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    people = [(MediaNodeClient if n in media else NodeClient)(b.url, n) for n in names.split()]
    clients.extend(people)
    await join_in_turn(people, room, [a.url, b.url], receive=[False] * len(people))
    placed = [p.base_url if isinstance(p, MediaNodeClient) else p.url for p in people]
    assert placed == [a.url, a.url] + [b.url] * (len(people) - 2)
    return a, b, people


def recording_state(event: dict[str, Any]) -> str | None:
    recording = event["recording"]
    return None if recording is None else str(recording["state"])


async def test_a_cohost_on_a_satellite_records_on_the_owner_with_both_nodes_media(
    start_nodes: StartNodes, clients: list[Any], tmp_path: Path
) -> None:
    a, _, (ada, bob, cy, dee) = await room_on_two_nodes(
        start_nodes, clients, "rec", "Ada Bob Cy Dee", media="Ada Cy"
    )
    await ada.call("set_role", {"participant_id": cy.participant_id, "role": "co_host"})

    # The errors are those of one node: the role check, the recording's state.
    assert (await dee.error_of("recording", {"action": "start"}))["code"] == "forbidden"
    refused = await cy.call("recording", {"action": "stop"}, raw=True)
    assert refused["error"]["code"] == "not_recording", refused

    for person in (ada, cy):
        await publish(person)
    await relayed_in(a.url, 2)  # Cy's camera and microphone reach the owner

    ack = await cy.call("recording", {"action": "start"})
    assert ack["recording"]["state"] == "recording"
    again = await cy.call("recording", {"action": "start"}, raw=True)
    assert again["error"]["code"] == "already_recording", again
    assert (await cy.call("recording", {"action": "pause"}))["recording"]["state"] == "paused"
    assert (await cy.call("recording", {"action": "resume"}))["recording"]["state"] == "recording"
    # Everybody, on both nodes, hears each change, by Cy.
    for watcher in (bob, dee):
        await watcher.wait_for(
            lambda watcher=watcher: (
                [(recording_state(e), e["by"]) for e in watcher.of("recording_changed")]
                == [("recording", "Cy"), ("paused", "Cy"), ("recording", "Cy")]
            )
        )
    await asyncio.sleep(3.0)
    assert (await cy.call("recording", {"action": "stop"}))["recording"] is None
    for watcher in (bob, dee):
        await watcher.wait_event("recording_changed", lambda e: e["recording"] is None)

    # One recording, made by the owner, with both nodes' people in it.
    meeting_id = dee.meeting["meeting_id"]
    (record,) = await parts(a.url, meeting_id, [("node-a", "finished")])
    for person in (ada, cy):
        assert_recorded(tmp_path / "node-a", record, person)
    # The satellite made none.
    assert not list((tmp_path / "node-b" / "recordings").glob("*/recording.json"))


async def test_the_owners_people_leave_the_first_part_is_finalized_and_it_goes_on(
    start_nodes: StartNodes, clients: list[Any], tmp_path: Path
) -> None:
    a, b, (ada, bob, cy) = await room_on_two_nodes(
        start_nodes, clients, "handover", "Ada Bob Cy", media="Cy"
    )
    await publish(cy)
    await relayed_in(a.url, 2)
    started = (await ada.call("recording", {"action": "start"}))["recording"]

    # A newcomer placed on the satellite sees that the meeting records, as on one node.
    dee = NodeClient(b.url, "Dee")
    clients.append(dee)
    await dee.join("handover")
    assert dee.url == b.url
    assert dee.meeting["recording"] == started
    await asyncio.sleep(2.0)

    # The owner's people leave: node-a hands the room to node-b.
    for person in (ada, bob):
        person.auto_rejoin = False
        await person.call("leave")
    meeting_id = dee.meeting["meeting_id"]
    # node-a finalized the first part; node-b records on in a second one.
    await parts(b.url, meeting_id, [("node-a", "finished"), ("node-b", "recording")])
    _, room = await http(b.url, "GET", "/api/v1/rooms/handover")
    assert room["node"] == "node-b"
    # Nothing changed for the people: still recording, since the same moment.
    _, meeting = await http(b.url, "GET", f"/api/v1/meetings/{meeting_id}")
    assert meeting["recording"] == started
    assert all(e["recording"] is not None for e in dee.of("recording_changed"))
    await asyncio.sleep(2.5)

    status, body = await http(
        b.url, "POST", f"/api/v1/meetings/{meeting_id}/recording", json={"action": "stop"}
    )
    assert status == 200 and body["recording"] is None, body
    await dee.wait_event("recording_changed", lambda e: e["recording"] is None and e["by"] == "api")
    first, second = await parts(b.url, meeting_id, [("node-a", "finished"), ("node-b", "finished")])
    assert_recorded(tmp_path / "node-a", first, cy)
    assert_recorded(tmp_path / "node-b", second, cy)


async def test_kill_9_of_the_owner_the_new_owner_records_on_in_a_new_part(
    start_nodes: StartNodes, clients: list[Any], tmp_path: Path
) -> None:
    a, b, (ada, _, cy, dee) = await room_on_two_nodes(
        start_nodes, clients, "crash", "Ada Bob Cy Dee", media="Cy"
    )
    await publish(cy)
    await relayed_in(a.url, 2)
    started = (await ada.call("recording", {"action": "start"}))["recording"]
    meeting_id = dee.meeting["meeting_id"]
    await asyncio.sleep(2.0)

    a.kill()
    # Once node-a's heartbeat has expired node-b takes the room and records on.
    await parts(b.url, meeting_id, [("node-b", "recording")], only="node-b")
    # Ada comes back (on node-b) to a meeting that still records, since the same moment.
    await ada.wait_for(lambda: ada.rejoins == 1 and ada.url == b.url, timeout=20)
    assert ada.meeting["recording"] == started
    assert all(e["recording"] is not None for e in dee.of("recording_changed"))
    await asyncio.sleep(2.5)
    assert (await ada.call("recording", {"action": "stop"}))["recording"] is None
    (second,) = await parts(b.url, meeting_id, [("node-b", "finished")], only="node-b")
    assert_recorded(tmp_path / "node-b", second, cy)

    # The first part is what node-a wrote before it died; its next start
    # marks it incomplete, and every node lists it so.
    (a,) = await start_nodes("node-a", **SPANNING)
    first, _ = await parts(b.url, meeting_id, [("node-a", "incomplete"), ("node-b", "finished")])
    assert first["duration"] > 0.5, first
