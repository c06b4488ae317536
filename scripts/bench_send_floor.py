#!/usr/bin/env python3
"""The floor under a forwarded packet's cost on this machine (issue 17, point 1).

Every forwarded packet needs, whatever language forwards it, one SRTP protect
and one datagram handed to the kernel. This measures those two alone, as CPU
time of the sending process per 1 200-byte packet, fanned out to 24 loopback
receivers (a 25-person mesh) that a child process drains:

- ``sendto``: Python's ``socket.sendto`` per packet (what the SFU does now);
- ``sendmmsg``: one ``sendmmsg(2)`` call (through ctypes) per 24 packets: the
  kernel's own cost, what a compiled fan-out would pay;
- ``protect``: pylibsrtp's ``Session.protect`` and the SFU's direct call
  (``sfu.aiortc_bridge.direct_protect``), AEAD_AES_256_GCM as browsers
  negotiate with the SFU;
- ``the SFU's fan-out``: the same packets through the SFU's own forwarding
  code (a real ``Producer`` fed by hand, a ``Consumer`` and ``SendSlot`` per
  receiver, ``RtpSendPath``), with the compiled fan-out of sfu/_rtp_send.c
  (one call per incoming packet), with only its send step (a Python loop
  over the consumers, one compiled call per subscriber), with the same
  steps in Python (rewrite, the direct protect call, ``sendto``), and
  without the protect call: what is left after the floor is the SFU's own
  per-subscriber work.

On loopback the kernel delivers each datagram into the receiver's socket in
the sender's system call, so ``sendto``'s figure includes the receive side
(in a real deployment the NIC takes it instead). The figures are what
docs/performance.md (*Cheaper packets*) compares with conf-bench's cost per
forwarded packet. Not a test: ``.venv/bin/python scripts/bench_send_floor.py
[--packets 240000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import os
import socket
import statistics
import struct
import time
from collections.abc import Callable

import pylibsrtp
from aiortc import RTCPeerConnection

from sfu import aiortc_bridge as bridge
from sfu import rtp
from sfu.aiortc_bridge import direct_protect
from sfu.consumer import Consumer
from sfu.producer import Producer
from sfu.send_slot import SendSlot
from sfu.settings import SfuSettings
from sfu.stats import SfuStats

FANOUT = 24
PACKET = bytes([0x80, 96]) + bytes(10) + bytes(1188)  # 1 200 bytes
BURST_PAUSE_S = 0.0005  # between bursts, so the drain keeps up (not counted: CPU time)
_VP8 = bridge.Codec("video/VP8", 90000, 96)


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_Iovec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _Msghdr), ("msg_len", ctypes.c_uint)]


def _receivers() -> list[socket.socket]:
    socks = []
    for _ in range(FANOUT):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        socks.append(sock)
    return socks


def _drain_forever(socks: list[socket.socket]) -> None:
    import select

    buffer = bytearray(2048)
    while True:
        ready, _, _ = select.select(socks, [], [])
        for sock in ready:
            try:
                while True:
                    sock.recv_into(buffer)
            except BlockingIOError:
                pass


def _receive_errors() -> int:
    with open("/proc/net/snmp") as snmp:
        rows = [line.split() for line in snmp if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


async def _per_packet(send_burst: Callable[[], int], packets: int) -> tuple[float, int]:
    """CPU µs of this process per packet sent, and the receive-buffer drops."""
    errors = _receive_errors()
    sent = 0
    cpu = 0.0
    while sent < packets:
        started = time.process_time()
        count = send_burst()
        cpu += time.process_time() - started
        if count <= 0:
            raise RuntimeError("a burst sent nothing: the measurement would never end")
        sent += count
        await asyncio.sleep(BURST_PAUSE_S)
    return cpu * 1e6 / sent, _receive_errors() - errors


def _python_sendto(sock: socket.socket, addresses: list[tuple[str, int]]) -> Callable[[], int]:
    sendto = sock.sendto

    def burst() -> int:
        for address in addresses:
            sendto(PACKET, address)
        return len(addresses)

    return burst


def _ctypes_sendmmsg(sock: socket.socket, addresses: list[tuple[str, int]]) -> Callable[[], int]:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    sendmmsg = libc.sendmmsg
    sendmmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_Mmsghdr), ctypes.c_uint, ctypes.c_int]
    payload = ctypes.create_string_buffer(PACKET, len(PACKET))
    iovecs = (_Iovec * FANOUT)()
    names = []
    messages = (_Mmsghdr * FANOUT)()
    for i, (host, port) in enumerate(addresses):
        # struct sockaddr_in: family, port (network order), address, zero padding
        name = ctypes.create_string_buffer(
            socket.AF_INET.to_bytes(2, "little") + port.to_bytes(2, "big")
            + socket.inet_aton(host) + bytes(8), 16
        )  # fmt: skip
        names.append(name)
        iovecs[i].iov_base = ctypes.addressof(payload)
        iovecs[i].iov_len = len(PACKET)
        header = messages[i].msg_hdr
        header.msg_name = ctypes.addressof(name)
        header.msg_namelen = 16
        header.msg_iov = ctypes.pointer(iovecs[i])
        header.msg_iovlen = 1
    fd = sock.fileno()

    def burst() -> int:
        count = sendmmsg(fd, messages, FANOUT, 0)
        if count < 0:
            raise OSError(ctypes.get_errno(), "sendmmsg failed")
        return int(count)

    burst.keep = (payload, iovecs, names, messages)  # type: ignore[attr-defined]
    return burst


def _protect_cost(protect: Callable[[bytes], bytes]) -> float:
    """CPU µs per protect call, over one sequence-number cycle (a fresh session:
    libsrtp refuses a number it has protected before)."""
    packets = [PACKET[:2] + seq.to_bytes(2, "big") + PACKET[4:] for seq in range(0x10000)]
    started = time.process_time()
    for packet in packets:
        protect(packet)
    return (time.process_time() - started) * 1e6 / len(packets)


class _Fanout:
    """One hand-fed VP8 producer and a consumer per receiver, as the SFU
    forwards (``protect``: whether each path protects with its own session)."""

    def __init__(
        self,
        sock: socket.socket,
        addresses: list[tuple[str, int]],
        protect: bool,
        native: bool = True,
        fan_out: bool = True,
    ) -> None:
        async def no_keyframe_request(ssrc: int) -> bool:
            return True

        settings = SfuSettings()
        self.producer = Producer(
            kind="video", codec=_VP8, mid="0", ssrc=0x1001, audio_level_id=None,
            settings=settings, send_keyframe_request=no_keyframe_request, stats=SfuStats(),
        )  # fmt: skip
        if not fan_out:
            self.producer._fan_out = None  # each consumer's send from Python
        self._pc = RTCPeerConnection()
        self.consumers = []
        for address in addresses:
            path = bridge.RtpSendPath.on_socket(
                sock, address, session=_gcm_session() if protect else None, native=native
            )
            slot = SendSlot(bridge.add_send_transceiver(self._pc, "video"), SfuStats(), path)
            slot.codec = _VP8
            consumer = Consumer(self.producer, slot, settings)
            consumer.resume()
            self.consumers.append(consumer)
        self._seq = 0
        self._frame(keyframe=True)

    def _frame(self, keyframe: bool = False) -> None:
        """One 1 200-byte VP8 packet (a keyframe's start, or a delta frame's)."""
        self._seq = (self._seq + 1) & 0xFFFF
        descriptor_and_tag = b"\x10" + (
            b"\x00\x00\x00\x9d\x01\x2a\xa0\x00\x5a\x00" if keyframe else b"\x01\x00\x00"
        )
        header = struct.pack("!BBHII", 0x80, 0x80 | 96, self._seq, self._seq * 3000, 0x1001)
        body = descriptor_and_tag + bytes(1200 - 12 - len(descriptor_and_tag))
        self.producer.receive(rtp.parse(header + body), self.producer.layers[0])

    def burst(self) -> int:
        """One incoming packet, forwarded to every consumer."""
        before = sum(c.packets_sent for c in self.consumers)
        self._frame()
        return sum(c.packets_sent for c in self.consumers) - before


def _gcm_session() -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(
        bytes(range(44)),
        pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
        srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
    )
    return pylibsrtp.Session(policy)


async def measure(addresses: list[tuple[str, int]], packets: int, rounds: int) -> None:
    """Send to ``addresses`` every way, ``rounds`` times interleaved; print the table."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    bursts = {
        "sendto (Python, per packet)": _python_sendto(sender, addresses),
        "sendmmsg (one call per 24 packets)": _ctypes_sendmmsg(sender, addresses),
        "the SFU's fan-out, protect included": _Fanout(sender, addresses, True).burst,
        "the same, compiled send step only": _Fanout(sender, addresses, True, True, False).burst,
        "the same, Python steps (no _rtp_send)": _Fanout(sender, addresses, True, False).burst,
        "the SFU's fan-out, no protect": _Fanout(sender, addresses, False).burst,
    }
    results: dict[str, list[float]] = {name: [] for name in bursts}
    drops = dict.fromkeys(bursts, 0)
    for _ in range(rounds):  # interleaved, so drift hits all alike
        for name, burst in bursts.items():
            cost, dropped = await _per_packet(burst, packets)
            results[name].append(cost)
            drops[name] += dropped
    protects: dict[str, Callable[[], Callable[[bytes], bytes]]] = {
        "Session.protect (AEAD_AES_256_GCM)": lambda: _gcm_session().protect,
        "direct_protect (AEAD_AES_256_GCM)": lambda: direct_protect(_gcm_session()),
    }
    for name, make in protects.items():
        results[name] = [_protect_cost(make()) for _ in range(rounds)]
        drops[name] = 0

    print(f"1 200-byte packets, {FANOUT} loopback receivers, CPU µs of the sender per packet")
    print(f"{'':40} {'median':>8} {'min':>8} {'max':>8}  receive drops")
    for name, costs in results.items():
        print(
            f"{name:40} {statistics.median(costs):8.2f} {min(costs):8.2f} {max(costs):8.2f}"
            f"  {drops[name]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=240_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    receivers = _receivers()
    child = os.fork()
    if child == 0:
        _drain_forever(receivers)
    try:
        addresses = [sock.getsockname() for sock in receivers]
        asyncio.run(measure(addresses, args.packets, args.rounds))
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)


if __name__ == "__main__":
    main()
