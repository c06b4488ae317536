"""RelayEndpoint: the authenticated UDP path between the SFUs of two nodes.

A room whose participants sit on several nodes (issue 17, point 3) has a
router on each of them; a track one node receives from its publisher crosses
to every other node that needs it once, whatever the number of subscribers
there (cf. mediasoup's ``pipeToRouter``, Jitsi's Octo). This module is the
wire: one UDP socket per node, shared by all rooms and all peer nodes, on the
deployment's private network.

Everything on it is SRTP/SRTCP with AEAD_AES_128_GCM (RFC 7714): encrypted,
authenticated and replay-checked by libsrtp (pylibsrtp, already used for the
browsers' media). There is no handshake: each direction of each node pair has
its own key, derived from the deployment's shared secret, both node names and
the sending process's *epoch* (random per start), so a restarted node never
reuses a key stream, and a node that does not know the secret can neither
send nor read. A datagram from an address that is not a known peer or one
that does not authenticate is dropped and counted (:attr:`RelayStats.rejected`),
a copy of one already received too (:attr:`RelayStats.replayed`): it costs
the receiver one dictionary lookup, or one GCM check.

What travels: RTP packets of relayed tracks, each layer under its own relay
SSRC (chosen by the sender, unique on its side of the link), and RTCP
feedback for them the other way (PLI/FIR, NACK, the simulcast layers
wanted). Which tracks to relay, and their SSRCs, is agreed elsewhere
(:mod:`sfu.relay_tracks` describes a track; the deployment's control plane
carries the description).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pylibsrtp

from . import rtcp
from .udp_send import SendTo, unqueued_sendto

logger = logging.getLogger(__name__)

#: RFC 7714 AEAD_AES_128_GCM: a 16-byte key and a 12-byte salt.
_PROFILE = pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM
_KEY_BYTES = 28

RtpRoute = Callable[[bytes], None]
#: Called with a piece of feedback and the relay SSRC it was routed by (a FIR
#: names several: its route is called once for each that is routed).
FeedbackRoute = Callable[[rtcp.Feedback, int], None]

#: Bytes asked for the relay socket's receive and send buffers. One socket
#: carries every relayed track of the node: at the kernel's default (~208 KB,
#: about 90 full packets on loopback) a node whose loop is busy for tens of
#: milliseconds loses relayed media. The kernel caps it at
#: ``net.core.rmem_max`` / ``wmem_max`` (docs/operations.md).
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024

#: How often the relayed tracks' periodic work runs (NACKs for gaps, and
#: every so many rounds the publishers' sender reports): one task per node.
TICK_S = 0.05


def new_epoch() -> str:
    """A random name for this start of a node's relay endpoint."""
    return secrets.token_hex(8)


def relay_key(secret: bytes, sender: str, sender_epoch: str, receiver: str) -> bytes:
    """The SRTP master key and salt of one direction of one node pair."""
    label = f"conf-relay|{sender}|{sender_epoch}|{receiver}".encode()
    return hmac.new(secret, label, hashlib.sha256).digest()[:_KEY_BYTES]


def _session(key: bytes, ssrc_type: int) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(key=key, ssrc_type=ssrc_type, srtp_profile=_PROFILE)
    policy.window_size = 1024  # relays reorder little, but a burst can be long
    # A NACK is answered with the same packet (same index) again: libsrtp
    # refuses that unless told. The receiver's replay check still drops a
    # copy of what it already has.
    policy.allow_repeat_tx = True
    return pylibsrtp.Session(policy=policy)


@dataclass
class RelayStats:
    """Counters of one endpoint (all peers)."""

    rtp_sent: int = 0
    rtp_received: int = 0
    rtcp_sent: int = 0
    rtcp_received: int = 0
    #: Datagrams dropped: unknown sender address, failed authentication.
    rejected: int = 0
    #: Dropped by the replay check: a copy of an index already received, or
    #: one too old for the window. Normal in small numbers (a NACK's answer
    #: that crosses an original which was only late); a forged copy lands
    #: here too, as harmless as any other copy.
    replayed: int = 0
    #: Authentic packets for an SSRC nobody routes (a track just closed).
    unrouted: int = 0
    #: Sends the kernel refused (full buffer): dropped, never queued.
    dropped: int = 0


@dataclass
class RelayPeer:
    """Another node at the other end of the link."""

    name: str
    address: tuple[str, int]
    epoch: str
    outbound: pylibsrtp.Session
    inbound: pylibsrtp.Session
    #: Inbound relay SSRC -> where its RTP goes, and its sender reports.
    rtp_routes: dict[int, RtpRoute] = field(default_factory=dict)
    report_routes: dict[int, FeedbackRoute] = field(default_factory=dict)
    #: Outbound relay SSRC -> where the peer's feedback on it goes (PLI, FIR, NACK).
    feedback_routes: dict[int, FeedbackRoute] = field(default_factory=dict)
    #: Relay SSRCs this side chose for what it sends to the peer.
    outbound_ssrcs: set[int] = field(default_factory=set)


class RelayEndpoint(asyncio.DatagramProtocol):
    """This node's end of every relay link (see the module docstring)."""

    def __init__(self, name: str, secret: bytes, epoch: str | None = None) -> None:
        if len(secret) < 16:
            raise ValueError("the relay secret must be at least 16 bytes")
        self.name = name
        self.epoch = epoch or new_epoch()
        self.stats = RelayStats()
        self._secret = secret
        self._peers: dict[str, RelayPeer] = {}
        self._by_address: dict[tuple[str, int], RelayPeer] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._sendto: SendTo | None = None
        #: The socket's receive buffer as the kernel granted it (bytes).
        self.receive_buffer = 0
        self._tickers: set[Callable[[float], None]] = set()
        self._ticking: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------

    async def start(self, host: str, port: int = 0) -> tuple[str, int]:
        """Bind the socket; returns the address peers send to."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self._transport = transport
        sock = transport.get_extra_info("socket")
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
        self.receive_buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        # A full buffer drops the packet (counted) instead of growing
        # asyncio's send queue without bound behind a slow peer.
        self._sendto = unqueued_sendto(transport)
        self._ticking = asyncio.ensure_future(self._tick())
        address: tuple[str, int] = transport.get_extra_info("sockname")[:2]
        return address

    def close(self) -> None:
        if self._ticking is not None:
            self._ticking.cancel()
            self._ticking = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
            self._sendto = None
        self._peers.clear()
        self._by_address.clear()

    def add_peer(self, name: str, address: tuple[str, int], epoch: str) -> RelayPeer:
        """Start a link to node ``name`` (its relay address and current epoch).

        A peer known under an older epoch (it restarted) is replaced: its
        routes are dropped, since the tracks they served are gone with it.
        """
        if name == self.name:
            raise ValueError("a node does not relay to itself")
        old = self._peers.get(name)
        if old is not None:
            if old.epoch == epoch and old.address == address:
                return old
            self.remove_peer(name)
        peer = RelayPeer(
            name,
            address,
            epoch,
            outbound=_session(
                relay_key(self._secret, self.name, self.epoch, name),
                pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
            ),
            inbound=_session(
                relay_key(self._secret, name, epoch, self.name), pylibsrtp.Policy.SSRC_ANY_INBOUND
            ),
        )
        self._peers[name] = peer
        self._by_address[address] = peer
        return peer

    def remove_peer(self, name: str) -> None:
        peer = self._peers.pop(name, None)
        if peer is not None and self._by_address.get(peer.address) is peer:
            del self._by_address[peer.address]

    def peer(self, name: str) -> RelayPeer | None:
        return self._peers.get(name)

    def peer_names(self) -> list[str]:
        return list(self._peers)

    # -- routes and periodic work -----------------------------------------------

    def add_ticker(self, tick: Callable[[float], None]) -> None:
        """Call ``tick(now)`` every :data:`TICK_S` until :meth:`remove_ticker`."""
        self._tickers.add(tick)

    def remove_ticker(self, tick: Callable[[float], None]) -> None:
        self._tickers.discard(tick)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            for tick in list(self._tickers):
                try:
                    tick(now)
                except Exception:
                    logger.exception("relay tick %r failed", tick)

    def new_ssrc(self, peer: RelayPeer) -> int:
        """A relay SSRC not yet used towards ``peer``."""
        while True:
            ssrc = secrets.randbits(32)
            if ssrc and ssrc not in peer.outbound_ssrcs:
                peer.outbound_ssrcs.add(ssrc)
                return ssrc

    def release_ssrc(self, peer: RelayPeer, ssrc: int) -> None:
        peer.outbound_ssrcs.discard(ssrc)
        peer.feedback_routes.pop(ssrc, None)

    # -- sending ----------------------------------------------------------------

    def send_rtp(self, peer: RelayPeer, packet: bytes) -> bool:
        """Protect and send one RTP packet; False if it could not go."""
        if self._send(peer, packet, peer.outbound.protect):
            self.stats.rtp_sent += 1
            return True
        return False

    def send_rtcp(self, peer: RelayPeer, packet: bytes) -> bool:
        """Protect and send one RTCP packet (feedback for a relayed stream)."""
        if self._send(peer, packet, peer.outbound.protect_rtcp):
            self.stats.rtcp_sent += 1
            return True
        return False

    def _send(self, peer: RelayPeer, packet: bytes, protect: Callable[[bytes], bytes]) -> bool:
        if self._sendto is None:
            return False
        try:
            self._sendto(protect(packet), peer.address)
        except (pylibsrtp.Error, OSError):  # (a full buffer: BlockingIOError)
            self.stats.dropped += 1
            return False
        return True

    # -- receiving --------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        peer = self._by_address.get((addr[0], addr[1]))
        if peer is None or len(data) < 12 or data[0] >> 6 != 2:
            self.stats.rejected += 1
            return
        # RFC 5761: payload types 192-223 are RTCP.
        if 192 <= data[1] <= 223:
            self._rtcp_received(peer, data)
            return
        try:
            plain = peer.inbound.unprotect(data)
        except pylibsrtp.Error as exc:
            self._count_refused(exc)
            return
        self.stats.rtp_received += 1
        route = peer.rtp_routes.get(int.from_bytes(plain[8:12], "big"))
        if route is None:
            self.stats.unrouted += 1
            return
        try:
            route(plain)
        except Exception:
            logger.exception("relayed RTP from %s failed", peer.name)

    def _count_refused(self, exc: pylibsrtp.Error) -> None:
        # libsrtp checks the index before it authenticates: "replay check
        # failed (bad index | index too old)".
        if "replay" in str(exc):
            self.stats.replayed += 1
        else:
            self.stats.rejected += 1

    def _rtcp_received(self, peer: RelayPeer, data: bytes) -> None:
        try:
            plain = peer.inbound.unprotect_rtcp(data)
        except pylibsrtp.Error as exc:
            self._count_refused(exc)
            return
        self.stats.rtcp_received += 1
        for feedback in rtcp.parse_feedback(plain):
            ssrcs: tuple[int, ...]
            if feedback.kind == "sr":
                routes, ssrcs = peer.report_routes, (feedback.sender_ssrc,)
            elif feedback.kind == "fir":
                routes, ssrcs = peer.feedback_routes, feedback.ssrcs
            else:
                routes, ssrcs = peer.feedback_routes, (feedback.media_ssrc,)
            for ssrc in ssrcs:
                route = routes.get(ssrc)
                if route is None:
                    self.stats.unrouted += 1
                    continue
                try:
                    route(feedback, ssrc)
                except Exception:
                    logger.exception("relayed feedback from %s failed", peer.name)

    def error_received(self, exc: Exception) -> None:
        logger.debug("relay socket error: %s", exc)
