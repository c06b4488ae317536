"""What a subscriber renegotiation costs the server (issue 17, join storms):
the work aiortc does not repeat through the bridge, and that the result is
what it was. Real aiortc peer connections; scripts/bench_offer.py has the
figures."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import inspect
from typing import Any

import aiortc.rtcdtlstransport
import aiortc.rtcpeerconnection
import aiortc.rtcrtpreceiver
import aiortc.sdp
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.codecs import CODECS
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters

from sfu import aiortc_bridge as bridge
from sfu.errors import NegotiationError
from sfu.producer import Producer
from sfu.sdp_check import check_media_lines
from sfu.settings import SfuSettings
from sfu.stats import SfuStats
from sfu.subscribe_transport import SubscribeTransport

SETTINGS = SfuSettings(ice_addresses=("127.0.0.1",))


async def _no_keyframe(_ssrc: int) -> bool:
    return False


def producer(kind: str, ssrc: int) -> Producer:
    codec = (
        bridge.Codec("audio/opus", 48000, 111)
        if kind == "audio"
        else bridge.Codec("video/VP8", 90000, 96)
    )
    return Producer(
        kind=kind, codec=codec, mid=str(ssrc), ssrc=ssrc, audio_level_id=None,
        settings=SETTINGS, send_keyframe_request=_no_keyframe, stats=SfuStats(),
        app_data={"participant_id": f"p{ssrc}"},
    )  # fmt: skip


async def answer(client: RTCPeerConnection, offer_sdp: str) -> str:
    await client.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
    await client.setLocalDescription(await client.createAnswer())
    sdp: str = client.localDescription.sdp
    return sdp


def test_the_aiortc_internals_the_offer_work_relies_on_are_where_they_were():
    offer_source = inspect.getsource(RTCPeerConnection.createOffer)
    assert "return wrap_session_description(description)" in offer_source
    assert "await" not in offer_source  # create_offer's context variable spans it
    local = inspect.getsource(RTCPeerConnection.setLocalDescription)
    assert "description = sdp.SessionDescription.parse(sessionDescription.sdp)" in local
    assert "copy.deepcopy(codec)" in inspect.getsource(aiortc.rtcpeerconnection.find_common_codecs)
    assert "ipaddress_to_sdp(self.host)" in inspect.getsource(aiortc.sdp.MediaDescription)
    # _copy_codec copies every field there is.
    assert [f.name for f in dataclasses.fields(RTCRtpCodecParameters)] == [
        "mimeType", "clockRate", "channels", "payloadType", "rtcpFeedback", "parameters",
    ]  # fmt: skip
    assert [f.name for f in dataclasses.fields(RTCRtcpFeedback)] == ["type", "parameter"]
    assert "self.__certificates = [" in inspect.getsource(RTCPeerConnection.__init__)
    parameters = inspect.getsource(aiortc.rtcdtlstransport.RTCDtlsTransport.getLocalParameters)
    assert "self.__local_certificate.getFingerprints()" in parameters
    receiver = inspect.getsource(aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__)
    assert "self.__remote_bitrate_estimator = RemoteBitrateEstimator()" in receiver
    assert "addTransceiver" in vars(RTCPeerConnection)
    assert "await" not in inspect.getsource(RTCPeerConnection.addTransceiver)


async def test_the_offer_set_from_aiortcs_own_object_is_the_offer_its_text_describes():
    """The kept description object, set without a parse, writes out exactly
    what aiortc's parse of the offer's text writes out: on a first offer
    (gathering) and on renegotiations; every Opus has its nack line."""
    pc = bridge.create_peer_connection(())
    client = RTCPeerConnection()
    try:
        for round_ in range(3):
            for _ in range(2):
                bridge.add_send_transceiver(pc, "audio")
                bridge.add_send_transceiver(pc, "video")
            offer = await bridge.create_offer(pc)
            assert offer.parsed is not None  # the shortcut is taken
            await bridge.set_local_offer(pc, offer)
            kept = pc.localDescription.sdp
            await pc.setLocalDescription(offer.description)  # aiortc parses the text
            assert pc.localDescription.sdp == kept, round_
            sections = kept.split("\r\nm=")[1:]
            assert len(sections) == 4 * (round_ + 1)
            for section in sections:
                lines = section.split("\r\n")
                if lines[0].startswith("audio"):
                    (rtpmap,) = [line for line in lines if "opus/" in line.lower()]
                    nack = f"a=rtcp-fb:{rtpmap.split(':')[1].split()[0]} nack"
                    assert lines.count(nack) == 1 and lines.index(nack) == lines.index(rtpmap) + 1
            await pc.setRemoteDescription(
                RTCSessionDescription(await answer(client, kept), "answer")
            )
        # aiortc's codec table did not get the nack of the offers.
        opus = next(c for c in CODECS["audio"] if c.mimeType.lower() == "audio/opus")
        assert not any(f.type == "nack" for f in opus.rtcpFeedback)
    finally:
        await pc.close()
        await client.close()


async def test_a_subscriber_renegotiation_parses_only_the_answer(monkeypatch):
    """Making and setting a subscriber's offer parses no SDP (aiortc gets the
    object it wrote the offer from); applying the answer parses it once.
    The offers and answers still work: each is answered and applied."""
    parses: list[int] = []
    grouplines = aiortc.sdp.grouplines

    def counting(text: str) -> Any:
        parses.append(len(text))
        return grouplines(text)

    monkeypatch.setattr(aiortc.sdp, "grouplines", counting)
    offers: asyncio.Queue[tuple[int, str, int]] = asyncio.Queue()

    async def send_offer(revision: int, sdp: str, slots: list[Any]) -> None:
        await offers.put((revision, sdp, len(parses)))

    transport = SubscribeTransport(SETTINGS, send_offer, SfuStats())
    client = RTCPeerConnection()
    try:
        ssrc = 1000
        for round_ in range(3):
            before = len(parses)
            for kind in ("audio", "video", "audio", "video"):
                ssrc += 1
                transport.consume(producer(kind, ssrc))
            revision, offer_sdp, parsed_by_then = await asyncio.wait_for(offers.get(), 20)
            assert revision == round_ + 1
            assert parsed_by_then == before, "making the offer parsed SDP"
            answer_sdp = await answer(client, offer_sdp)
            before = len(parses)
            await transport.accept_answer(revision, answer_sdp)
            assert len(parses) == before + 1, "the answer was parsed more than once"
            assert all(slot.mid is not None for slot in transport.slots)
            # Each offer also carries the spare slots (one free of each kind).
            assert len(transport.slots) == 4 * (round_ + 1) + 2 * SETTINGS.spare_slots
    finally:
        await transport.close()
        await client.close()


async def test_a_peer_connection_digests_its_certificate_once(monkeypatch):
    """aiortc digests the certificate (three algorithms) for every m-section
    of every offer, twice; the bridge's peer connection does it once."""
    digests: list[str] = []
    digest = aiortc.rtcdtlstransport.certificate_digest

    def counting(certificate: Any, algorithm: str) -> str:
        digests.append(algorithm)
        result: str = digest(certificate, algorithm)
        return result

    monkeypatch.setattr(aiortc.rtcdtlstransport, "certificate_digest", counting)
    pc = bridge.create_peer_connection(())
    client = RTCPeerConnection()
    try:
        assert len(digests) == 3  # sha-256, sha-384, sha-512, once
        for _ in range(3):
            bridge.add_send_transceiver(pc, "audio")
            bridge.add_send_transceiver(pc, "video")
            before = len(digests)
            offer = await bridge.create_offer(pc)
            await bridge.set_local_offer(pc, offer)
            sdp = pc.localDescription.sdp
            assert len(digests) == before
            # (The plain aiortc client digests its own certificate as aiortc does.)
            await pc.setRemoteDescription(
                RTCSessionDescription(await answer(client, sdp), "answer")
            )
        assert len(digests) > 3  # the client's: the count works
        # The offer carries the certificate's real fingerprints, each call new objects.
        certificate = vars(pc)["_RTCPeerConnection__certificates"][0]
        ours = certificate.getFingerprints()
        offered = [line for line in sdp.splitlines() if line.startswith("a=fingerprint:")]
        assert len(offered) == 3 * 6
        for line in offered:
            algorithm, value = line[len("a=fingerprint:") :].split()
            assert any(f.algorithm == algorithm and f.value == value for f in ours)
            assert value == digest(certificate._cert, algorithm)
        assert certificate.getFingerprints()[0] is not ours[0]
    finally:
        await pc.close()
        await client.close()


async def test_a_subscribers_video_slot_is_made_without_a_receive_bitrate_estimator():
    """A send-only slot's receiver never receives: it gets no remote bitrate
    estimator (1 000 objects, 96 KB each). Receivers aiortc makes itself,
    such as a client's, keep theirs."""
    pc = bridge.create_peer_connection(())
    client = RTCPeerConnection()
    try:
        video = bridge.add_send_transceiver(pc, "video")
        audio = bridge.add_send_transceiver(pc, "audio")
        for transceiver in (video, audio):
            estimator = vars(transceiver.receiver)["_RTCRtpReceiver__remote_bitrate_estimator"]
            assert estimator is None
        assert aiortc.rtcrtpreceiver.RemoteBitrateEstimator is aiortc.rate.RemoteBitrateEstimator
        offer = await bridge.create_offer(pc)
        await bridge.set_local_offer(pc, offer)
        await answer(client, pc.localDescription.sdp)
        received = next(t for t in client.getTransceivers() if t.kind == "video")
        kept = vars(received.receiver)["_RTCRtpReceiver__remote_bitrate_estimator"]
        assert isinstance(kept, aiortc.rate.RemoteBitrateEstimator)
    finally:
        await pc.close()
        await client.close()


def test_the_codec_copy_is_a_deep_copy():
    odd = RTCRtpCodecParameters(
        mimeType="video/VP8", clockRate=90000, payloadType=96,
        rtcpFeedback=[RTCRtcpFeedback("nack", "pli"), RTCRtcpFeedback("goog-remb")],
        parameters={"x-google-start-bitrate": 800, "profile": "a", "flag": None},
    )  # fmt: skip
    for codec in [*CODECS["audio"], *CODECS["video"], odd]:
        copied = bridge._copy_codec(codec)
        assert copied == copy.deepcopy(codec)
        assert copied is not codec and copied.parameters is not codec.parameters
        assert copied.rtcpFeedback is not codec.rtcpFeedback
        assert all(a is not b for a, b in zip(copied.rtcpFeedback, codec.rtcpFeedback, strict=True))
    # Anything it does not know goes to copy.deepcopy: nothing is shared.
    nested = RTCRtpCodecParameters("video/VP8", 90000, parameters={"list": [1]})  # type: ignore[dict-item]
    copied = bridge._copy_codec(nested)
    assert copied == nested and copied.parameters["list"] is not nested.parameters["list"]
    assert bridge._copy_codec({"a": [1]}) == {"a": [1]}


def _sections(count: int, last_rtcp: str = "a=rtcp:9 IN IP4 0.0.0.0") -> str:
    lines = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0"]
    lines.append("a=group:BUNDLE " + " ".join(str(i) for i in range(count)))
    for i in range(count):
        lines += [
            "m=audio 9 UDP/TLS/RTP/SAVPF 96",
            "c=IN IP4 0.0.0.0",
            last_rtcp if i == count - 1 else "a=rtcp:9 IN IP4 0.0.0.0",
            f"a=mid:{i}",
            "a=recvonly",
            "a=rtpmap:96 opus/48000/2",
        ]
    return "\r\n".join(lines) + "\r\n"


def test_the_answer_check_still_refuses_a_bad_address_after_many_good_ones():
    check_media_lines(_sections(100), require_media=False)
    for bad in ("a=rtcp:9 IN IP4 example.org", "a=rtcp:9 IN IP4 0.0.0.0.0"):
        with pytest.raises(NegotiationError) as raised:
            check_media_lines(_sections(100, bad), require_media=False)
        assert raised.value.code == "invalid_sdp"
