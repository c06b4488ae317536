"""What a client sees over its socket when the node that must act for a
room that spans nodes does not answer (issue 17, point 3; docs/protocol.md,
``node_unreachable``). A co-host on a satellite starts the recording, which
the room's owner makes; the owner is frozen (``SIGSTOP``: alive in the
registry until its heartbeat expires, deaf meanwhile). Real ``conf-server``
nodes, a real ``redis-server``, python-socketio clients."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from deployment import NodeClient, NodeProcess, RefusedError, http, until
from spanning_support import SPANNING, join_in_turn, meeting_recordings

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]

#: How long a satellite waits for the owner's answer (span_requests.REQUEST_SECONDS).
REQUEST_SECONDS = 5.0


async def test_a_frozen_owner_is_node_unreachable_and_trying_again_records_on_the_satellite(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    people = [NodeClient(b.url, name) for name in ("Ada", "Bob", "Cy", "Dee")]
    clients.extend(people)
    ada, _bob, cy, dee = people
    await join_in_turn(people, "frozen", [a.url, b.url])
    # Ada (the host) and Bob on node-a, the owner; Cy, a co-host, and Dee on node-b.
    assert [p.url for p in people] == [a.url, a.url, b.url, b.url]
    await ada.call("set_role", {"participant_id": cy.participant_id, "role": "co_host"})

    os.kill(a.proc.pid, signal.SIGSTOP)
    try:
        # node-b still has node-a in the registry: it asks node-a to record,
        # and no answer comes. Cy gets the transient error over its socket.
        asked = time.monotonic()
        error = await cy.error_of("recording", {"action": "start"})
        waited = time.monotonic() - asked
    finally:
        a.kill()  # a stopped process dies of SIGKILL too
    assert error["code"] == "node_unreachable", error
    assert error["retry_after"] == 2.0, error
    assert "node-a" in error["message"], error
    assert waited >= REQUEST_SECONDS - 0.5, waited
    # Nothing was started, nobody was told otherwise.
    assert cy.of("recording_changed") == [] and dee.of("recording_changed") == []

    # Cy tries again after retry_after, as docs/protocol.md says, while the
    # error is the same; once node-a's heartbeat has expired node-b owns the
    # room and records it itself.
    for _ in range(3):
        await asyncio.sleep(error["retry_after"])
        try:
            ack = await cy.call("recording", {"action": "start"})
            break
        except RefusedError as refused:
            error = refused.error
            assert error["code"] == "node_unreachable", error
    else:
        raise AssertionError(f"still refused: {error}")
    assert ack["recording"]["state"] == "recording", ack
    _, room = await http(b.url, "GET", "/api/v1/rooms/frozen")
    assert room["node"] == "node-b", room
    for watcher in (cy, dee):
        await watcher.wait_event(
            "recording_changed",
            lambda e: e["recording"] is not None and e["by"] == "Cy",
            timeout=5,
        )
    meeting_id = dee.meeting["meeting_id"]

    async def recorded_by_b() -> bool:
        listed = await meeting_recordings(b.url, meeting_id)
        return [(r["node"], r["state"]) for r in listed] == [("node-b", "recording")]

    await until(recorded_by_b)
