"""The media port range (``rtc_ports``, issue 16 point 5) with real aiortc peers:
every UDP socket the server binds for media is in the range, media flows, a
join the range cannot hold is refused with ``media_ports_full``, and a
participant leaving gives its ports back."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import time
from collections.abc import Callable

import pytest
from media_peers import ToneAudioTrack, dominant_frequency
from meeting_client import MeetingClient, ProtocolError

from conf_server import Settings
from sfu.port_range import shared_port_range

#: Six ports on one ICE address (127.0.0.1): three participants of two peer
#: connections each. Below Linux's ephemeral ports, so inside the test's own
#: network namespace nothing else holds them.
LOW, HIGH = 27100, 27105
TONES = {"A": 330.0, "B": 550.0, "C": 770.0, "D": 990.0}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    if os.environ.get("CONF_TEST_NETNS") != "1":
        pytest.skip("media test: runs in the private network namespace (scripts/test.sh)")
    return dataclasses.replace(settings, rtc_ports=f"{LOW}-{HIGH}")


def bound_udp_ports() -> set[int]:
    """Ports of every IPv4 UDP socket in this network namespace (ours alone)."""
    with open("/proc/net/udp") as table:
        rows = table.read().splitlines()[1:]
    return {int(row.split()[1].split(":")[1], 16) for row in rows}


def candidate_ports(sdp: str) -> set[int]:
    return {int(line.split()[5]) for line in sdp.splitlines() if line.startswith("a=candidate:")}


def client_ports(client: MeetingClient) -> set[int]:
    """The client's own sockets: what its local descriptions offer."""
    ports: set[int] = set()
    for pc in (client.publish_pc, client.subscribe_pc):
        if pc is not None and pc.localDescription is not None:
            ports |= candidate_ports(pc.localDescription.sdp)
    return ports


def server_advertised_ports(client: MeetingClient) -> set[int]:
    """What the server's publish answer and subscriber offer gave this client."""
    ports: set[int] = set()
    for pc in (client.publish_pc, client.subscribe_pc):
        if pc is not None and pc.remoteDescription is not None:
            ports |= candidate_ports(pc.remoteDescription.sdp)
    return ports


async def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.1)


async def hears(listener: MeetingClient, speakers: list[MeetingClient]) -> None:
    await listener.wait_for(
        lambda: all(listener.track_of(s.participant_id, "microphone") for s in speakers),
        timeout=20,
    )
    for speaker in speakers:
        track = listener.track_of(speaker.participant_id, "microphone")
        frequency = await dominant_frequency(track, 0.5, timeout=20)
        assert abs(frequency - TONES[speaker.name]) < 10, (listener.name, speaker.name)


async def test_media_sockets_stay_in_the_range_and_a_full_range_refuses_joins(make_client):
    ports = shared_port_range((LOW, HIGH))
    before = bound_udp_ports()
    a, b, c = [await make_client(name) for name in "ABC"]
    for client in (a, b, c):
        await client.join("ranged")
    for client in (a, b, c):
        await client.publish({"microphone": ToneAudioTrack(TONES[client.name])})
    for client in (a, b, c):
        await hears(client, [o for o in (a, b, c) if o is not client])

    # Every UDP socket that appeared and is no client's is the server's.
    clients = client_ports(a) | client_ports(b) | client_ports(c)
    server_sockets = bound_udp_ports() - before - clients
    assert len(server_sockets) == 6, server_sockets  # 3 participants x 2 peer connections
    assert all(LOW <= port <= HIGH for port in server_sockets), server_sockets
    for client in (a, b, c):
        assert server_advertised_ports(client) <= server_sockets
    assert ports.in_use == 6

    d = await make_client("D")
    with pytest.raises(ProtocolError) as refused:
        await d.join("ranged")
    assert refused.value.code == "media_ports_full"
    assert "media port range" in refused.value.message

    await c.call("leave")
    await wait_until(lambda: ports.in_use == 4)  # C's two sockets are closed
    await d.join("ranged")
    await d.publish({"microphone": ToneAudioTrack(TONES["D"])})
    await hears(a, [d])
    await hears(d, [a, b])
    assert all(LOW <= port <= HIGH for port in server_advertised_ports(d))
    assert ports.in_use == 6


async def test_a_publish_that_finds_no_free_port_fails_with_the_same_code(make_client):
    a, b = await make_client("A"), await make_client("B")
    await a.join("raced", receive=False)
    await b.join("raced")
    # After the join's check, someone else takes every free port of the range.
    outsiders = []
    for port in range(LOW, HIGH + 1):
        outsider = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            outsider.bind(("127.0.0.1", port))
        except OSError:
            outsider.close()  # the server holds it
            continue
        outsiders.append(outsider)
    try:
        with pytest.raises(ProtocolError) as refused:
            await a.publish({"microphone": ToneAudioTrack(TONES["A"])})
        assert refused.value.code == "media_ports_full"
    finally:
        for outsider in outsiders:
            outsider.close()
    # The ports are free again: publishing again works (and gathers anew).
    await a.publish_pc.close()
    a.publish_pc = None
    await a.publish({"microphone": ToneAudioTrack(TONES["A"])})
    await hears(b, [a])
    assert all(LOW <= port <= HIGH for port in server_advertised_ports(a))
