"""The one module that touches aiortc's private internals.

aiortc offers no public packet-level forwarding API, so the SFU reaches into a
few private attributes. Every such use lives here, so that an aiortc upgrade
is one file's work; aiortc is pinned to an exact version in pyproject.toml and
tests/sfu/test_aiortc_bridge.py fails loudly if any of these internals moves.

What is used, and why:

* ``RTCDtlsTransport._handle_rtp_data``: replaced per transport on the publish
  side, so decrypted RTP reaches the SFU as bytes before aiortc parses,
  depayloads, jitter-buffers or decodes it. Once the first packet came that
  way, the nominated pair's aioice ``StunProtocol.datagram_received`` is
  wrapped too (``_take_rtp_at_socket``): RTP (told by its first two bytes,
  RFC 7983/5761) is decrypted with ``RTCDtlsTransport._rx_srtp`` right there,
  skipping aioice's STUN parse attempt, its queue, a task switch and two
  coroutine layers per packet; STUN, DTLS and RTCP still go aiortc's way.
* ``RTCDtlsTransport._handle_rtcp_data``: wrapped per publish transport, so
  the publisher's RTCP sender reports (NTP <-> RTP timestamp) reach the SFU
  (recording aligns audio and video with them); aiortc still handles RTCP.
  Replaced per subscribe transport (``take_incoming_rtcp``): a subscriber's
  RTCP is all feedback the SFU reads itself (``sfu.rtcp``), so aiortc never
  parses it; from the first packet on it is decrypted at the socket
  (``RTCDtlsTransport._rx_srtp``), like published RTP.
* ``RTCDtlsTransport._send_rtp``: SRTP-protect and send RTCP we built. For
  forwarded RTP, ``RtpSendPath`` does the same work synchronously from
  ``RTCDtlsTransport._state`` / ``_tx_srtp`` and aioice's nominated pair
  (``Connection._nominated``, its protocol's socket), skipping four coroutine
  layers and asyncio's unbounded send buffer.
* ``RTCRtpReceiver.receive``: run with the ``threading`` name of
  ``aiortc.rtcrtpreceiver`` standing for a decoder thread that never starts (the
  SFU never decodes; see ``disable_decoder``).
* ``aiortc.rtcrtpreceiver``'s module global ``RemoteBitrateEstimator``:
  swapped for a function giving None while ``add_send_transceiver`` adds a
  subscriber's slot, whose receiver never receives anything (see there).
* ``RTCRtpSender._send_keyframe`` / ``_retransmit``: replaced per sender by
  conf-bench's load generator, so the SFU's PLI/FIR reach its publishers.
* ``RTCRtpSender._ssrc``; its ``_run_rtcp`` replaced per subscribe sender
  (``take_sender_reports``) by a task that only sets the ``__rtcp_started`` /
  ``__rtcp_exited`` events ``stop()`` waits for, and its ``__cname``: the SFU
  sends the sender reports of a subscribe transport's slots itself, in one
  compound packet from the router's one ticker (``RtpSendPath.send_rtcp``
  protects it with ``_tx_srtp.protect_rtcp``), instead of aiortc's timer and
  coroutine send per sender.
* pylibsrtp's ``Session._srtp`` / ``_cdata`` / ``_buffer`` (``direct_protect``):
  the send path calls ``srtp_protect`` itself, without pylibsrtp's per-call
  allocation; the compiled sender (``_native_sender``, sfu/native_send.py)
  is given the addresses of ``srtp_protect`` and of the session's ``srtp_t``.
* ``RTCDtlsTransport._ssl`` / ``_srtp_profiles`` / ``_role``
  (``outgoing_srtp_key``): the outgoing SRTP master key is derived again
  exactly as ``_setup_srtp`` derives it for ``_tx_srtp``, so that
  ``RtpSendPath`` protects each SSRC's RTP with a session of its own
  (libsrtp searches a session's streams for every packet's SSRC).
* ``RTCRtpTransceiver._codecs`` / ``_headerExtensions``: the negotiated codecs
  and header-extension ids; the publish answer is narrowed to what we forward
  (and its Opus gets ``nack`` feedback, which aiortc's codec table lacks).
* ``aiortc.sdp`` (public but undocumented): the subscribe offer's Opus gets
  ``nack`` feedback (``with_audio_nack``), since aiortc builds every offer
  from a process-wide codec table that must not change.
* ``RTCPeerConnection.__certificates`` (``create_peer_connection``): each
  certificate's ``getFingerprints`` is computed once and kept on the
  instance. aiortc computes three digests of the certificate for every
  m-section, twice per offer (``createOffer`` and ``setLocalDescription``):
  at 108 m-sections a fifth of a subscriber's renegotiation (issue 17).
* ``aiortc.rtcpeerconnection.wrap_session_description`` and
  ``aiortc.sdp.SessionDescription.parse`` (the module global and the class
  method, once per process; ``create_offer`` / ``set_local_offer``): while
  ``create_offer`` runs ``createOffer``, the description object aiortc
  writes the offer from is kept; ``set_local_offer`` hands that object (with
  the same Opus ``nack`` feedback as the text) to ``setLocalDescription``,
  whose parse of that very text object returns it instead of parsing the
  text aiortc has just written (a third of a subscriber's renegotiation at
  108 m-sections). Both hooks pass everything else through; if either is
  not reached, ``setLocalDescription`` parses the same text as before.
* ``aiortc.rtcpeerconnection``'s module global ``copy`` and ``aiortc.sdp``'s
  ``ipaddress_to_sdp`` (once per process, with the hooks above):
  ``setRemoteDescription`` deep-copies the common codec of every m-section
  (38 µs each with ``copy.deepcopy``); the stand-in ``copy`` module copies an
  ``RTCRtpCodecParameters`` field by field (its feedback list and parameters
  dict new, their values immutable), anything else with ``copy.deepcopy``.
  The SDP writer turns every ``c=`` and ``a=rtcp`` address into text through
  ``ipaddress`` (4 µs each, two per m-section per description written); that
  pure function is memoised.
* aioice's ``StunProtocol.datagram_received`` of the nominated pair
  (``_route_at_socket``): besides the decryption above,
  load generators count RTP there (``count_rtp_at_socket``): SRTP leaves RTP
  headers in clear, so a benchmark receiver can count packets before ICE,
  DTLS and SRTP handle them.
* aioice's ``StunProtocol.datagram_received`` (the class, once per process,
  ``demultiplex_by_first_byte``): datagrams whose first byte says DTLS or
  SRTP/SRTCP (RFC 7983) go to the connection's data queue without the STUN
  parse attempt aioice makes on every datagram; only 0-3 is parsed as STUN.
* aioice's ``Connection.query_consent`` (the class, once per process):
  replaced by ``sfu.ice_consent``'s, which retransmits each check and lets
  consent expire only after 30 s without any answer (RFC 7675), instead of
  after six checks in a row not answered within 0.5 s.
* ``aioice.ice.get_host_addresses``: wrapped once per process when the
  deployment names the addresses ICE may gather on.
* ``aioice.ice``'s module global ``asyncio`` (media port range, see
  ``set_local_description``): replaced once per process by a stand-in that is
  the real module except for ``get_running_loop()``. While a confined
  gathering runs (a context variable, so only the server's own peer
  connections, never a client peer in the same process), that returns a loop
  whose ``create_datagram_endpoint(..., local_addr=(address, 0))`` (how
  ``Connection.get_component_candidates`` binds host candidates) binds a port
  of the range instead of an ephemeral one. Everything else passes through.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import errno
import functools
import logging
import os
import socket
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import aioice.ice
import aiortc.rtcpeerconnection
import aiortc.rtcrtpreceiver
import aiortc.sdp
import pylibsrtp
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
    sdp,
)
from aiortc.codecs import get_capabilities
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsFingerprint, RTCDtlsTransport
from aiortc.rtcdtlstransport import State as _DtlsState
from aiortc.rtcrtpparameters import (
    RTCRtcpFeedback,
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket
from pylibsrtp._binding import ffi as _srtp_ffi
from pylibsrtp._binding import lib as _srtp_lib

from . import ice_consent, native_send, rtp
from .errors import MediaPortsFull
from .udp_send import SendTo, unqueued_sendto

if TYPE_CHECKING:
    from ._rtp_send import RtpSender as NativeSender

logger = logging.getLogger(__name__)

_DTLS_CONNECTED = _DtlsState.CONNECTED

#: Codecs the SFU forwards, in order of preference.
FORWARDED_MIME_TYPES = {"audio": ("audio/opus",), "video": ("video/VP8",)}

URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

RtpHandler = Callable[[bytes, int], None]

_restricted_addresses: tuple[str, ...] = ()
_original_get_host_addresses = aioice.ice.get_host_addresses


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if not _restricted_addresses:
        return list(_original_get_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6))
    return [a for a in _restricted_addresses if (":" in a and use_ipv6) or ("." in a and use_ipv4)]


def restrict_ice_addresses(addresses: Iterable[str]) -> None:
    """Make every ICE agent in this process gather host candidates on ``addresses`` only.

    An empty list restores aioice's default (all non-loopback interfaces).
    """
    global _restricted_addresses
    _restricted_addresses = tuple(addresses)
    aioice.ice.get_host_addresses = _get_host_addresses


def host_address_count(addresses: Iterable[str] = ()) -> int:
    """How many addresses each peer connection gathers host candidates on:
    ``addresses`` (the deployment's ``ice_addresses``) when given, else what
    aioice finds (every non-loopback interface address, IPv4 and IPv6)."""
    named = tuple(addresses)
    if named:
        return len(named)
    return len(aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True))


_stun_datagram_received = aioice.ice.StunProtocol.datagram_received


def _demultiplexed_datagram_received(self: Any, data: bytes, addr: Any) -> None:
    # RFC 7983: the first byte tells STUN (0-3) from DTLS (20-63) and RTP/RTCP
    # (128-191). aioice tries a STUN parse on every datagram and hands what
    # fails to its data queue; DTLS and media go there directly instead.
    if data and (127 < data[0] < 192 or 19 < data[0] < 64):
        self.receiver.data_received(data, self.local_candidate.component)
    else:
        _stun_datagram_received(self, data, addr)


def demultiplex_by_first_byte() -> None:
    """Make aioice (once per process) parse only datagrams whose first byte
    says STUN; DTLS and SRTP/SRTCP skip the parse attempt (RFC 7983)."""
    protocol: Any = aioice.ice.StunProtocol
    if protocol.datagram_received is not _demultiplexed_datagram_received:
        protocol.datagram_received = _demultiplexed_datagram_received


def create_peer_connection(ice_servers: Iterable[str]) -> RTCPeerConnection:
    """A peer connection with one bundled transport and the deployment's ICE
    servers, whose consent checks a late answer does not end (sfu.ice_consent),
    and whose descriptions cost aiortc less work (the certificate's
    fingerprints kept, ``_hand_offers_over``)."""
    demultiplex_by_first_byte()
    ice_consent.install()
    _hand_offers_over()
    servers = [RTCIceServer(urls=url) for url in ice_servers]
    pc = RTCPeerConnection(
        RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )
    for certificate in vars(pc).get("_RTCPeerConnection__certificates", ()):
        _keep_fingerprints(certificate)
    return pc


def _keep_fingerprints(certificate: RTCCertificate) -> None:
    """Compute ``certificate``'s fingerprints once: aiortc asks for them for
    every m-section of every offer, twice, and digests the certificate three
    times each time. The certificate never changes; each call still gets new
    objects, as aiortc's own method gives."""
    kept = [(f.algorithm, f.value) for f in certificate.getFingerprints()]

    def fingerprints() -> list[RTCDtlsFingerprint]:
        return [RTCDtlsFingerprint(algorithm=a, value=v) for a, v in kept]

    setattr(certificate, "getFingerprints", fingerprints)  # noqa: B010 (private hook)


_T = TypeVar("_T")


class PortPool(Protocol):
    """Where confined ICE sockets get their ports (``sfu.port_range.PortRange``)."""

    async def bind(
        self, open_port: Callable[[int], Awaitable[_T]], is_closed: Callable[[_T], bool]
    ) -> _T: ...


@dataclass
class _ConfinedGathering:
    ports: PortPool
    #: Some address found no free port: the peer connection lacks candidates.
    full: bool = False


_confined: contextvars.ContextVar[_ConfinedGathering | None] = contextvars.ContextVar(
    "sfu_confined_gathering", default=None
)

_DatagramEndpoint = tuple[asyncio.DatagramTransport, asyncio.DatagramProtocol]


class _ConfinedLoop:
    """The running loop as aioice sees it during a confined gathering: a
    datagram endpoint asked for on port 0 gets a port of the range instead."""

    def __init__(self, loop: asyncio.AbstractEventLoop, gathering: _ConfinedGathering) -> None:
        self._loop = loop
        self._gathering = gathering

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    async def create_datagram_endpoint(
        self,
        protocol_factory: Callable[[], asyncio.DatagramProtocol],
        local_addr: tuple[str, int] | None = None,
        **kwargs: Any,
    ) -> _DatagramEndpoint:
        loop = self._loop
        if local_addr is None or local_addr[1] != 0:
            return await loop.create_datagram_endpoint(
                protocol_factory, local_addr=local_addr, **kwargs
            )
        host = local_addr[0]

        async def open_port(port: int) -> _DatagramEndpoint:
            return await loop.create_datagram_endpoint(
                protocol_factory, local_addr=(host, port), **kwargs
            )

        try:
            return await self._gathering.ports.bind(open_port, _endpoint_closed)
        except MediaPortsFull as exc:
            self._gathering.full = True
            # aioice skips an address it cannot bind (OSError) and gathers on
            # the others; set_local_description then fails the negotiation.
            raise OSError(errno.EADDRINUSE, exc.message) from exc


def _endpoint_closed(endpoint: _DatagramEndpoint) -> bool:
    return endpoint[0].is_closing()


def _running_loop_for_aioice() -> Any:
    loop = asyncio.get_running_loop()
    gathering = _confined.get()
    return loop if gathering is None else _ConfinedLoop(loop, gathering)


def _confine_aioice_sockets() -> None:
    """Give ``aioice.ice`` (once per process) an ``asyncio`` whose
    ``get_running_loop`` honours confined gatherings; the same module otherwise."""
    if getattr(vars(aioice.ice)["asyncio"], "sfu_stand_in", False):
        return
    stand_in = types.ModuleType(asyncio.__name__, asyncio.__doc__)
    stand_in.__dict__.update(vars(asyncio))
    stand_in.__dict__.update(get_running_loop=_running_loop_for_aioice, sfu_stand_in=True)
    setattr(aioice.ice, "asyncio", stand_in)  # noqa: B010 (private hook)


async def set_local_description(
    pc: RTCPeerConnection, description: RTCSessionDescription, ports: PortPool | None = None
) -> None:
    """``pc.setLocalDescription(description)``, with the host-candidate sockets
    aiortc binds meanwhile (on a peer connection's first description) taking
    their ports from ``ports`` when given.

    Only this call's gathering is confined (a context variable): peer
    connections gathering elsewhere at the same time, such as clients in the
    same process, keep ephemeral ports. Raises :class:`MediaPortsFull` if some
    address found no free port; the peer connection then lacks candidates and
    should be closed (which gives its ports back).
    """
    if ports is None:
        await pc.setLocalDescription(description)
        return
    _confine_aioice_sockets()
    gathering = _ConfinedGathering(ports)
    token = _confined.set(gathering)
    try:
        await pc.setLocalDescription(description)
    finally:
        _confined.reset(token)
    if gathering.full:
        raise MediaPortsFull("the server's media port range is full: no port for this connection")


class PlaceholderTrack(MediaStreamTrack):
    """A track that never yields a frame.

    aiortc's sender loop needs a track; this one parks it forever, so the
    sender never encodes anything while the SFU writes packets itself.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> Any:
        await asyncio.Future()  # never resolves; cancelled when the sender stops


@dataclass(frozen=True)
class Codec:
    """A negotiated codec: what the SFU needs to rewrite packets for it."""

    mime_type: str
    clock_rate: int
    payload_type: int

    @property
    def kind(self) -> str:
        return self.mime_type.split("/")[0].lower()


def _codec(params: RTCRtpCodecParameters) -> Codec:
    assert params.payloadType is not None
    return Codec(params.mimeType, params.clockRate, params.payloadType)


URI_TRANSPORT_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
URI_RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
URI_REPAIRED_RID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

#: Header extensions the SFU accepts from publishers: routing (mid, rid,
#: repaired rid), the speaker's level, and transport-wide sequence numbers for
#: congestion-control feedback. abs-send-time is not needed once transport-cc is.
_PUBLISH_EXTENSIONS = {
    "audio": (URI_MID, URI_AUDIO_LEVEL, URI_TRANSPORT_CC),
    "video": (URI_MID, URI_TRANSPORT_CC, URI_RID, URI_REPAIRED_RID),
}


@dataclass(frozen=True)
class PublishFormat:
    """What one publish m-section was negotiated to carry."""

    codec: Codec
    #: Payload type of RTX (RFC 4588) for ``codec``, if negotiated.
    rtx_payload_type: int | None
    #: Negotiated header-extension ids, by URI.
    extensions: dict[str, int]


def negotiate_publish_format(
    transceiver: RTCRtpTransceiver, offered: sdp.MediaDescription
) -> PublishFormat:
    """Limit a publish transceiver's answer to what the SFU forwards and feeds back.

    One codec (VP8 or Opus) with its RTX, transport-cc feedback when offered,
    Opus in-band FEC, DTX and NACK, and the header extensions in ``_PUBLISH_EXTENSIONS`` with
    the offer's ids. Must be called between ``setRemoteDescription(offer)`` and
    ``createAnswer``. Raises ``LookupError`` if the offer has none of the
    forwarded codecs.
    """
    wanted = [m.lower() for m in FORWARDED_MIME_TYPES.get(transceiver.kind, ())]
    chosen = next(
        (c for mime in wanted for c in transceiver._codecs if c.mimeType.lower() == mime), None
    )
    if chosen is None:
        raise LookupError(f"no forwardable {transceiver.kind} codec offered")
    rtx = next(
        (c for c in transceiver._codecs
         if c.mimeType.lower() == "video/rtx" and c.parameters.get("apt") == chosen.payloadType),
        None,
    )  # fmt: skip
    offered_codec = next(
        (c for c in offered.rtp.codecs if c.payloadType == chosen.payloadType), None
    )
    feedback = list(chosen.rtcpFeedback)
    if offered_codec is not None and any(
        f.type == "transport-cc" for f in offered_codec.rtcpFeedback
    ):
        feedback.append(RTCRtcpFeedback(type="transport-cc"))
    chosen.rtcpFeedback = feedback
    if transceiver.kind == "audio":
        # In-band FEC: the browser adds redundancy when receiver reports show loss.
        # DTX: in silence the browser sends one small packet every 400 ms
        # instead of 50 a second (speaker selection forwards none of them).
        chosen.parameters = {**chosen.parameters, "minptime": 10, "useinbandfec": 1, "usedtx": 1}
        # NACK: libwebrtc keeps audio history and resends (same SSRC, no RTX)
        # when the description it receives has it, whatever its offer said.
        if not _has_nack(chosen.rtcpFeedback):
            chosen.rtcpFeedback = [*chosen.rtcpFeedback, RTCRtcpFeedback(type="nack")]
    transceiver._codecs = [chosen] + ([rtx] if rtx is not None else [])
    allowed = _PUBLISH_EXTENSIONS.get(transceiver.kind, ())
    extensions = [
        RTCRtpHeaderExtensionParameters(id=e.id, uri=e.uri)
        for e in offered.rtp.headerExtensions
        if e.uri in allowed and e.id is not None and 1 <= e.id <= 14
    ]
    transceiver._headerExtensions = extensions
    return PublishFormat(
        _codec(chosen),
        rtx.payloadType if rtx is not None else None,
        {e.uri: e.id for e in extensions},
    )


def offered_media(pc: RTCPeerConnection) -> dict[str, sdp.MediaDescription]:
    """The remote description's audio and video m-sections, by mid."""
    if pc.remoteDescription is None:
        return {}
    description = sdp.SessionDescription.parse(pc.remoteDescription.sdp)
    return {
        m.rtp.muxId: m for m in description.media if m.kind in ("audio", "video") and m.rtp.muxId
    }


def rtx_ssrcs(media: sdp.MediaDescription) -> dict[int, int]:
    """Media SSRC -> RTX SSRC from the section's ``a=ssrc-group:FID`` lines."""
    pairs: dict[int, int] = {}
    for group in media.ssrc_group:
        if group.semantic == "FID" and len(group.items) == 2:
            media_ssrc, rtx_ssrc = group.items
            if isinstance(media_ssrc, int) and isinstance(rtx_ssrc, int):
                pairs[media_ssrc] = rtx_ssrc
    return pairs


def _has_nack(feedback: Iterable[RTCRtcpFeedback]) -> bool:
    return any(f.type == "nack" and not f.parameter for f in feedback)


def with_audio_nack(description: RTCSessionDescription) -> RTCSessionDescription:
    """``description`` (an offer of ours) with ``a=rtcp-fb:<pt> nack`` on every Opus.

    A browser's NetEq asks for lost audio (and keeps 5 s of NACK history)
    only when the description it receives offers NACK for the codec, so a
    subscriber can ask the SFU to resend an Opus packet it missed.

    Done on the text, one line added after each Opus ``a=rtpmap`` that has
    no plain ``nack`` yet: a subscriber's offer has two m-sections per
    participant, each join renegotiates every subscriber, and parsing and
    writing the whole offer once more took as long as aiortc's own
    ``createOffer`` (13 ms for a 50-person room, per subscriber, per join).
    """
    out: list[str] = []
    audio = False
    #: Opus payload type -> where its a=rtpmap line is in ``out``.
    opus: dict[str, int] = {}
    nacked: set[str] = set()
    for line in description.sdp.split("\r\n"):
        if line.startswith("m="):
            _add_nack_lines(out, opus, nacked)
            audio, opus, nacked = line.startswith("m=audio"), {}, set()
        elif audio and line.startswith("a=rtpmap:"):
            payload_type, _, encoding = line[9:].partition(" ")
            if encoding.lower().startswith("opus/"):
                opus[payload_type] = len(out)
        elif audio and line.startswith("a=rtcp-fb:"):
            payload_type, _, feedback = line[10:].partition(" ")
            if feedback.strip() == "nack":
                nacked.add(payload_type)
        out.append(line)
    _add_nack_lines(out, opus, nacked)
    return RTCSessionDescription("\r\n".join(out), description.type)


def _add_nack_lines(lines: list[str], opus: dict[str, int], nacked: set[str]) -> None:
    """Put ``a=rtcp-fb:<pt> nack`` after the rtpmap of each Opus payload type
    of the m-section just written to ``lines`` that lacks it (the last first,
    so the earlier places stay where they are)."""
    for payload_type, at in sorted(opus.items(), key=lambda item: -item[1]):
        if payload_type not in nacked:
            lines.insert(at + 1, f"a=rtcp-fb:{payload_type} nack")


@dataclass(frozen=True)
class LocalOffer:
    """An offer of ours (``create_offer``): its text, with the Opus ``nack``
    lines, and aiortc's own description object of that text when it could
    be kept (None otherwise: ``set_local_offer`` then lets aiortc parse it)."""

    description: RTCSessionDescription
    parsed: sdp.SessionDescription | None


#: While ``create_offer`` runs ``createOffer``: where the description object goes.
_kept_offer: contextvars.ContextVar[list[sdp.SessionDescription] | None] = contextvars.ContextVar(
    "sfu_kept_offer", default=None
)
#: While ``set_local_offer`` runs ``setLocalDescription``: ``[text, object]``,
#: the text emptied once its parse was answered with the object.
_handed_offer: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "sfu_handed_offer", default=None
)
_wrap_session_description = aiortc.rtcpeerconnection.wrap_session_description
_parse_session_description = vars(sdp.SessionDescription)["parse"].__func__


def _keeping_wrap(description: sdp.SessionDescription | None) -> RTCSessionDescription | None:
    kept = _kept_offer.get()
    if kept is not None and description is not None:
        kept.append(description)
    wrapped: RTCSessionDescription | None = _wrap_session_description(description)
    return wrapped


def _handing_parse(cls: Any, text: str) -> sdp.SessionDescription:
    handed = _handed_offer.get()
    if handed is not None and handed[0] is text:
        # This very string object came out of create_offer with this object.
        handed[0] = None
        parsed: sdp.SessionDescription = handed[1]
        return parsed
    result: sdp.SessionDescription = _parse_session_description(cls, text)
    return result


def _copy_codec(codec: Any, memo: Any = None) -> Any:
    """``copy.deepcopy(codec)`` for aiortc's codec parameters, without
    ``deepcopy``'s generic walk: the same fields, a new feedback list of new
    entries and a new parameters dict (its values are ints, strings or None,
    which copying leaves shared anyway). Anything else, or a codec holding
    anything else, goes to ``copy.deepcopy``."""
    if (
        type(codec) is RTCRtpCodecParameters
        and all(type(f) is RTCRtcpFeedback for f in codec.rtcpFeedback)
        and all(v is None or type(v) in (int, str) for v in codec.parameters.values())
    ):
        return RTCRtpCodecParameters(
            mimeType=codec.mimeType,
            clockRate=codec.clockRate,
            channels=codec.channels,
            payloadType=codec.payloadType,
            rtcpFeedback=[RTCRtcpFeedback(f.type, f.parameter) for f in codec.rtcpFeedback],
            parameters=dict(codec.parameters),
        )
    return copy.deepcopy(codec, memo)


def _copy_module() -> types.ModuleType:
    """The ``copy`` module as ``aiortc.rtcpeerconnection`` sees it: the real
    one except for ``deepcopy`` (``_copy_codec``)."""
    stand_in = types.ModuleType(copy.__name__, copy.__doc__)
    stand_in.__dict__.update(vars(copy))
    stand_in.__dict__.update(deepcopy=_copy_codec, sfu_stand_in=True)
    return stand_in


def _hand_offers_over() -> None:
    """Install (once per process) the pass-through hooks of ``create_offer``
    / ``set_local_offer``, and the cheaper codec copy and address writing
    that aiortc's offers and answers use (see the module's docstring)."""
    module: Any = aiortc.rtcpeerconnection
    if module.wrap_session_description is not _keeping_wrap:
        module.wrap_session_description = _keeping_wrap
    if not getattr(vars(module)["copy"], "sfu_stand_in", False):
        setattr(module, "copy", _copy_module())  # noqa: B010 (private hook)
    description: Any = sdp.SessionDescription
    if vars(description)["parse"].__func__ is not _handing_parse:
        description.parse = classmethod(_handing_parse)
    writer: Any = aiortc.sdp
    if not hasattr(writer.ipaddress_to_sdp, "cache_info"):
        writer.ipaddress_to_sdp = functools.lru_cache(maxsize=64)(writer.ipaddress_to_sdp)


async def create_offer(pc: RTCPeerConnection) -> LocalOffer:
    """``pc.createOffer()`` with Opus ``nack`` (``with_audio_nack``), keeping
    aiortc's description object of the offer for ``set_local_offer``.

    ``createOffer`` builds that object and writes it out as text; its
    ``setLocalDescription`` then parses the text back into an equal object.
    At two m-sections per participant that parse is the largest single cost
    of a subscriber's renegotiation (16 ms of 57 at 108 m-sections, issue
    17). The object gets the same ``nack`` feedback the text gets, on a copy
    of the codec (aiortc's codec table and the transceiver's list stay as
    they are). tests/sfu/test_offer_cost.py checks that both ways set the
    same description.
    """
    _hand_offers_over()
    kept: list[sdp.SessionDescription] = []
    token = _kept_offer.set(kept)
    try:
        plain = await pc.createOffer()  # no await inside: nothing else runs meanwhile
    finally:
        _kept_offer.reset(token)
    offer = with_audio_nack(plain)
    if len(kept) != 1 or kept[0].type != "offer":
        return LocalOffer(offer, None)
    parsed = kept[0]
    for media in parsed.media:
        if media.kind == "audio":
            media.rtp.codecs = [_with_nack(codec) for codec in media.rtp.codecs]
    return LocalOffer(offer, parsed)


def _with_nack(codec: RTCRtpCodecParameters) -> RTCRtpCodecParameters:
    """An Opus codec with plain ``nack`` feedback first (where the text has
    it: right after the rtpmap line), as a copy; others as they are."""
    if codec.mimeType.lower() != "audio/opus" or _has_nack(codec.rtcpFeedback):
        return codec
    return replace(
        codec,
        rtcpFeedback=[RTCRtcpFeedback(type="nack"), *codec.rtcpFeedback],
        parameters=dict(codec.parameters),
    )


async def set_local_offer(
    pc: RTCPeerConnection, offer: LocalOffer, ports: PortPool | None = None
) -> None:
    """``set_local_description(pc, offer.description, ports)``, aiortc taking
    the kept description object instead of parsing the offer's text again."""
    if offer.parsed is None:
        await set_local_description(pc, offer.description, ports)
        return
    token = _handed_offer.set([offer.description.sdp, offer.parsed])
    try:
        await set_local_description(pc, offer.description, ports)
    finally:
        _handed_offer.reset(token)


def prefer_forwarded_codec(transceiver: RTCRtpTransceiver) -> None:
    """Offer only the forwarded codec (no RTX) on a subscribe transceiver."""
    wanted = {m.lower() for m in FORWARDED_MIME_TYPES[transceiver.kind]}
    caps = [c for c in get_capabilities(transceiver.kind).codecs if c.mimeType.lower() in wanted]
    transceiver.setCodecPreferences(caps)


def negotiated_codec(transceiver: RTCRtpTransceiver) -> Codec:
    """The first (sending) codec of a negotiated transceiver.

    Raises ``LookupError`` for a transceiver no description has negotiated yet.
    """
    if not transceiver._codecs:
        raise LookupError(f"transceiver {transceiver.mid!r} has no negotiated codec")
    return _codec(transceiver._codecs[0])


def header_extension_ids(transceiver: RTCRtpTransceiver) -> dict[str, int]:
    """Negotiated header-extension ids of a transceiver, by URI."""
    return {ext.uri: ext.id for ext in transceiver._headerExtensions}


def _no_estimator() -> None:
    return None


def add_send_transceiver(pc: RTCPeerConnection, kind: str) -> RTCRtpTransceiver:
    """A sendonly transceiver whose sender the SFU feeds with rewritten packets.

    Its receiver (aiortc makes one for every transceiver) never receives:
    it is made without the remote bitrate estimator aiortc gives every video
    receiver, as an audio receiver is. That estimator is 1 000 small objects
    (96 KB): one per video slot of every subscriber, 2 450 in a 50-person
    room, which made each full garbage collection of the worker take half a
    second (docs/performance.md, issue 17).
    """
    names = vars(aiortc.rtcrtpreceiver)
    estimator = names["RemoteBitrateEstimator"]
    # addTransceiver has no await: nothing else runs while the name is swapped.
    names["RemoteBitrateEstimator"] = _no_estimator
    try:
        transceiver = pc.addTransceiver(PlaceholderTrack(kind), direction="sendonly")
    finally:
        names["RemoteBitrateEstimator"] = estimator
    prefer_forwarded_codec(transceiver)
    return transceiver


def dtls_transport_of(transceiver: RTCRtpTransceiver) -> RTCDtlsTransport:
    return transceiver.receiver.transport


def hook_incoming_rtp(transport: RTCDtlsTransport, handler: RtpHandler) -> None:
    """Deliver decrypted RTP of ``transport`` to ``handler(data, arrival_ms)`` as bytes.

    aiortc's own parsing, jitter buffer and decoding are skipped entirely. The
    handler is synchronous: forwarding never waits. From the first packet on,
    RTP is taken at the socket (see ``_take_rtp_at_socket``); ``arrival_ms``
    is then ``time.monotonic()`` in milliseconds rather than aiortc's clock.
    """

    async def handle_rtp_data(data: bytes, arrival_time_ms: int) -> None:
        handler(data, arrival_time_ms)
        # DTLS is connected (SRTP arrived): from now on skip the queue.
        _take_rtp_at_socket(transport, handler)

    setattr(transport, "_handle_rtp_data", handle_rtp_data)  # noqa: B010 (private hook)


#: On a wrapped aioice protocol: ``[rtp route, rtcp route]`` (set once per pair).
_SOCKET_ROUTES = "_sfu_socket_routes"


def _nominated_pair(dtls: Any) -> Any:
    """The candidate pair aioice nominated for ``dtls``'s ICE transport, or None."""
    connection = getattr(dtls.transport, "_connection", None)
    return connection._nominated.get(1) if connection is not None else None


def _route_at_socket(
    transport: RTCDtlsTransport,
    on_rtp: Callable[[bytes], None] | None = None,
    on_rtcp: Callable[[bytes], None] | None = None,
) -> bool:
    """Hand ``transport``'s incoming RTP and/or RTCP, still encrypted, to
    ``on_rtp`` / ``on_rtcp`` where it arrives.

    Wraps the ``datagram_received`` of the nominated candidate pair's protocol
    once: a datagram whose first byte says RTP/RTCP (128-191) goes to
    ``on_rtcp`` when its second is an RTCP packet type (192-223, RFC
    7983/5761), else to ``on_rtp``; anything without a route (STUN, DTLS)
    goes on to aioice as before. Packets on other pairs keep the normal path.
    Returns False (and changes nothing) until a pair is nominated; setting a
    route again replaces it.
    """
    pair = _nominated_pair(transport)
    if pair is None:
        return False
    protocol = pair.protocol
    routes: list[Callable[[bytes], None] | None] | None = vars(protocol).get(_SOCKET_ROUTES)
    if routes is None:
        routes = [None, None]
        original = protocol.datagram_received
        rtp_or_rtcp = routes

        def datagram_received(data: bytes, addr: Any) -> None:
            if len(data) >= 12 and 127 < data[0] < 192:
                route = rtp_or_rtcp[191 < data[1] < 224]
                if route is not None:
                    route(data)
                    return
            original(data, addr)

        protocol.datagram_received = datagram_received
        vars(protocol)[_SOCKET_ROUTES] = routes
    if on_rtp is not None:
        routes[0] = on_rtp
    if on_rtcp is not None:
        routes[1] = on_rtcp
    return True


#: Keeps, on a DTLS transport, the decryptors its pair's protocol feeds (made once).
_SOCKET_DECRYPTOR = "_sfu_rtp_decryptor"
_SOCKET_RTCP_DECRYPTOR = "_sfu_rtcp_decryptor"


def _take_rtp_at_socket(transport: RTCDtlsTransport, handler: RtpHandler) -> bool:
    """Decrypt ``transport``'s RTP where its datagrams arrive and hand it to
    ``handler`` (see ``_route_at_socket``), skipping aioice's queue and
    aiortc's receive loop. RTP that arrives while DTLS is not connected is
    dropped, as aiortc would. Returns True once the nominated pair feeds it."""
    dtls: Any = transport
    decrypt = vars(dtls).get(_SOCKET_DECRYPTOR)
    if decrypt is None:

        def decrypt(data: bytes) -> None:
            srtp = dtls._rx_srtp
            if srtp is None or dtls._state is not _DTLS_CONNECTED:
                return
            try:
                plain = srtp.unprotect(data)
            except pylibsrtp.Error:
                return  # replayed or forged: aiortc drops these as well
            try:
                handler(plain, int(time.monotonic() * 1000))
            except Exception:  # a handler bug must not reach asyncio's transport
                logger.exception("RTP handler failed")

        vars(dtls)[_SOCKET_DECRYPTOR] = decrypt
    return _route_at_socket(transport, on_rtp=decrypt)


RtcpHandler = Callable[[bytes], None]


def _deliver_rtcp(handler: RtcpHandler, data: bytes) -> None:
    try:
        handler(data)
    except Exception:  # a handler bug must not reach asyncio's transport
        logger.exception("RTCP handler failed")


def hook_incoming_rtcp(transport: RTCDtlsTransport, handler: RtcpHandler) -> None:
    """Also hand every decrypted incoming RTCP packet of ``transport`` to
    ``handler(data)`` (after aiortc has handled it); errors are logged."""
    original = transport._handle_rtcp_data

    async def handle_rtcp_data(data: bytes) -> None:
        await original(data)
        _deliver_rtcp(handler, data)

    setattr(transport, "_handle_rtcp_data", handle_rtcp_data)  # noqa: B010 (private hook)


def take_incoming_rtcp(transport: RTCDtlsTransport, handler: RtcpHandler) -> None:
    """Hand every decrypted incoming RTCP packet of ``transport`` to
    ``handler(data)`` *instead of* aiortc, which then never parses it.

    For subscribe transports, whose RTCP is all feedback about what the SFU
    sends (receiver reports, NACK, PLI/FIR, REMB, transport-cc): aiortc would
    build objects for every packet and route them to its senders, to fill
    statistics nobody reads. From the first packet on, RTCP is decrypted
    where it arrives (as ``_take_rtp_at_socket`` does for RTP), skipping
    aioice's queue and aiortc's receive loop too.
    """
    dtls: Any = transport

    def decrypt(data: bytes) -> None:
        srtp = dtls._rx_srtp
        if srtp is None or dtls._state is not _DTLS_CONNECTED:
            return
        try:
            plain = srtp.unprotect_rtcp(data)
        except pylibsrtp.Error:
            return  # replayed or forged: aiortc drops these as well
        _deliver_rtcp(handler, plain)

    async def handle_rtcp_data(data: bytes) -> None:
        _deliver_rtcp(handler, data)
        # DTLS is connected (SRTCP arrived): from now on skip the queue.
        if vars(dtls).get(_SOCKET_RTCP_DECRYPTOR) is None and _route_at_socket(
            transport, on_rtcp=decrypt
        ):
            vars(dtls)[_SOCKET_RTCP_DECRYPTOR] = decrypt

    setattr(transport, "_handle_rtcp_data", handle_rtcp_data)  # noqa: B010 (private hook)


class _DecoderNotStarted:
    """What a receiver of ours gets for aiortc's decoder thread: nothing runs.

    Published packets go from the socket to the SFU (``_route_at_socket``) and
    never reach aiortc's receiver, so its decoder would only wait. Starting it
    costs more than the thread: ``Thread.start()`` blocks until the new thread
    has been scheduled, and on a busy machine that held the event loop for up
    to 0.4 s at each publish (seen while a newcomer joined, issue 21).
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def start(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass


_NO_DECODER_THREADS = types.SimpleNamespace(Thread=_DecoderNotStarted)


def disable_decoder(transceiver: RTCRtpTransceiver) -> None:
    """Start this receiver without aiortc's decoder thread."""
    receiver = transceiver.receiver
    receive = receiver.receive

    async def receive_without_decoder(parameters: RTCRtpReceiveParameters) -> None:
        # aiortc's receive() has no await: nothing else runs while the
        # module's ``threading`` is swapped, and only that module sees it.
        names = vars(aiortc.rtcrtpreceiver)
        real_threading = names["threading"]
        names["threading"] = _NO_DECODER_THREADS
        try:
            await receive(parameters)
        finally:
            names["threading"] = real_threading

    setattr(receiver, "receive", receive_without_decoder)  # noqa: B010 (private hook)


def hook_sender_feedback(
    sender: RTCRtpSender,
    on_keyframe_request: Callable[[], None],
    on_nack: Callable[[int], Coroutine[Any, Any, None]],
) -> None:
    """Route a subscriber's PLI/FIR and NACKs for this sender to the SFU."""
    setattr(sender, "_send_keyframe", on_keyframe_request)  # noqa: B010
    setattr(sender, "_retransmit", on_nack)  # noqa: B010


def sender_ssrc(sender: RTCRtpSender) -> int:
    return int(sender._ssrc)


_RTCP_STARTED = "_RTCRtpSender__rtcp_started"
_RTCP_EXITED = "_RTCRtpSender__rtcp_exited"
_CNAME = "_RTCRtpSender__cname"


def take_sender_reports(sender: RTCRtpSender) -> None:
    """Keep aiortc from sending RTCP for ``sender``: the SFU sends its sender
    reports itself, every slot of a transport in one packet from one shared
    ticker (``SubscribeTransport.send_sender_reports``), where aiortc runs a
    timer and a coroutine send per sender every 0.5-1.5 s. Call before the
    sender starts; its RTCP task then only waits to be stopped."""
    state = vars(sender)

    async def run_rtcp() -> None:
        # What aiortc's stop() waits for: started, then exited once cancelled.
        state[_RTCP_STARTED].set()
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            state[_RTCP_EXITED].set()

    setattr(sender, "_run_rtcp", run_rtcp)  # noqa: B010 (private hook)


def sender_cname(sender: RTCRtpSender) -> str:
    """The CNAME aiortc gave ``sender`` (its peer connection's)."""
    return str(vars(sender).get(_CNAME) or "")


#: The master key and salt of an SRTP direction, and its libsrtp profile.
SrtpKey = tuple[bytes, int]

#: The most SSRCs one path gives sessions of their own. A subscriber's SSRCs
#: are the server's (one per slot, its RTX one, the probe's), so this is far
#: above any room; past it a packet of yet another SSRC is refused (logged).
MAX_SESSIONS_PER_PATH = 4096


class _RefusedSsrc(Exception):
    """An SSRC past :data:`MAX_SESSIONS_PER_PATH`: its packet is not sent."""


def outgoing_srtp_key(dtls: RTCDtlsTransport) -> SrtpKey | None:
    """The key ``dtls`` protects its outgoing RTP with (``_tx_srtp``'s),
    derived again as aiortc's ``_setup_srtp`` derives it: the DTLS
    exporter's ``EXTRACTOR-dtls_srtp`` bytes split by role (RFC 5764,
    4.2). None before the handshake, or where the transport's internals
    are not as expected (the path then protects with ``_tx_srtp`` alone).
    tests/sfu/test_srtp_per_ssrc.py checks it protects as ``_tx_srtp`` does."""
    state: Any = dtls
    try:
        ssl = state._ssl
        selected = ssl.get_selected_srtp_profile()
        profile = next(p for p in state._srtp_profiles if p.openssl_profile == selected)
        material = ssl.export_keying_material(
            b"EXTRACTOR-dtls_srtp", 2 * (profile.key_length + profile.salt_length)
        )
        side = 1 if state._role == "server" else 0
        return bytes(profile.get_key_and_salt(material, side)), int(profile.libsrtp_profile)
    except Exception:  # anything unexpected: one session, as before
        logger.debug("no outgoing SRTP key: one session for every SSRC", exc_info=True)
        return None


def srtp_session_per_ssrc() -> bool:
    """True unless ``CONF_SRTP_SESSION_PER_SSRC=0`` (for measuring what it saves)."""
    return os.environ.get("CONF_SRTP_SESSION_PER_SSRC", "1") != "0"


def ssrc_session(key: SrtpKey, ssrc: int) -> pylibsrtp.Session:
    """An outgoing SRTP session with ``key`` for the one SSRC ``ssrc``: its
    packets come out exactly as from a session of the same key for any SSRC."""
    policy = pylibsrtp.Policy(
        key=key[0], ssrc_type=pylibsrtp.Policy.SSRC_SPECIFIC, ssrc_value=ssrc, srtp_profile=key[1]
    )
    policy.allow_repeat_tx = True  # a NACKed packet sent again (as aiortc's policy)
    policy.window_size = 1024
    return pylibsrtp.Session(policy)


class RtpSendPath:
    """The resolved way out of one DTLS transport: SRTP protect, then the UDP socket.

    Does what ``RTCDtlsTransport._send_rtp`` and aioice's ``Connection.send`` do,
    without their four coroutine layers, and on the raw non-blocking socket: a
    full socket buffer drops the packet instead of queueing it without bound in
    asyncio. Resolved lazily, forgotten on any error or DTLS state change.

    Each SSRC's RTP is protected by an SRTP session of its own, made with the
    transport's outgoing key on the SSRC's first packet and kept for the
    path's life (every packet of an SSRC, forwarded, repaired or padding, in
    C or in Python, goes through that one session, so its rollover counter
    stays right). libsrtp finds a packet's stream by searching its session's
    streams, one per SSRC: in a subscriber's single session of a large
    meeting that search was 6 % of the server's CPU (docs/performance.md).
    RTCP stays on the transport's session. Without the key (or with
    ``CONF_SRTP_SESSION_PER_SSRC=0``) everything goes through ``_tx_srtp``.
    """

    __slots__ = (
        "_address", "_dtls", "_keyed_for", "_native", "_protect", "_protect_rtcp",
        "_protects", "_refused", "_sendto", "_sessions", "_tx_key",
    )  # fmt: skip

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._dtls = dtls
        self._sendto: SendTo | None = None
        self._protect: Callable[[bytes], bytes] = bytes
        self._protect_rtcp: Callable[[bytes], bytes] = bytes
        self._address: Any = None
        #: The compiled rewrite-protect-send (sfu/native_send.py), if built.
        self._native: NativeSender | None = None
        #: The outgoing key, when each SSRC gets its own session; the
        #: transport session it was derived for; the sessions by SSRC and
        #: their protect functions.
        self._tx_key: SrtpKey | None = None
        self._keyed_for: object = None
        self._sessions: dict[int, pylibsrtp.Session] = {}
        self._protects: dict[int, Callable[[bytes], bytes]] = {}
        self._refused = False

    @classmethod
    def on_socket(
        cls,
        sock: Any,
        address: Any,
        protect: Callable[[bytes], bytes] = bytes,
        session: pylibsrtp.Session | None = None,
        native: bool = True,
        tx_key: SrtpKey | None = None,
    ) -> RtpSendPath:
        """A path already resolved to a plain non-blocking socket (tests and
        tools); with ``session``, protecting with it as a connection's path
        does (``protect`` is then ignored), with the compiled sender unless
        ``native`` is False. With ``tx_key`` too (``session``'s key), RTP
        goes through a session per SSRC as a connection's path does."""
        path = cls(None)  # type: ignore[arg-type]
        path._sendto, path._address, path._protect = sock.sendto, address, protect
        if session is not None:
            path._keyed_for = session
            path._tx_key = tx_key
            path._use_session(session, sock, address, native)
        return path

    def _use_session(
        self, session: pylibsrtp.Session, sock: Any, address: Any, native: bool = True
    ) -> None:
        """Protect with ``session`` (RTCP; and RTP unless each SSRC has its
        own), sending through the compiled sender on ``sock`` where built."""
        self._protect_rtcp = session.protect_rtcp
        if self._tx_key is None:
            self._protect = direct_protect(session)
            self._native = _native_sender(sock, address, session) if native else None
            return
        self._protect = self._protect_by_ssrc
        self._native = _native_sender(sock, address, None) if native else None
        if self._native is not None:
            for ssrc, own in self._sessions.items():
                _add_native_session(self._native, ssrc, own)

    def _protect_by_ssrc(self, data: bytes) -> bytes:
        """Protect an RTP packet with its SSRC's own session (made on its first packet)."""
        ssrc = int.from_bytes(data[8:12], "big")
        protect = self._protects.get(ssrc)
        if protect is None:
            protect = self._open_session(ssrc)
            if protect is None:
                raise _RefusedSsrc(ssrc)
        return protect(data)

    def _open_session(self, ssrc: int) -> Callable[[bytes], bytes] | None:
        """Make ``ssrc``'s own session (also in the compiled sender); None
        past :data:`MAX_SESSIONS_PER_PATH`."""
        key = self._tx_key
        assert key is not None
        if len(self._sessions) >= MAX_SESSIONS_PER_PATH:
            if not self._refused:
                self._refused = True
                logger.warning("%d SSRCs on one send path: refusing more", len(self._sessions))
            return None
        session = ssrc_session(key, ssrc)
        self._sessions[ssrc] = session
        protect = self._protects[ssrc] = direct_protect(session)
        if self._native is not None:
            _add_native_session(self._native, ssrc, session)
        return protect

    def reset(self) -> None:
        self._sendto = None
        self._native = None

    @property
    def connected(self) -> bool:
        """True when the DTLS transport can carry media."""
        dtls: Any = self._dtls
        return dtls is not None and dtls._state is _DTLS_CONNECTED

    def _resolve(self) -> bool:
        if not self.connected:
            return False
        dtls: Any = self._dtls
        pair = _nominated_pair(dtls)
        if pair is None:
            return False
        udp = pair.protocol.transport
        session = dtls._tx_srtp
        if session is not self._keyed_for:
            # Connected with (new) keys: sessions of the old ones are of no use.
            self._keyed_for = session
            self._tx_key = outgoing_srtp_key(dtls) if srtp_session_per_ssrc() else None
            self._sessions.clear()
            self._protects.clear()
        self._sendto = unqueued_sendto(udp)
        self._address = pair.remote_addr
        # asyncio lends its socket (inside a TransportSocket); uvloop a
        # PseudoSocket whose fileno() is -1 once closed, which is all the
        # compiled sender asks of it.
        lent = udp.get_extra_info("socket")
        self._use_session(session, getattr(lent, "_sock", lent), pair.remote_addr)
        return True

    def send_rewritten(
        self,
        view: rtp.RtpView,
        payload_type: int,
        sequence_number: int,
        timestamp: int,
        ssrc: int,
        extensions: bytes,
    ) -> int:
        """``rtp.rewrite`` and :meth:`send` in one (hot path): the packet's
        length (before protection) if it went out, else 0. The compiled
        sender does it in one call where it is built."""
        native = self._native
        if native is not None:
            b0 = 0x80 | view.padding | (0x10 if extensions else 0)
            b1 = view.marker | payload_type
            payload, send = view.payload, native.send
            try:
                try:
                    return send(b0, b1, sequence_number, timestamp, ssrc, extensions, payload)
                except KeyError:  # the SSRC's first packet: make its session
                    if self._open_session(ssrc) is None:
                        return 0
                return send(b0, b1, sequence_number, timestamp, ssrc, extensions, payload)
            except OSError:
                self.reset()  # closed or unreachable: resolve again next time
                return 0
        data = rtp.rewrite(view, payload_type, sequence_number, timestamp, ssrc, extensions)
        return len(data) if self.send(data) else 0

    def send(self, data: bytes) -> bool:
        """Send one RTP packet now; False if not connected or the socket is full."""
        sendto = self._sendto
        if sendto is None:
            if not self._resolve():
                return False
            sendto = self._sendto
            assert sendto is not None
        try:
            sendto(self._protect(data), self._address)
        except BlockingIOError:
            return False  # the kernel buffer is full: drop, never queue
        except _RefusedSsrc:
            return False
        except OSError:
            self.reset()  # closed or unreachable: resolve again next time
            return False
        return True

    def send_rtcp(self, data: bytes) -> bool:
        """Send one (compound) RTCP packet now, the same way as :meth:`send`."""
        if self._sendto is None and not self._resolve():
            return False
        sendto = self._sendto
        assert sendto is not None
        try:
            sendto(self._protect_rtcp(data), self._address)
        except BlockingIOError:
            return False
        except OSError:
            self.reset()
            return False
        return True


#: Room pylibsrtp leaves after a packet in its buffer for the SRTP trailer.
_SRTP_MAX_TRAILER = 144
#: The libsrtp 2 call ``direct_protect`` makes (libsrtp 3 changed it).
_SRTP_PROTECT_TYPE = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"


def _srtp_protect_callable(state: Any, *attributes: str) -> bool:
    """True when pylibsrtp's libsrtp has the ``srtp_protect`` this module
    calls and the session ``state`` has the internal ``attributes`` it reads."""
    return _srtp_ffi.typeof(_srtp_lib.srtp_protect).cname == _SRTP_PROTECT_TYPE and all(
        hasattr(state, name) for name in attributes
    )


def direct_protect(session: pylibsrtp.Session) -> Callable[[bytes], bytes]:
    """``session.protect``, calling libsrtp's ``srtp_protect`` directly.

    pylibsrtp allocates a length cell and checks its argument on every call;
    resolved once here, protecting a 1 200-byte packet costs about a third
    less (docs/performance.md, issue 17). Same buffer, same library call, same
    output; a libsrtp error raises ``pylibsrtp.Error`` as ``protect`` would.
    Uses pylibsrtp's ``_srtp``, ``_cdata`` and ``_buffer``
    (tests/sfu/test_aiortc_bridge.py compares both ways byte for byte); a
    pylibsrtp without them, or built on another ``srtp_protect``, gets its
    own ``protect``.
    """
    state: Any = session
    if not _srtp_protect_callable(state, "_srtp", "_cdata", "_buffer"):
        return session.protect
    srtp = state._srtp[0]
    cdata = state._cdata
    buffer = state._buffer
    limit = len(cdata) - _SRTP_MAX_TRAILER
    length = _srtp_ffi.new("int *")
    protect = _srtp_lib.srtp_protect

    def protect_packet(data: bytes) -> bytes:
        size = len(data)
        if size > limit:
            raise ValueError("packet is too long")
        buffer[0:size] = data
        length[0] = size
        status = protect(srtp, cdata, length)
        if status:
            raise pylibsrtp.Error(f"srtp_protect failed (libsrtp status {status})")
        result: bytes = buffer[0 : length[0]]
        return result

    # The closure holds the C state; keep its owner (which frees it) alive too.
    vars(protect_packet)["session"] = session
    return protect_packet


def _native_sender(
    sock: Any, address: Any, session: pylibsrtp.Session | None
) -> NativeSender | None:
    """The compiled sender on ``sock`` (sfu/native_send.py), calling
    ``srtp_protect`` on ``session``'s state as ``direct_protect`` does (with
    None: on the session of each packet's SSRC, given with
    ``_add_native_session``); None where that cannot be (not built, another
    pylibsrtp)."""
    state: Any = session
    needed = ("_srtp",) if session is not None else ()
    if sock is None or not native_send.enabled() or not _srtp_protect_callable(state, *needed):
        return None
    protect = int(_srtp_ffi.cast("uintptr_t", _srtp_ffi.addressof(_srtp_lib, "srtp_protect")))
    if session is None:
        return native_send.create(sock, address, protect, 0, None)
    srtp = int(_srtp_ffi.cast("uintptr_t", state._srtp[0]))
    # The ffi.gc cell frees the srtp_t: the sender keeps it alive.
    return native_send.create(sock, address, protect, srtp, state._srtp)


def _add_native_session(native: NativeSender, ssrc: int, session: pylibsrtp.Session) -> None:
    """Let ``native`` protect ``ssrc``'s packets with ``session`` (kept alive by it)."""
    state: Any = session
    native.add_session(ssrc, int(_srtp_ffi.cast("uintptr_t", state._srtp[0])), state._srtp)


def count_rtp_at_socket(
    transport: RTCDtlsTransport, count: Callable[[bytes], None], receive_buffer: int = 0
) -> bool:
    """For load generators: hand incoming (still encrypted) RTP to ``count`` at the socket.

    Packets counted this way never reach aioice, DTLS or SRTP, so receiving
    costs a function call; STUN and RTCP still go the normal way. The socket
    is read until empty at each wake-up (``read_all_waiting``). With
    ``receive_buffer`` (bytes; the kernel caps it at ``net.core.rmem_max``)
    the socket's receive buffer is made that large, so a generator that
    waits a moment for a core (a shared machine) does not lose what it
    measures. Returns False (and changes nothing) until the transport's ICE
    pair is nominated.
    """
    if not _route_at_socket(transport, on_rtp=count):
        return False
    udp = _nominated_pair(transport).protocol.transport
    if receive_buffer:
        sock = udp.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    read_all_waiting(transport)
    return True


#: The most datagrams one wake-up of ``read_all_waiting``'s reader takes
#: (then the event loop serves the rest of its work before reading on).
_READ_BATCH = 64


def read_all_waiting(transport: RTCDtlsTransport) -> bool:
    """For load generators: make the socket of ``transport``'s nominated
    pair (an asyncio datagram transport on the selector loop) read every
    datagram waiting on it each time the loop finds it readable, up to
    :data:`_READ_BATCH`, where asyncio reads one per wake-up. A generator
    receiving a whole mesh (10^5 packets/s) otherwise spends much of its
    core on the loop's round per datagram and falls behind first (in a
    server, a socket rarely has more than one waiting). Same datagrams,
    same order, to the same protocol; the transport's close removes this
    reader as it would its own. False (nothing changed) on other loops or
    before a pair is nominated."""
    pair = _nominated_pair(transport)
    if pair is None:
        return False
    udp = pair.protocol.transport
    loop: Any = asyncio.get_running_loop()
    sock = getattr(udp, "_sock", None)
    protocol = getattr(udp, "_protocol", None)
    if not hasattr(loop, "_add_reader") or not isinstance(sock, socket.socket) or not protocol:
        return False
    receive = sock.recvfrom

    def read_waiting() -> None:
        for _ in range(_READ_BATCH):
            if udp.is_closing():
                return
            try:
                data, address = receive(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                protocol.error_received(exc)
                return
            protocol.datagram_received(data, address)

    loop._add_reader(sock.fileno(), read_waiting)
    return True


async def send_rtp(transport: RTCDtlsTransport, data: bytes) -> bool:
    """SRTP-protect and send one packet through aiortc (RTCP); False if not connected."""
    try:
        await transport._send_rtp(data)
    except ConnectionError:
        return False
    return True


def pli_packet(sender_ssrc: int, media_ssrc: int) -> bytes:
    return bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=sender_ssrc, media_ssrc=media_ssrc))
