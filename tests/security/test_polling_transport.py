"""Large messages over both Socket.IO transports (issue 13, point 16).

Before, a message of about 190 KB or more sent over HTTP long-polling was
never acknowledged: python-engineio's aiohttp driver read the POST body with
one partial read, so the server saw a truncated packet (a JSON decode error
in the log) and the client waited forever. A message is never silently
dropped: it is acknowledged, or, beyond the size limit, the connection is
closed so the client knows.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import socketio

from signaling.protocol import MAX_ANSWER_SDP

TRANSPORTS = ["polling", "websocket"]


async def joined_client(server: Any, transport: str, room: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(server.url, transports=[transport], wait_timeout=10)
    ack = await client.call(
        "join", {"protocol": 1, "room": room, "name": "Big", "receive": False}, timeout=15
    )
    assert ack["ok"], ack
    return client


def big_answer(size: int) -> dict[str, Any]:
    sdp = "v=0\r\n" + "a=x-filler:" + "y" * (size - 20) + "\r\n"
    return {"revision": 1, "sdp": sdp}


async def close(client: socketio.AsyncClient) -> None:
    # Over long-polling, python-engineio's client waits for its pending poll
    # (up to the ping interval) when it says goodbye; these tests need not.
    await client.eio.disconnect(abort=True)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("size", [190_000, 500_000, MAX_ANSWER_SDP - 100])
async def test_a_large_message_is_acknowledged(
    server: Any, transport: str, size: int, caplog: pytest.LogCaptureFixture
) -> None:
    client = await joined_client(server, transport, f"big-{transport}-{size}")
    try:
        with caplog.at_level(logging.WARNING):
            ack = await client.call("subscriber_answer", big_answer(size), timeout=30)
        # No offer is pending: a clear error, not silence.
        assert ack["ok"] is False and ack["error"]["code"] == "stale_answer", ack
        # The socket still works afterwards.
        ack = await client.call("mute", {"source": "microphone", "muted": True}, timeout=15)
        assert ack == {"ok": True}
    finally:
        await close(client)
    assert not [r for r in caplog.records if "decode" in r.getMessage().lower()]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_message_larger_than_any_allowed_closes_the_connection(
    server: Any, transport: str
) -> None:
    client = await joined_client(server, transport, f"huge-{transport}")
    closed, acked = asyncio.Event(), asyncio.Event()
    client.on("disconnect", lambda *_: closed.set())
    try:
        # Beyond the server's limit for one message (2 MiB): the server cannot
        # even read it, so it closes the connection rather than say nothing.
        await client.emit(
            "subscriber_answer", big_answer(3 * 1024 * 1024), callback=lambda *_: acked.set()
        )
        await asyncio.wait_for(closed.wait(), 30)
        assert not acked.is_set()
    finally:
        await close(client)
    # The server is fine: a new client joins and is answered.
    other = await joined_client(server, transport, f"huge-{transport}")
    await close(other)
