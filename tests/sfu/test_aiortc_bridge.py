"""Guards the aiortc internals the bridge relies on: an upgrade that moves one fails here."""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect

import pytest
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcdtlstransport import RTCDtlsTransport

from sfu import aiortc_bridge


def test_aiortc_is_the_pinned_version():
    assert importlib.metadata.version("aiortc") == "1.16.0"


def test_private_hooks_still_exist_with_the_expected_shape():
    assert list(inspect.signature(RTCDtlsTransport._handle_rtp_data).parameters) == [
        "self",
        "data",
        "arrival_time_ms",
    ]
    assert inspect.iscoroutinefunction(RTCDtlsTransport._send_rtp)
    assert inspect.iscoroutinefunction(RTCRtpSender._retransmit)
    assert "_send_keyframe" in vars(RTCRtpSender)
    init = inspect.getsource(RTCRtpReceiver.__init__)
    assert "self.__decoder_queue" in init
    sender_init = inspect.getsource(RTCRtpSender.__init__)
    for counter in ("__ntp_timestamp", "__rtp_timestamp", "__packet_count", "__octet_count"):
        assert f"self.{counter}" in sender_init
    transceiver_init = inspect.getsource(RTCRtpTransceiver.__init__)
    assert "self._codecs" in transceiver_init and "self._headerExtensions" in transceiver_init
    # The dtls transport calls the hook by this exact keyword.
    assert "self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)" in inspect.getsource(
        RTCDtlsTransport._recv_next
    )


def test_ice_address_restriction_is_applied_and_reversible():
    import aioice.ice

    aiortc_bridge.restrict_ice_addresses(["127.0.0.1", "::1"])
    assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
    aiortc_bridge.restrict_ice_addresses(["127.0.0.1"])  # what the other tests use


# -- the media port range: aioice has no option for it ------------------------------


def test_aioice_binds_host_candidates_where_the_port_range_hooks_in():
    """The port range relies on ``get_component_candidates`` asking the module's
    ``asyncio.get_running_loop()`` for a loop and binding each host candidate
    with ``create_datagram_endpoint(..., local_addr=(address, 0))``."""
    import aioice.ice

    assert importlib.metadata.version("aioice") == "0.13.0", "re-check the port range hook"
    source = inspect.getsource(aioice.ice.Connection.get_component_candidates)
    assert "loop = asyncio.get_running_loop()" in source
    assert "await loop.create_datagram_endpoint(" in source
    assert "local_addr=(address, 0)" in source
    assert inspect.ismodule(vars(aioice.ice)["asyncio"])
    assert "get_component_candidates(" in inspect.getsource(aioice.ice.Connection.gather_candidates)


def _candidate_ports(pc) -> list[int]:
    lines = pc.localDescription.sdp.splitlines()
    return [int(line.split()[5]) for line in lines if line.startswith("a=candidate:")]


async def _offer_with_audio(pc, ports=None) -> None:
    aiortc_bridge.add_send_transceiver(pc, "audio")
    await aiortc_bridge.set_local_description(pc, await pc.createOffer(), ports)


async def test_a_confined_gathering_binds_in_the_range_and_others_do_not():
    from aiortc import RTCConfiguration, RTCPeerConnection
    from test_port_range import free_range

    from sfu.port_range import PortRange

    aiortc_bridge.restrict_ice_addresses(["127.0.0.1"])
    low, high = free_range(4)
    ports = PortRange(low, high)
    servers = [aiortc_bridge.create_peer_connection(()) for _ in range(3)]
    clients = [RTCPeerConnection(RTCConfiguration(iceServers=[])) for _ in range(3)]
    try:
        # Gatherings at the same time: only the servers' are confined.
        await asyncio.gather(
            *(_offer_with_audio(pc, ports) for pc in servers),
            *(_offer_with_audio(pc) for pc in clients),
        )
        server_ports = [p for pc in servers for p in _candidate_ports(pc)]
        assert len(server_ports) == 3 and all(low <= p <= high for p in server_ports)
        assert len(set(server_ports)) == 3
        assert not any(low <= p <= high for pc in clients for p in _candidate_ports(pc))
        assert ports.in_use == 3
        # The guard of the stand-in: aioice still sees the real asyncio elsewhere.
        import aioice.ice

        assert vars(aioice.ice)["asyncio"].Future is asyncio.Future
        await servers[0].close()
        assert ports.in_use == 2  # aioice closed the socket: the port is back
    finally:
        for pc in servers + clients:
            await pc.close()
    assert ports.in_use == 0


async def test_a_gathering_that_finds_no_free_port_fails():
    from test_port_range import free_range

    from sfu.errors import MediaPortsFull
    from sfu.port_range import PortRange

    aiortc_bridge.restrict_ice_addresses(["127.0.0.1"])
    low, high = free_range(1)
    ports = PortRange(low, high)
    first = aiortc_bridge.create_peer_connection(())
    second = aiortc_bridge.create_peer_connection(())
    try:
        await _offer_with_audio(first, ports)
        with pytest.raises(MediaPortsFull):
            await _offer_with_audio(second, ports)
        assert _candidate_ports(first) == [low]
    finally:
        await first.close()
        await second.close()
