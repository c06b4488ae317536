"""Fixtures of the SFU unit tests."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from relay_nodes import Node, link, start_node


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    """A loopback UDP socket standing in for a subscriber (0.01 s read timeout)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.01)
    yield sock
    sock.close()


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
