"""Sending UDP datagrams now or not at all.

The SFU's media sockets (a subscriber's connection, the relay between nodes)
send on the socket itself instead of through asyncio's transport: a datagram
the kernel cannot take at once is dropped (``BlockingIOError``) rather than
queued without bound and sent late.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

#: ``sendto(data, address)``: raises ``BlockingIOError`` on a full buffer.
SendTo = Callable[[bytes, Any], object]


def unqueued_sendto(udp: Any) -> SendTo:
    """``sendto`` of ``udp``'s socket where asyncio lends it out; else (uvloop
    keeps it to itself) the transport's, failing as a full socket would
    instead of letting the transport queue."""
    raw = getattr(udp.get_extra_info("socket"), "_sock", None)
    if raw is not None:
        sendto: SendTo = raw.sendto
        return sendto

    def through_transport(data: bytes, address: Any) -> None:
        if udp.is_closing():
            raise OSError(errno.EBADF, "the socket is closed")
        if udp.get_write_buffer_size():
            raise BlockingIOError
        udp.sendto(data, address)

    return through_transport
