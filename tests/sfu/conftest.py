"""Fixtures of the SFU unit tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    """A loopback UDP socket standing in for a subscriber (0.01 s read timeout)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.01)
    yield sock
    sock.close()
