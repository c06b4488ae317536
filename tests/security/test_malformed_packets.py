"""Socket.IO packets python-socketio cannot decode close that connection with
one log line, never a traceback, and nobody else notices."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from running_server import RunningServer

MakeMember = Callable[..., Awaitable[Any]]

MALFORMED = {
    "null payload": "42null",
    "deep nesting": "42" + "[" * 5000 + "]" * 5000,
    "integer over 4300 digits": '42["chat",' + "7" * 5000 + "]",
    "ack id over 100 digits": "42" + "1" * 150 + '["chat",{}]',
    "too many attachments": "451234567890123-" + '["chat",{}]',
    "not json": '42["chat",{',
}


async def _open_socket(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
    opening = await ws.receive_str(timeout=5)
    assert opening.startswith("0{")
    await ws.send_str("40")
    connected = await ws.receive_str(timeout=5)
    assert connected.startswith("40{")
    return ws


async def _closed(ws: aiohttp.ClientWebSocketResponse) -> bool:
    """True once the server ends the connection (messages before that, such as
    Socket.IO's disconnect packet, are read and ignored)."""
    async with asyncio.timeout(10):
        while True:
            message = await ws.receive()
            if message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.ERROR,
            ):
                return True
            if message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
                await ws.send_str("3")  # answer pings meanwhile


@pytest.mark.parametrize("packet", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_a_malformed_packet_closes_only_that_connection(
    server: RunningServer, make_member: MakeMember, packet: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ada = await make_member("Ada", room="malformed")
    async with aiohttp.ClientSession() as session:
        ws = await _open_socket(session, server.url)
        await ws.send_str(packet)
        assert await _closed(ws)
        async with session.get(f"{server.url}/healthz") as response:
            assert response.status == 200
    # The others go on as before.
    await ada.call("chat_send", {"text": "still here"})
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


@pytest.mark.parametrize("name", ['["join"]', '{"a":1}', "7", "null"])
async def test_an_event_name_that_is_not_a_string_is_an_unknown_event(
    server: RunningServer, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await _open_socket(session, server.url)
        await ws.send_str(f"421[{name},{{}}]")
        async with asyncio.timeout(10):
            while (answer := await ws.receive_str()) == "2":
                await ws.send_str("3")
        assert answer.startswith("431[") and '"unknown_event"' in answer, answer
        await ws.close()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def _polling_session(session: aiohttp.ClientSession, url: str) -> str:
    base = f"{url}/socket.io/?EIO=4&transport=polling"
    async with session.get(base) as response:
        sid = json.loads((await response.text())[1:])["sid"]
    return f"{base}&sid={sid}"


@pytest.mark.parametrize(
    "body",
    [b"6", b"2probe", b"", b"\xff\xfe", b"40\x1e", b"0", b"5", b"bAAA"],
    ids=repr,
)
async def test_a_long_polling_post_engineio_cannot_decode_gets_400(
    server: RunningServer, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as session:
        url = await _polling_session(session, server.url)
        async with asyncio.timeout(10), session.post(url, data=body) as response:
            assert response.status == 400
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_post_to_a_closed_session_gets_400_not_500(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as session:
        url = await _polling_session(session, server.url)
        async with session.post(url, data=b"1") as response:
            assert response.status == 200  # the client closes its session
        async with asyncio.timeout(10), session.post(url, data=b"1") as response:
            assert response.status == 400
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("frame", ["", "x", "7hello", "bAAA", "b!!"])
async def test_an_undecodable_websocket_frame_closes_the_connection_quietly(
    server: RunningServer, frame: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await _open_socket(session, server.url)
        await ws.send_str(frame)
        assert await _closed(ws)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_malformed_http_request_is_one_quiet_line(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /\xdc\x14 HTTP/1.1 x\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(200), 10)
    writer.close()
    assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), answer
    assert b"\r\nServer: conf-server\r\n" in answer, answer  # no versions
    await asyncio.sleep(0.1)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
