"""A node may run on uvloop (``event_loop = "uvloop"``): media must flow on it as on asyncio's.

Every other test runs the server on asyncio's loop (the default, and
pytest's). These tests run a whole meeting on uvloop in this process, so
the SFU's socket-level receive path and its unqueued send path
(``sfu.udp_send.unqueued_sendto``: uvloop keeps its sockets to itself) are
exercised with real aiortc peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import types
from typing import Any

import pytest
import uvloop
from media_peers import alice_sends_to_bob, collect_counters, dominant_frequency, is_increasing
from meeting_client import MeetingClient
from running_server import running

from conf_server import Settings
from conf_server.cli import run_on_event_loop
from sfu import aiortc_bridge
from sfu.udp_send import unqueued_sendto


def test_a_camera_and_a_microphone_reach_the_other_side_on_uvloop(settings: Settings) -> None:
    async def meeting() -> None:
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        async with running(settings) as server:
            clients: list[MeetingClient] = []

            async def make_client(name: str) -> MeetingClient:
                client = MeetingClient(server.url, name)
                clients.append(client)
                await client.connect()
                return client

            try:
                alice, bob = await alice_sends_to_bob(make_client, "uvloop", frames=10)
                counters = await collect_counters(bob.track_of(alice.participant_id, "camera"), 60)
                assert is_increasing(counters)
                microphone = bob.track_of(alice.participant_id, "microphone")
                assert abs(await dominant_frequency(microphone, 1.0) - 440) < 15
                assert server.service.sfu_stats.packets_forwarded > 0
            finally:
                for client in clients:
                    await client.close()

    uvloop.run(meeting())


def test_the_unqueued_send_delivers_and_fails_cleanly_once_the_socket_is_closed() -> None:
    async def exchange() -> None:
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        sendto = unqueued_sendto(transport)
        try:
            sendto(b"\x80" * 100, receiver.getsockname())
            data = await loop.run_in_executor(None, receiver.recv, 2048)
            assert data == b"\x80" * 100
            transport.close()
            with pytest.raises(OSError):
                sendto(b"\x80" * 100, receiver.getsockname())
        finally:
            transport.close()
            receiver.close()

    uvloop.run(exchange())


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
def test_the_event_loop_setting_picks_the_loop(event_loop: str) -> None:
    seen: list[str] = []

    async def main() -> None:
        seen.append(type(asyncio.get_running_loop()).__module__)

    run_on_event_loop(event_loop, main())
    assert seen and seen[0].startswith(event_loop)


def test_an_unknown_event_loop_is_a_clear_start_error(tmp_path: Any) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "conf_server", "--event-loop", "trio", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "event_loop must be uvloop or asyncio: 'trio'" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_send_path_drops_on_uvloop_when_the_receiver_cannot_keep_up(tmp_path: Any) -> None:
    """As on asyncio (test_fast_path_guards): a full socket means drop, and
    the transport holds at most the one packet the kernel refused."""
    address = str(tmp_path / "slow-receiver")
    packet = b"\x80" + bytes(1199)

    async def flood() -> None:
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.bind(address)
        sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sender.setblocking(False)
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            asyncio.DatagramProtocol, sock=sender
        )
        try:
            unqueued = types.SimpleNamespace(sendto=unqueued_sendto(transport))
            path = aiortc_bridge.RtpSendPath.on_socket(unqueued, address)
            results = [path.send(packet) for _ in range(5000)]
            assert results[0] is True
            assert results.count(False) > 0, "the receiver never read; sends must fail"
            assert transport.get_write_buffer_size() <= len(packet)
            receiver.setblocking(False)
            for _ in range(100):  # drain, and let the loop flush what it held
                with contextlib.suppress(BlockingIOError):
                    while True:
                        receiver.recv(2000)
                await asyncio.sleep(0.01)
                if not transport.get_write_buffer_size():
                    break
            assert path.send(packet) is True
        finally:
            transport.close()
            receiver.close()

    uvloop.run(flood())
