"""Fuzzing SDP and ICE input against a real server (docs/security.md,
"Fuzzing"): mutations of a real aiortc offer through ``publish``, of ICE
candidates through ``publisher_ice`` and ``subscriber_ice``, and of a real
answer through ``subscriber_answer``. Invariants as for every Socket.IO
message (a documented acknowledgement, nothing in the server log, /healthz
answers).

The server's ICE agent sends connectivity checks to whatever candidates it
is given, so this module runs only inside the private network namespace of
scripts/test.sh and scripts/fuzz.sh (only ``lo`` and 10.199.0.1 exist
there): outside it, it is skipped; inside it (``CONF_TEST_NETNS=1``) a
missing namespace is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
from typing import Any

import pytest
import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from hypothesis import given
from hypothesis import strategies as st
from media_peers import CounterVideoTrack, ToneAudioTrack

from security.conftest import (
    ACK_TIMEOUT,
    Fuzz,
    emit,
    fuzzing,
    may_close_connection,
    nasty_ints,
    nasty_text,
    weighted,
)

TEST_ADDRESS = "10.199.0.1"
#: Examples per room: a meeting keeps everyone who ever joined it, and every
#: change re-saves that list, so one room for thousands of examples would
#: measure that, not the SDP handling (see docs/security.md, findings).
EXAMPLES_PER_ROOM = 100
SOURCES = {"0": "microphone", "1": "camera"}

#: Lines worth inserting into an SDP: limits, malformed values, unusual features.
INTERESTING_LINES = (
    "a=mid:",
    "a=mid:" + "m" * 40,
    "a=rtpmap:96 VP8/90000",
    "a=rtpmap:96 VP8/0",
    "a=rtpmap:abc",
    "a=rtpmap:4294967296 opus/48000/2",
    "a=fmtp:97 apt=1000",
    "a=fmtp:96 " + "x=1;" * 500,
    "a=rtcp-fb:96 nack pli",
    "a=ssrc:4294967296 cname:x",
    "a=ssrc:-1 cname:x",
    "a=ssrc:1",
    "a=ssrc-group:FID 1",
    "a=ssrc-group:SIM 1 2 3 4 5 6 7 8 9",
    "a=rid:h send",
    "a=simulcast:send h;m;l",
    "a=extmap:99999 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=extmap:0 urn:x",
    "a=fingerprint:sha-256 ZZ",
    "a=fingerprint:md5 00",
    "a=fingerprint:",
    "a=setup:bogus",
    "a=setup:passive",
    "a=ice-ufrag:",
    "a=ice-pwd:x",
    "a=ice-options:trickle ice2",
    "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
    "a=candidate:1 1 udp 2130706431 abc.local 9 typ host",
    "a=candidate:1 1 udp x y z",
    "a=end-of-candidates",
    "a=group:BUNDLE 0 1 2 3 99",
    "a=group:LS",
    "c=IN IP4 256.1.1.1",
    "c=IN IP6 ::1",
    "c=IN",
    "a=rtcp:0",
    "a=msid:- -",
    "a=msid-semantic: WMS *",
    "a=sctp-port:5000",
    "a=max-message-size:-1",
    "b=AS:99999999999",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "m=video 9 UDP/TLS/RTP/SAVPF " + " ".join(str(n) for n in range(96, 128)),
    "m=audio 0 RTP/AVP 0",
    "m=text 9 RTP/AVP 98",
    "m=video",
    "v=1",
    "o=- 0 0 IN IP4 0.0.0.0",
    "s=",
    "t=0 0",
    "",
    "\x00",
    "a=\ud800",
)


# --- the private network ---------------------------------------------------------------------


def _in_test_namespace() -> bool:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((TEST_ADDRESS, 0))
    except OSError:
        return False
    return {name for _, name in socket.if_nameindex()} <= {"lo", "t0"}


@pytest.fixture(scope="module", autouse=True)
def private_network() -> None:
    if _in_test_namespace():
        return
    if os.environ.get("CONF_TEST_NETNS") == "1":
        pytest.fail("inside scripts/test.sh but the private test address is missing")
    pytest.skip("SDP/ICE fuzzing runs only inside the private network namespace (scripts/test.sh)")


# --- real SDP to mutate ----------------------------------------------------------------------


async def real_offer() -> str:
    """An aiortc offer sending a microphone (mid 0) and a camera (mid 1)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver(ToneAudioTrack(), direction="sendonly")
        pc.addTransceiver(CounterVideoTrack(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


async def real_answer(offer: str) -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


def _numbers_changed(line: str, number: int) -> str:
    return re.sub(r"\d+", str(number), line, count=1)


@st.composite
def mutated_sdp(draw: st.DrawFn, sdp: str) -> str:
    """``sdp`` with one to four mutations of its lines, numbers, line endings
    or length; sometimes with its media sections repeated many times."""
    lines = sdp.strip("\r\n").split("\r\n")
    for _ in range(draw(st.integers(1, 4))):
        how = draw(
            st.sampled_from(["drop", "dup", "swap", "replace", "insert", "number", "mangle"])
        )
        if not lines:
            lines = [draw(st.sampled_from(INTERESTING_LINES))]
            continue
        at = draw(st.integers(0, len(lines) - 1))
        if how == "drop":
            del lines[at]
        elif how == "dup":
            lines.insert(at, lines[at])
        elif how == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif how == "replace":
            lines[at] = draw(nasty_text(60))
        elif how == "insert":
            lines.insert(at, draw(st.sampled_from(INTERESTING_LINES)))
        elif how == "number":
            lines[at] = _numbers_changed(lines[at], draw(nasty_ints()))
        else:
            cut = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:cut] + draw(nasty_text(8, huge=False)) + lines[at][cut + 1 :]
    text = "\r\n".join(lines) + "\r\n"
    shape = draw(st.sampled_from(["crlf", "crlf", "crlf", "lf", "cut", "many"]))
    if shape == "lf":
        return text.replace("\r\n", "\n")
    if shape == "cut":
        return text[: draw(st.integers(1, max(1, len(text) - 1)))]
    if shape == "many":
        head, _, media = text.partition("m=")
        return head + ("m=" + media) * draw(st.sampled_from([3, 10, 40]))
    return text


def mids(sdp: str) -> list[str]:
    return re.findall(r"^a=mid:(\S*)", sdp, re.MULTILINE)


@st.composite
def sources_for(draw: st.DrawFn, sdp: str) -> dict[str, Any]:
    """``publish.sources``: mostly the real mids named right, else anything."""
    found = mids(sdp)
    if draw(st.integers(0, 4)) > 0:
        names = ["microphone", "camera", "screen"]
        return {mid: names[i % 3] for i, mid in enumerate(found[:3])} or dict(SOURCES)
    return draw(
        st.dictionaries(
            st.sampled_from([*found, "0", "1", "9", ""]),
            st.sampled_from(["microphone", "camera", "screen", "x"]),
            max_size=4,
        )
    )


CANDIDATE_TEMPLATES = (
    "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
    "candidate:1 1 udp 2130706431 10.199.0.1 9 typ host",
    "candidate:1 1 udp 2130706431 10.199.0.2 9 typ host",
    "candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype passive",
    "candidate:3 1 udp 1694498815 127.0.0.2 9 typ srflx raddr 127.0.0.1 rport 9",
    "candidate:4 1 udp 16777215 127.0.0.3 9 typ relay raddr 0.0.0.0 rport 0",
    "candidate:5 1 udp 2130706431 ::1 9 typ host generation 0 ufrag abcd",
    "candidate:6 1 udp 2130706431 fe80::1%t0 9 typ host",
    "candidate:7 1 udp 2130706431 0a1b2c3d-aaaa-bbbb-cccc-000000000000.local 9 typ host",
    "candidate:8 1 udp 2130706431 localhost 9 typ host",
    "candidate:9 1 udp 2130706431 name.invalid 9 typ host",
    "a=candidate:1 1 udp 1 127.0.0.1 9 typ host",
    "",
)


@st.composite
def candidates(draw: st.DrawFn) -> dict[str, Any]:
    """A trickled candidate: a template with hostile tokens, and hostile
    ``sdp_mid`` / ``sdp_mline_index``."""
    tokens = draw(st.sampled_from(CANDIDATE_TEMPLATES)).split(" ")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(tokens) - 1))
        how = draw(st.sampled_from(["number", "text", "drop", "dup"]))
        if how == "number":
            tokens[at] = str(draw(nasty_ints()))
        elif how == "text":
            tokens[at] = draw(nasty_text(20, huge=False))
        elif how == "drop" and len(tokens) > 1:
            del tokens[at]
        else:
            tokens.insert(at, tokens[at])
    payload: dict[str, Any] = {"candidate": " ".join(tokens)}
    mid = draw(weighted((3, st.sampled_from(["0", "1"])), (1, st.none()), (1, nasty_text(8))))
    if mid is not None:
        payload["sdp_mid"] = mid
    index = draw(weighted((3, st.sampled_from([0, 1])), (1, st.none()), (1, nasty_ints())))
    if index is not None:
        payload["sdp_mline_index"] = index
    return payload


# --- sockets ---------------------------------------------------------------------------------


def room_now(fuzz: Fuzz) -> str:
    """The room of the current example (a fresh one every EXAMPLES_PER_ROOM)."""
    return f"sdp-fuzz-{fuzz.cases // EXAMPLES_PER_ROOM}"


class Member:
    """One Socket.IO client in a fuzz room, recording subscriber offers."""

    def __init__(self, fuzz: Fuzz, name: str) -> None:
        self.fuzz = fuzz
        self.name = name
        self.room = room_now(fuzz)
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self.offers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sio.on("subscriber_offer", self.offers.put_nowait)

    async def join(self, receive: bool) -> None:
        await self.sio.connect(self.fuzz.url, transports=["websocket"], wait_timeout=10)
        ack = await self.sio.call(
            "join",
            {"protocol": 1, "room": self.room, "name": self.name, "receive": receive},
            timeout=ACK_TIMEOUT,
        )
        assert ack.get("ok"), f"the SDP fuzz could not join: {ack}"

    async def send(self, event: str, payload: dict[str, Any]) -> tuple[str, Any]:
        return await emit(self.sio, event, payload, ACK_TIMEOUT)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


async def joined(fuzz: Fuzz, name: str, receive: bool = False) -> Member:
    member = Member(fuzz, name)
    await member.join(receive)
    return member


async def publisher(fuzz: Fuzz, offer: str) -> Member:
    """A member that published the real offer (its tracks are in the room)."""
    member = await joined(fuzz, "publisher")
    outcome, ack = await member.send("publish", {"sdp": offer, "sources": SOURCES})
    assert outcome == "ack" and ack.get("ok"), f"the real offer was refused: {ack}"
    return member


# --- the tests -------------------------------------------------------------------------------


def test_mutated_offers_get_documented_answers_and_never_break_the_server(fuzz: Fuzz) -> None:
    offer = fuzz.run(real_offer())

    @fuzzing(1)
    @given(mutated_sdp(offer).flatmap(lambda sdp: st.tuples(st.just(sdp), sources_for(sdp))))
    def one_offer(case: tuple[str, dict[str, Any]]) -> None:
        sdp, sources = case
        fuzz.cases += 1
        member = fuzz.run(joined(fuzz, "offerer"))
        try:
            payload = {"sdp": sdp, "sources": sources}
            what = f"publish {sources} {sdp!r:.1500}"
            outcome, ack = fuzz.run(member.send("publish", payload))
            fuzz.check_ack("publish", what, outcome, ack, may_close_connection(payload))
        finally:
            fuzz.run(member.close())
        fuzz.check_server(what)

    try:
        one_offer()
    finally:
        fuzz.finish()


def test_trickled_candidates_get_documented_answers_and_never_break_the_server(
    fuzz: Fuzz,
) -> None:
    offer = fuzz.run(real_offer())
    members: list[Member] = []

    @fuzzing(2)
    @given(st.lists(candidates(), min_size=1, max_size=4))
    def some_candidates(batch: list[dict[str, Any]]) -> None:
        fuzz.cases += 1
        # A fresh publisher (in a fresh room) now and then: candidates pile up
        # in its ICE agent.
        if not members or members[-1].room != room_now(fuzz) or not members[-1].sio.connected:
            if members:
                fuzz.run(members.pop().close())
            members.append(fuzz.run(publisher(fuzz, offer)))
        for payload in batch:
            what = f"publisher_ice {payload!r:.400}"
            fuzz.check_ack(
                "publisher_ice", what, *fuzz.run(members[-1].send("publisher_ice", payload))
            )
        fuzz.check_server(f"publisher_ice {batch!r:.600}")

    try:
        some_candidates()
    finally:
        for member in members:
            fuzz.run(member.close())
        fuzz.finish()


def test_mutated_answers_get_documented_answers_and_never_break_the_server(fuzz: Fuzz) -> None:
    offer = fuzz.run(real_offer())
    sources = [fuzz.run(publisher(fuzz, offer))]

    async def subscriber() -> tuple[Member, dict[str, Any]]:
        if sources[-1].room != room_now(fuzz):  # on to a fresh room
            await sources.pop().close()
            sources.append(await publisher(fuzz, offer))
        member = await joined(fuzz, "subscriber", receive=True)
        return member, await asyncio.wait_for(member.offers.get(), ACK_TIMEOUT)

    first, first_offer = fuzz.run(subscriber())
    answer = fuzz.run(real_answer(first_offer["sdp"]))
    fuzz.run(first.close())

    @fuzzing(1)
    @given(
        weighted((1, st.just(answer)), (6, mutated_sdp(answer))),
        weighted((5, st.just(None)), (1, nasty_ints())),
        st.lists(candidates(), max_size=2),
    )
    def one_answer(sdp: str, revision: int | None, trickle: list[dict[str, Any]]) -> None:
        fuzz.cases += 1
        member, pending = fuzz.run(subscriber())
        try:
            payload = {"revision": revision or pending["revision"], "sdp": sdp}
            what = f"subscriber_answer {payload!r:.1500}"
            outcome, ack = fuzz.run(member.send("subscriber_answer", payload))
            fuzz.check_ack("subscriber_answer", what, outcome, ack, may_close_connection(payload))
            for candidate in trickle:
                what = f"subscriber_ice {candidate!r:.400} after {what}"
                fuzz.check_ack(
                    "subscriber_ice", what, *fuzz.run(member.send("subscriber_ice", candidate))
                )
        finally:
            fuzz.run(member.close())
        fuzz.check_server(what)

    try:
        one_answer()
    finally:
        fuzz.run(sources[-1].close())
        fuzz.finish()
