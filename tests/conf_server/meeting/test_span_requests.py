"""Requests between the nodes of a spanning room (conf_server/meeting/span_requests.py),
over a real in-process node bus: the answer comes back, an error keeps its
code and status, a node that does not answer is ``node_unreachable``, and
only the node asked may answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conf_server.cluster.node_bus import LocalBusHub
from conf_server.errors import ConfServerError, NodeUnreachable
from conf_server.meeting.span_requests import RemoteError, SpanRequests
from sfu.tasks import TaskGroup


class AlreadyRecording(ConfServerError):
    code = "already_recording"
    status = 409


@pytest.fixture
async def nodes() -> AsyncIterator[dict[str, SpanRequests]]:
    """Nodes "a", "b" and "c" on one bus, each with its requests."""
    hub, tasks = LocalBusHub(), TaskGroup("test")
    made: dict[str, SpanRequests] = {}
    for name in ("a", "b", "c"):
        bus = hub.bus()

        async def send(
            node: str, message: dict[str, Any], bus: Any = bus, name: str = name
        ) -> None:
            await bus.send(node, {**message, "from": name})

        requests = made[name] = SpanRequests(send, tasks.spawn)

        async def received(message: dict[str, Any], requests: SpanRequests = requests) -> None:
            await requests.received(message["room"], message["from"], message)

        bus.listen(name, received)
    yield made
    for name in made:
        await hub.stop(name)
    await tasks.cancel_all()


async def test_the_asker_gets_the_answer_and_errors_keep_their_code(
    nodes: dict[str, SpanRequests],
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    async def recording(room: str, args: dict[str, Any]) -> dict[str, Any]:
        seen.append((room, args))
        if args["do"] == "start" and len(seen) > 1:
            raise AlreadyRecording("this meeting is already recording")
        return {"recording": {"state": "recording"}}

    nodes["a"].handle("recording", recording)
    answer = await nodes["b"].ask("a", "r1", "recording", do="start", by="Cy")
    assert answer == {"recording": {"state": "recording"}}
    assert seen[0][0] == "r1" and seen[0][1]["by"] == "Cy"
    with pytest.raises(RemoteError) as refused:
        await nodes["b"].ask("a", "r1", "recording", do="start", by="Cy")
    assert (refused.value.code, refused.value.status) == ("already_recording", 409)


async def test_a_node_that_does_not_answer_is_unreachable(
    nodes: dict[str, SpanRequests],
) -> None:
    # "c" has no such request (and "z" is no node at all): nobody answers.
    for node in ("c", "z"):
        with pytest.raises(NodeUnreachable) as unreachable:
            await nodes["b"].ask(node, "r1", "recording", timeout=0.3, do="start")
        assert unreachable.value.code == "node_unreachable"
        assert unreachable.value.retry_after == 2.0


async def test_only_the_node_asked_may_answer(nodes: dict[str, SpanRequests]) -> None:
    async def slow(room: str, args: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return {"from": "a"}

    nodes["a"].handle("recording", slow)
    ask = asyncio.ensure_future(nodes["b"].ask("a", "r1", "recording", timeout=2.0))
    await asyncio.sleep(0.05)
    (request_id,) = nodes["b"]._waiting  # the request on its way
    # "c" answers the very request first: not its to answer.
    forged = {"type": "reply", "id": request_id, "result": {"from": "c"}}
    await nodes["b"].received("r1", "c", forged)
    assert await ask == {"from": "a"}
