"""The media port range's allocator, with real UDP sockets on loopback (bound, never sent to)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from sfu import MediaPortsFull, SfuSettings, check_media_ports
from sfu.port_range import PortRange, shared_port_range

Endpoint = tuple[asyncio.DatagramTransport, asyncio.DatagramProtocol]


def free_range(size: int) -> tuple[int, int]:
    """``size`` consecutive ports nothing holds now, below Linux's ephemeral range."""
    for low in range(20000, 32000 - size, size):
        probes = []
        try:
            for port in range(low, low + size):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return low, low + size - 1
    raise AssertionError("no free port range")


def udp_opener(host: str = "127.0.0.1") -> Callable[[int], asyncio.Future[Endpoint]]:
    loop = asyncio.get_running_loop()

    def open_port(port: int) -> asyncio.Future[Endpoint]:
        return asyncio.ensure_future(
            loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=(host, port))
        )

    return open_port


def closed(endpoint: Endpoint) -> bool:
    return endpoint[0].is_closing()


def port_of(endpoint: Endpoint) -> int:
    return int(endpoint[0].get_extra_info("sockname")[1])


async def test_ports_are_handed_out_in_the_range_until_it_is_full():
    low, high = free_range(4)
    ports = PortRange(low, high)
    opened = [await ports.bind(udp_opener(), closed) for _ in range(4)]
    try:
        assert sorted(port_of(e) for e in opened) == list(range(low, high + 1))
        assert (ports.capacity, ports.in_use, ports.free) == (4, 4, 0)
        with pytest.raises(MediaPortsFull) as refused:
            await ports.bind(udp_opener(), closed)
        assert refused.value.code == "media_ports_full"
    finally:
        for transport, _ in opened:
            transport.close()


async def test_a_closed_socket_gives_its_port_back():
    low, high = free_range(2)
    ports = PortRange(low, high)
    first = await ports.bind(udp_opener(), closed)
    second = await ports.bind(udp_opener(), closed)
    first[0].close()
    await asyncio.sleep(0)  # asyncio closes the socket on the next loop turn
    assert ports.in_use == 1
    third = await ports.bind(udp_opener(), closed)
    try:
        assert port_of(third) == port_of(first)
        assert ports.in_use == 2
    finally:
        second[0].close()
        third[0].close()


async def test_a_port_someone_else_holds_is_skipped():
    low, high = free_range(3)
    outsider = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outsider.bind(("127.0.0.1", low))
    ports = PortRange(low, high)
    opened: list[Endpoint] = []
    try:
        opened.append(await ports.bind(udp_opener(), closed))
        opened.append(await ports.bind(udp_opener(), closed))
        assert sorted(port_of(e) for e in opened) == [low + 1, low + 2]
        with pytest.raises(MediaPortsFull):
            await ports.bind(udp_opener(), closed)
        assert ports.in_use == 2  # a failed bind holds nothing
    finally:
        outsider.close()
        for transport, _ in opened:
            transport.close()


async def test_other_bind_errors_are_not_taken_for_a_full_range():
    low, high = free_range(2)
    ports = PortRange(low, high)
    # 192.0.2.1 (TEST-NET-1) is no address of this host: EADDRNOTAVAIL.
    with pytest.raises(OSError) as failed:
        await ports.bind(udp_opener("192.0.2.1"), closed)
    assert not isinstance(failed.value, MediaPortsFull)
    assert ports.in_use == 0


async def test_concurrent_binds_never_share_a_port():
    low, high = free_range(8)
    ports = PortRange(low, high)
    results = await asyncio.gather(
        *(ports.bind(udp_opener(), closed) for _ in range(10)), return_exceptions=True
    )
    opened = [r for r in results if not isinstance(r, BaseException)]
    try:
        assert len({port_of(e) for e in opened}) == len(opened) == 8
        assert all(isinstance(r, MediaPortsFull) for r in results if isinstance(r, BaseException))
        assert ports.in_use == 8
    finally:
        for transport, _ in opened:
            transport.close()


async def test_a_participant_is_refused_when_the_range_cannot_hold_everyone():
    low, high = free_range(8)
    ports = PortRange(low, high)
    # 8 ports, one address: 2 sockets each, so 4 participants.
    ports.check_room_for_participant(addresses=1, participants=3)
    with pytest.raises(MediaPortsFull) as refused:
        ports.check_room_for_participant(addresses=1, participants=4)
    assert "media port range" in refused.value.message
    # Two addresses: 4 sockets each, so 2 participants.
    ports.check_room_for_participant(addresses=2, participants=1)
    with pytest.raises(MediaPortsFull):
        ports.check_room_for_participant(addresses=2, participants=2)


async def test_free_ports_count_even_when_few_participants_are_here():
    low, high = free_range(4)
    ports = PortRange(low, high)
    opened = [await ports.bind(udp_opener(), closed) for _ in range(3)]
    try:
        # Room for two participants by size, but one free port holds nobody.
        with pytest.raises(MediaPortsFull):
            ports.check_room_for_participant(addresses=1, participants=0)
    finally:
        for transport, _ in opened:
            transport.close()


def test_one_range_per_bounds_in_a_process_and_none_without_a_range():
    assert shared_port_range((21000, 21009)) is shared_port_range((21000, 21009))
    assert shared_port_range((21000, 21009)) is not shared_port_range((21000, 21019))
    check_media_ports(SfuSettings(rtc_ports=None), participants=10_000)
    check_media_ports(SfuSettings(rtc_ports=(21000, 21009), ice_addresses=("127.0.0.1",)), 4)
    with pytest.raises(MediaPortsFull):
        check_media_ports(SfuSettings(rtc_ports=(21000, 21009), ice_addresses=("127.0.0.1",)), 5)


def test_a_range_must_be_a_range():
    with pytest.raises(ValueError):
        PortRange(40010, 40000)
