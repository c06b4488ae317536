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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._rtp_send import RtpSender as NativeSender

__all__ = [
    "ConsumerBase",
    "SlotBase",
    "compiled_fan_out",
    "create",
    "enabled",
    "register_consumer_type",
    "sockaddr",
]

_CompiledSender: type[NativeSender] | None
try:
    # Named in full: tests/test_layering.py reads ``from . import _rtp_send``
    # (a module without a .py file) as an import of the package itself.
    import sfu._rtp_send as _compiled

    _CompiledSender = _compiled.RtpSender
except ImportError:  # built without a C compiler
    _compiled = None  # type: ignore[assignment]
    _CompiledSender = None


class _PythonSlotBase:
    """The per-packet fields of a send slot, where the module was not built.

    With the module, :class:`sfu.send_slot.SendSlot` inherits them as C
    fields instead, which the compiled fan-out reads and writes directly
    (``_varying_kind``: 0 none, 1 audio level, 2 abs-send-time)."""

    _seq_offset: int
    _ts_offset: int
    _last_seq: int
    _last_ts: int
    _last_wall: float
    packets_sent: int
    _octets: int
    ssrc: int
    _payload_type: int
    _varying_kind: int
    _ext_plain: bytes
    _ext_prefix: bytes
    _ext_zeros: int
    _path: Any
    _stats: Any


class _PythonConsumerBase:
    """The per-packet fields of a consumer, where the module was not built
    (with it, C fields the compiled fan-out reads and writes)."""

    paused: bool
    current_layer: int | None
    packets_sent: int
    slot: Any


if TYPE_CHECKING or _compiled is None:
    SlotBase = _PythonSlotBase
    ConsumerBase = _PythonConsumerBase
else:
    SlotBase = _compiled.SlotBase
    ConsumerBase = _compiled.ConsumerBase

#: ``fan_out(consumers, view, layer, times)``: each consumer's ``send(view,
#: layer)``; with a list ``times``, the seconds from the start to the end of each.
FanOut = Callable[[list[Any], Any, int, "list[float] | None"], None]


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
    ``srtp_t`` at ``srtp`` (kept alive through ``owner``, which frees it;
    ``srtp`` 0: a session per SSRC, each given with the sender's
    ``add_session``); None when the compiled
    sender is not available or the address cannot be packed. The addresses
    are trusted as ctypes would: a wrong one crashes the process."""
    if _CompiledSender is None or not enabled() or not hasattr(sock, "fileno"):
        return None
    packed = sockaddr(getattr(sock, "family", None), address)
    if packed is None:
        return None
    return _CompiledSender(sock, packed, protect, srtp, owner)


def register_consumer_type(consumer_type: type) -> None:
    """Let the compiled fan-out do ``consumer_type``'s ``send`` in C, for
    consumers that forward the packet's layer through a resolved compiled
    sender. ``consumer_type`` derives from :data:`ConsumerBase`, its slots
    from :data:`SlotBase`, whose fields the C code reads and writes as that
    ``send`` would; a failed send is handed to its ``_send_failed(seq,
    ts)``. Nothing to do where the module is not built."""
    if _compiled is not None:
        _compiled.set_consumer_type(consumer_type)


def compiled_fan_out() -> FanOut | None:
    """``fan_out(consumers, view, layer, times)``: each consumer's ``send(view,
    layer)`` in order (and into the list ``times``, unless None, the seconds
    from the start to the end of each), in C for the registered consumer type
    (:func:`register_consumer_type`); None where the module is not built or
    switched off, or only the fan-out is (``CONF_NATIVE_FAN_OUT=0``, for
    measuring what it saves): then call each consumer's ``send``."""
    if _compiled is None or not enabled() or os.environ.get("CONF_NATIVE_FAN_OUT") == "0":
        return None
    fan_out: FanOut = _compiled.fan_out
    return fan_out
