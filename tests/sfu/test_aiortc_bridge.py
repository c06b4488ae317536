"""Guards the aiortc internals the bridge relies on: an upgrade that moves one fails here."""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
from typing import Any

import pylibsrtp
import pytest
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver, sdp
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
    # RTP taken at the socket: the receive session, the state, the nominated
    # pair and the protocol method the bridge wraps.
    import aioice.ice

    dtls_init = inspect.getsource(RTCDtlsTransport.__init__)
    assert "self._rx_srtp" in dtls_init and "self._state" in dtls_init
    # The outgoing key, derived again as _setup_srtp derives it
    # (outgoing_srtp_key; tests/sfu/test_srtp_per_ssrc.py checks the bytes).
    setup = inspect.getsource(RTCDtlsTransport._setup_srtp)
    for used in ("self._srtp_profiles", "self._role", "EXTRACTOR-dtls_srtp", "get_key_and_salt"):
        assert used in setup
    assert "self._nominated" in inspect.getsource(aioice.ice.Connection.__init__)
    assert list(inspect.signature(aioice.ice.StunProtocol.datagram_received).parameters) == [
        "self",
        "data",
        "addr",
    ]
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


# -- NACK for Opus: aiortc's codec table has none, browsers follow what they receive --

#: The audio part of an offer as Chromium writes it (no NACK for Opus).
CHROME_AUDIO_OFFER = """v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0
a=msid-semantic: WMS
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:8hhY
a=ice-pwd:asd88fgpdd777uzjYhagZg6V
a=ice-options:trickle
a=fingerprint:sha-256 {fingerprint}
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendonly
a=msid:- 8a7c4f3e-5b1d-4c2a-9e6f-0d1b2c3d4e5f
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:3735928559 cname:4TOk42mSjXCkVIa6
a=ssrc:3735928559 msid:- 8a7c4f3e-5b1d-4c2a-9e6f-0d1b2c3d4e5f
""".format(fingerprint=":".join(["D2"] * 32)).replace("\n", "\r\n")


def _opus_of(description: str) -> Any:
    media = next(m for m in sdp.SessionDescription.parse(description).media if m.kind == "audio")
    return next(c for c in media.rtp.codecs if c.mimeType.lower() == "audio/opus")


async def test_the_publish_answer_asks_for_nack_on_opus_and_keeps_fec():
    from aiortc import RTCSessionDescription

    pc = aiortc_bridge.create_peer_connection(())
    try:
        await pc.setRemoteDescription(RTCSessionDescription(CHROME_AUDIO_OFFER, "offer"))
        [transceiver] = pc.getTransceivers()
        offered = aiortc_bridge.offered_media(pc)[transceiver.mid]
        negotiated = aiortc_bridge.negotiate_publish_format(transceiver, offered)
        answer = await pc.createAnswer()
    finally:
        await pc.close()
    assert negotiated.codec == aiortc_bridge.Codec("audio/opus", 48000, 111)
    opus = _opus_of(answer.sdp)
    feedback = [(f.type, f.parameter) for f in opus.rtcpFeedback]
    assert sorted(feedback) == [("nack", None), ("transport-cc", None)]
    assert opus.parameters["useinbandfec"] == 1
    assert "a=rtcp-fb:111 nack\r\n" in answer.sdp


async def test_the_subscribe_offer_offers_nack_on_opus_and_aiortc_keeps_it():
    aiortc_bridge.restrict_ice_addresses(["127.0.0.1"])
    pc = aiortc_bridge.create_peer_connection(())
    try:
        aiortc_bridge.add_send_transceiver(pc, "audio")
        aiortc_bridge.add_send_transceiver(pc, "video")
        plain = await pc.createOffer()
        assert not any(f.type == "nack" for f in _opus_of(plain.sdp).rtcpFeedback)
        offer = aiortc_bridge.with_audio_nack(plain)
        assert aiortc_bridge.with_audio_nack(offer).sdp == offer.sdp  # once only
        # Only Opus gains a line; the rest of the offer is as aiortc wrote it.
        added = set(offer.sdp.splitlines()) - set(plain.sdp.splitlines())
        opus = _opus_of(offer.sdp)
        assert added == {f"a=rtcp-fb:{opus.payloadType} nack"}
        await pc.setLocalDescription(offer)
        assert _opus_of(pc.localDescription.sdp).rtcpFeedback == opus.rtcpFeedback
    finally:
        await pc.close()


async def test_every_audio_section_of_a_big_subscribe_offer_gets_nack_once():
    """The offer of a subscriber in a big room: one line per audio section,
    in that section (the text is edited, not rewritten), and aiortc keeps
    each."""
    pc = aiortc_bridge.create_peer_connection(())
    try:
        for _ in range(3):
            aiortc_bridge.add_send_transceiver(pc, "audio")
            aiortc_bridge.add_send_transceiver(pc, "video")
        plain = await pc.createOffer()
        offer = aiortc_bridge.with_audio_nack(plain)
        assert aiortc_bridge.with_audio_nack(offer).sdp == offer.sdp
        sections = offer.sdp.split("\r\nm=")[1:]
        for section in sections:
            lines = section.split("\r\n")
            if lines[0].startswith("audio"):
                (rtpmap,) = [line for line in lines if "opus/" in line.lower()]
                payload_type = rtpmap.split(":")[1].split()[0]
                nack = f"a=rtcp-fb:{payload_type} nack"
                assert lines.count(nack) == 1 and lines.index(nack) == lines.index(rtpmap) + 1
        added = len(offer.sdp.splitlines()) - len(plain.sdp.splitlines())
        assert added == 3
        await pc.setLocalDescription(offer)
        parsed = sdp.SessionDescription.parse(pc.localDescription.sdp)
        for media in parsed.media:
            if media.kind == "audio":
                opus = next(c for c in media.rtp.codecs if c.mimeType.lower() == "audio/opus")
                assert ("nack", None) in [(f.type, f.parameter) for f in opus.rtcpFeedback]
    finally:
        await pc.close()


def test_aiortc_senders_pass_every_nack_to_retransmit_whatever_the_kind():
    source = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "packet.fmt == RTCP_RTPFB_NACK" in source
    assert "await self._retransmit(seq)" in source
    assert "kind" not in source.split("RTCP_RTPFB_NACK", 1)[1].split("_retransmit", 1)[0]


@pytest.mark.parametrize(
    "profile",
    [
        pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
        pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
    ],
)
def test_direct_protect_gives_what_pylibsrtp_gives(profile):
    """The send path's ``srtp_protect`` call (no per-call allocation) protects
    byte for byte as ``Session.protect`` does, and the peer can unprotect it."""
    key_length = {
        pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80: 30,
        pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM: 28,
        pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM: 44,
    }[profile]
    key = bytes(range(key_length))

    def session(direction: int) -> pylibsrtp.Session:
        return pylibsrtp.Session(pylibsrtp.Policy(key, direction, srtp_profile=profile))

    reference = session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    ours = aiortc_bridge.direct_protect(session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    assert not hasattr(ours, "__self__"), "fell back to Session.protect: nothing compared"
    receiver = session(pylibsrtp.Policy.SSRC_ANY_INBOUND)
    for seq, size in enumerate((0, 200, 1200, 1344)):  # 1 356 bytes: the most it takes
        packet = bytes([0x80, 96]) + seq.to_bytes(2, "big") + bytes(8) + bytes([seq]) * size
        protected = ours(packet)
        assert protected == reference.protect(packet)
        assert receiver.unprotect(protected) == packet
    with pytest.raises(ValueError):
        ours(bytes([0x80, 96]) + bytes(1500))
    with pytest.raises(pylibsrtp.Error):
        ours(bytes([0x80, 96, 0, 0]) + bytes(8))  # the same packet again: a replay


def test_direct_protect_falls_back_to_the_sessions_own_protect():
    """A pylibsrtp without the attributes ``direct_protect`` reads gets its own
    ``protect`` (a libsrtp built with another ``srtp_protect`` too)."""
    changed = pylibsrtp.Session(pylibsrtp.Policy(bytes(30), pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    del changed._buffer
    assert aiortc_bridge.direct_protect(changed) == changed.protect
