"""The compiled last step of forwarding a packet, when it was built.

``sfu/_rtp_send.c`` writes a forwarded packet's rewritten header in front of
its payload, protects it with the subscriber's SRTP session and sends it with
one ``sendto(2)``: one call from Python instead of a header join, two copies,
a protect call and a ``sendto`` call (docs/performance.md, *Cheaper
packets*). The installation builds it with the C compiler that
scripts/setup.sh installs; where it could not be built (or
``CONF_NATIVE_SEND=0`` is set, for comparing the two), ``RtpSendPath`` does
the same steps in Python, with the same bytes on the wire.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._rtp_send import RtpSender as NativeSender

__all__ = ["create", "enabled", "sockaddr"]

_CompiledSender: type[NativeSender] | None
try:
    from ._rtp_send import RtpSender as _CompiledSender
except ImportError:  # built without a C compiler
    _CompiledSender = None


def enabled() -> bool:
    """True when the compiled sender is built, on Linux (whose ``struct
    sockaddr`` :func:`sockaddr` packs), and not switched off."""
    return (
        _CompiledSender is not None
        and sys.platform == "linux"
        and os.environ.get("CONF_NATIVE_SEND", "1") != "0"
    )


def sockaddr(family: int | None, address: Any) -> bytes | None:
    """``address`` as the socket module takes it, packed as a C ``struct
    sockaddr`` of ``family``; None for anything else (e.g. a scoped IPv6 address)."""
    try:
        if family == socket.AF_INET:
            host, port = address
            return (
                struct.pack("=H", socket.AF_INET) + struct.pack("!H", port)
                + socket.inet_pton(socket.AF_INET, host) + bytes(8)
            )  # fmt: skip
        if family == socket.AF_INET6 and "%" not in address[0]:
            host, port = address[0], address[1]
            flowinfo = address[2] if len(address) > 2 else 0
            scope = address[3] if len(address) > 3 else 0
            return (
                struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, flowinfo)
                + socket.inet_pton(socket.AF_INET6, host) + struct.pack("=I", scope)
            )  # fmt: skip
    except (OSError, ValueError, TypeError, IndexError, struct.error):
        return None
    return None


def create(sock: Any, address: Any, protect: int, srtp: int, owner: object) -> NativeSender | None:
    """A sender on ``sock`` (a socket, or anything with its ``family`` and a
    ``fileno()`` that is -1 once closed, as uvloop's) to ``address``,
    protecting with libsrtp's ``srtp_protect`` at address ``protect`` on the
    ``srtp_t`` at ``srtp``
    (kept alive through ``owner``, which frees it); None when the compiled
    sender is not available or the address cannot be packed. The addresses
    are trusted as ctypes would: a wrong one crashes the process."""
    if _CompiledSender is None or not enabled() or not hasattr(sock, "fileno"):
        return None
    packed = sockaddr(getattr(sock, "family", None), address)
    if packed is None:
        return None
    return _CompiledSender(sock, packed, protect, srtp, owner)
