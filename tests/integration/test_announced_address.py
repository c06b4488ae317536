"""The announced address (``announced_address``, issue 16 point 4): the SDP the
server sends names the announced address in every host candidate, with the
port it really bound, while it keeps binding (and checking) locally.

The rewrite itself is checked byte for byte; then a real server announces
10.199.0.77, an address that exists nowhere (so the aiortc clients cannot
connect, which is not the point): what a browser receives is what is checked.
The end-to-end path through a DNAT router is another test's (Chromium)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from media_peers import ToneAudioTrack

from conf_server import Settings
from sfu.announced_address import announce_address

ANNOUNCED = "10.199.0.77"

OFFER = (
    "v=0\r\n"
    "o=- 4005457298 4005457298 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "m=audio 54095 UDP/TLS/RTP/SAVPF 96\r\n"
    "c=IN IP4 10.0.0.5\r\n"
    "a=mid:0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:d2996156 1 udp 2130706431 10.0.0.5 54095 typ host\r\n"
    "a=candidate:aa11 1 udp 2130706431 fd00::5 54096 typ host\r\n"
    "a=candidate:bb22 1 udp 1694498815 203.0.113.9 61000 typ srflx raddr 10.0.0.5 rport 1\r\n"
    "a=end-of-candidates\r\n"
)


def test_host_candidates_and_the_connection_line_carry_the_announced_address():
    assert announce_address(OFFER, "198.51.100.7") == (
        "v=0\r\n"
        "o=- 4005457298 4005457298 IN IP4 0.0.0.0\r\n"
        "s=-\r\n"
        "t=0 0\r\n"
        "a=group:BUNDLE 0\r\n"
        "m=audio 54095 UDP/TLS/RTP/SAVPF 96\r\n"
        "c=IN IP4 198.51.100.7\r\n"
        "a=mid:0\r\n"
        "a=rtcp:9 IN IP4 0.0.0.0\r\n"
        "a=candidate:d2996156 1 udp 2130706431 198.51.100.7 54095 typ host\r\n"
        "a=candidate:aa11 1 udp 2130706431 198.51.100.7 54096 typ host\r\n"
        "a=candidate:bb22 1 udp 1694498815 203.0.113.9 61000 typ srflx raddr 10.0.0.5 rport 1\r\n"
        "a=end-of-candidates\r\n"
    )


def test_an_ipv6_announced_address_gets_an_ip6_connection_line():
    sdp = (
        "m=audio 9 UDP/TLS/RTP/SAVPF 96\nc=IN IP4 10.0.0.5\n"
        "a=candidate:x 1 udp 1 10.0.0.5 9 typ host\n"
    )
    assert announce_address(sdp, "2001:db8::7") == (
        "m=audio 9 UDP/TLS/RTP/SAVPF 96\nc=IN IP6 2001:db8::7\n"
        "a=candidate:x 1 udp 1 2001:db8::7 9 typ host\n"
    )


def test_sdp_without_host_candidates_is_left_as_it_is():
    relay_only = "v=0\r\nc=IN IP4 10.0.0.5\r\na=candidate:r 1 udp 5 203.0.113.9 3478 typ relay\r\n"
    assert announce_address(relay_only, "198.51.100.7") == relay_only


@pytest.fixture
def settings(settings: Settings) -> Settings:
    if os.environ.get("CONF_TEST_NETNS") != "1":
        pytest.skip("media test: runs in the private network namespace (scripts/test.sh)")
    return dataclasses.replace(settings, announced_address=ANNOUNCED)


def host_candidates(sdp: str) -> list[tuple[str, int]]:
    """(address, port) of every host candidate line."""
    found = []
    for line in sdp.splitlines():
        fields = line.split()
        if line.startswith("a=candidate:") and fields[7] == "host":
            found.append((fields[4], int(fields[5])))
    return found


def check_announced(sent: str, bound: str) -> None:
    """``sent`` (what the client got) names ANNOUNCED with the ports of
    ``bound`` (the server's own description), and never a bound address."""
    advertised, local = host_candidates(sent), host_candidates(bound)
    assert advertised and len(advertised) == len(local)
    assert {address for address, _ in advertised} == {ANNOUNCED}
    assert [port for _, port in advertised] == [port for _, port in local]
    for address, _ in local:
        assert address != ANNOUNCED
        assert f" {address} " not in sent and f"IP4 {address}\r" not in sent
    assert f"c=IN IP4 {ANNOUNCED}\r\n" in sent


async def test_the_publish_answer_and_the_subscriber_offer_announce_the_address(
    server, make_client
):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    bob.auto_answer = False
    await alice.join("announced")
    await bob.join("announced")

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        transceiver = pc.addTransceiver(ToneAudioTrack(440), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        ack = await alice.call(
            "publish", {"sdp": pc.localDescription.sdp, "sources": {transceiver.mid: "microphone"}}
        )
        media = server.service.media["announced"]
        publisher = media.publishers[alice.participant_id]
        check_announced(ack["sdp"], publisher.pc.localDescription.sdp)
        # A client takes the rewritten answer like any other.
        await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))

        await bob.wait_for(lambda: any(e == "subscriber_offer" for e, _ in bob.events), timeout=20)
        offer = next(data for event, data in bob.events if event == "subscriber_offer")
        subscriber = media.subscribers[bob.participant_id]
        check_announced(offer["sdp"], subscriber.pc.localDescription.sdp)
    finally:
        await pc.close()
