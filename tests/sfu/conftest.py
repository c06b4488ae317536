"""Fixtures of the SFU unit tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from relay_nodes import Node, link, start_node

from sfu import aiortc_bridge as bridge


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    """A loopback UDP socket standing in for a subscriber (0.01 s read timeout)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.01)
    yield sock
    sock.close()


@pytest.fixture
def udp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(sender, receiver) on loopback: the sender non-blocking, as the
    server's; the receiver waits 0.2 s for a packet."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.2)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setblocking(False)
    yield sender, receiver
    receiver.close()
    sender.close()


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[Node, Node]]:
    """Two linked nodes (tests/sfu/relay_nodes.py), closed after the test."""
    a, b = await start_node("node-a"), await start_node("node-b")
    link(a, b)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


@pytest.fixture
async def connected() -> AsyncIterator[tuple[Any, Any]]:
    """Two aiortc peers connected over loopback: (offerer's DTLS transport,
    answerer's DTLS transport)."""
    offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
    try:
        offerer.addTransceiver("audio", direction="sendonly")
        await offerer.setLocalDescription(await offerer.createOffer())
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        await offerer.setRemoteDescription(answerer.localDescription)
        for _ in range(200):
            if offerer.connectionState == answerer.connectionState == "connected":
                break
            await asyncio.sleep(0.05)
        assert offerer.connectionState == answerer.connectionState == "connected"
        yield (
            bridge.dtls_transport_of(offerer.getTransceivers()[0]),
            bridge.dtls_transport_of(answerer.getTransceivers()[0]),
        )
    finally:
        await offerer.close()
        await answerer.close()
