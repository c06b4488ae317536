"""Connection exhaustion (issue 13, point 3).

Before, sockets that connected and never joined were kept forever: about
1,000 of them made a server with the usual 1,024-descriptor limit unreachable,
and asyncio logged tens of thousands of "Too many open files" tracebacks a
minute. Now a socket out of any room is disconnected after
``unjoined_socket_seconds``, connections are capped per client address and in
all, and new connections are refused with 503 while descriptors run short.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest
import socketio
from redis_server import free_port
from server_keys import ADMIN_KEY
from signaling_client import SignalingClient

from conf_server import Settings

MakeMember = Callable[..., Awaitable[SignalingClient]]

ENGINE_IO = "/socket.io/?EIO=4&transport="


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        ice_addresses=("127.0.0.1",),
        admin_api_key=ADMIN_KEY,
        unjoined_socket_seconds=1.0,
        max_connections=40,
        max_connections_per_address=5,
        # The tests speak for several client addresses through X-Forwarded-For.
        trusted_proxies=("127.0.0.1",),
    )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        yield session


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def engine_socket(
    http: aiohttp.ClientSession, url: str, address: str | None = None
) -> aiohttp.ClientWebSocketResponse:
    """A bare engine.io connection that never sends Socket.IO's CONNECT."""
    headers = from_address(address) if address else {}
    return await http.ws_connect(f"{url}{ENGINE_IO}websocket", headers=headers)


async def closed_by_server(ws: aiohttp.ClientWebSocketResponse, timeout: float = 15.0) -> bool:
    async def until_closed() -> None:
        while True:
            message = await ws.receive()
            if message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.CLOSING,
            ):
                return

    try:
        await asyncio.wait_for(until_closed(), timeout)
    except TimeoutError:
        return False
    return True


async def socketio_client(url: str, address: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, headers=from_address(address), transports=["websocket"])
    return client


# -- sockets that join no room ---------------------------------------------------------


async def test_a_socket_that_never_joins_is_disconnected(
    server: Any, http: aiohttp.ClientSession
) -> None:
    reasons: list[str] = []
    idle = socketio.AsyncClient(reconnection=False)
    idle.on("disconnect", lambda reason="": reasons.append(reason))
    await idle.connect(server.url, transports=["websocket"])  # connected, never joins
    bare = await engine_socket(http, server.url)  # not even Socket.IO
    for _ in range(150):
        if reasons:
            break
        await asyncio.sleep(0.1)
    # Socket.IO's own disconnect packet: socket.io-client does not reconnect by itself.
    assert reasons == [idle.reason.SERVER_DISCONNECT]
    assert await closed_by_server(bare)
    assert server.service.events._server.eio.sockets == {}


async def test_members_and_lobby_guests_keep_their_sockets_and_leavers_lose_theirs(
    server: Any, make_member: MakeMember
) -> None:
    host = await make_member("Hana", room="stay")
    await host.call("configure_meeting", {"lobby_enabled": True})
    guest = await make_member("Guest")
    assert (await guest.join("stay"))["waiting"] is True
    leaver = await make_member("Leo", room="stay")
    await leaver.call("leave")
    await asyncio.wait_for(leaver.disconnected.wait(), 15)
    # Well past the deadline: whoever is in the room or its lobby stays.
    await asyncio.sleep(2.5)
    assert host.sio.connected and guest.sio.connected
    await host.call("chat_send", {"text": "still here"})


# -- caps ----------------------------------------------------------------------------------


async def test_one_address_over_its_cap_is_refused_while_others_connect(
    server: Any, http: aiohttp.ClientSession
) -> None:
    crowd = [await socketio_client(server.url, "203.0.113.7") for _ in range(5)]
    # The sixth from that address: refused before any socket is made, with a reason.
    async with http.get(
        f"{server.url}{ENGINE_IO}polling", headers=from_address("203.0.113.7")
    ) as r:
        assert r.status == 429
        assert int(r.headers["Retry-After"]) > 0
        assert (await r.json())["error"]["code"] == "too_many_connections"
    with pytest.raises(socketio.exceptions.ConnectionError):
        await socketio_client(server.url, "203.0.113.7")
    # Somebody else is let in; and a place that frees up can be taken again.
    other = await socketio_client(server.url, "198.51.100.20")
    await crowd[0].disconnect()
    for _ in range(50):
        with contextlib.suppress(socketio.exceptions.ConnectionError):
            crowd[0] = await socketio_client(server.url, "203.0.113.7")
            break
        await asyncio.sleep(0.1)
    assert crowd[0].connected
    for client in [*crowd, other]:
        await client.disconnect()


async def test_an_ipv6_host_counts_as_its_slash_64(
    server: Any, http: aiohttp.ClientSession
) -> None:
    sockets = [await engine_socket(http, server.url, f"2001:db8:1:2::{i + 1}") for i in range(5)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await engine_socket(http, server.url, "2001:db8:1:2:ffff::9")
    assert refused.value.status == 429
    neighbour = await engine_socket(http, server.url, "2001:db8:1:3::1")
    for ws in [*sockets, neighbour]:
        await ws.close()


async def test_a_flood_of_idle_sockets_is_capped_and_healthz_keeps_answering(
    server: Any, make_member: MakeMember, http: aiohttp.ClientSession
) -> None:
    opened: list[aiohttp.ClientWebSocketResponse] = []
    refused: dict[int, int] = {}
    for index in range(120):  # 40 may be open at once (settings)
        try:
            opened.append(await engine_socket(http, server.url, f"192.0.2.{index % 100}"))
        except aiohttp.WSServerHandshakeError as exc:
            refused[exc.status] = refused.get(exc.status, 0) + 1
    assert len(opened) == 40 and refused == {503: 80}
    async with http.get(f"{server.url}{ENGINE_IO}polling") as r:
        assert r.status == 503 and (await r.json())["error"]["code"] == "server_full"
    async with http.get(f"{server.url}/healthz") as r:
        assert r.status == 200
    # The flood joined no room: it is gone after the deadline, and people get in.
    for ws in opened:
        assert await closed_by_server(ws)
    member = await make_member("After the flood", room="after")
    assert member.participant_id


# -- file descriptors -----------------------------------------------------------------


def _few_descriptors() -> None:
    # Soft and hard: the server may not raise it (it raises soft to hard).
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))


def start_server_process(
    tmp_path: Path, port: int, log: IO[bytes], event_loop: str = "asyncio"
) -> subprocess.Popen[bytes]:
    """A real ``conf-server`` with only 128 file descriptors."""
    return subprocess.Popen(
        [sys.executable, "-m", "conf_server", "--port", str(port), "--data-dir",
         str(tmp_path / "data"), "--event-loop", event_loop],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_few_descriptors,
    )  # fmt: skip


async def test_running_short_of_descriptors_refuses_connections_without_a_log_flood(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = start_server_process(tmp_path, port, log)
        try:
            await _wait_healthy(http, url, process)
            opened, refused = [], 0
            for _ in range(150):  # more than the process has descriptors
                try:
                    opened.append(await engine_socket(http, url))
                except aiohttp.WSServerHandshakeError as exc:
                    assert exc.status == 503
                    refused += 1
            assert opened and refused, (len(opened), refused)
            async with http.get(f"{url}/healthz") as r:
                assert r.status == 200
            await asyncio.sleep(2)  # asyncio would retry its accept loop meanwhile
            for ws in opened:
                await ws.close()
        finally:
            process.kill()
            process.wait()
    text = log_path.read_text()
    assert text.count("out of system resource") <= 3, text[-3000:]
    assert text.count("refusing new Socket.IO connections") <= 3


async def _wait_healthy(
    http: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes]
) -> None:
    for _ in range(200):
        assert process.poll() is None, "the server exited"
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"{url}/healthz") as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise AssertionError("the server did not start")


@pytest.mark.parametrize("event_loop", ["asyncio", "uvloop"])
async def test_out_of_descriptors_the_accept_error_is_logged_rarely(
    tmp_path: Path, http: aiohttp.ClientSession, event_loop: str
) -> None:
    # Plain TCP connections that never send a request take the descriptors
    # (nothing of Socket.IO sees them): asyncio's accept loop then fails, and
    # used to log a traceback per waiting connection, many times a second.
    # uvloop must not be worse: libuv closes what it cannot accept, silently
    # (an accept error reaching uvloop would close the listening socket for
    # good: the server must still answer afterwards).
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = start_server_process(tmp_path, port, log, event_loop)
        writers = []
        try:
            await _wait_healthy(http, url, process)
            for _ in range(200):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writers.append(writer)
            await asyncio.sleep(3)  # asyncio retries its accept loop every second
            for writer in writers:
                writer.close()
            await _wait_healthy(http, url, process)  # and it recovers
        finally:
            process.kill()
            process.wait()
    text = log_path.read_text()
    logged = text.count("out of system resource")
    assert (1 <= logged <= 3) if event_loop == "asyncio" else logged == 0, text[-3000:]
    assert text.count("Too many open files") <= 3
    assert "Traceback" not in text
