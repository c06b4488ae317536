"""Issue 17: the receive path sorts datagrams by their first byte (RFC 7983)
and a subscriber's RTCP takes a light path aiortc never sees. Real aiortc
peers through the real server."""

from __future__ import annotations

import asyncio
import itertools
import struct
import time
from typing import Any

import aioice.stun
from aiortc import RTCRtpSender
from media_peers import alice_sends_to_bob, collect_counters

from sfu import aiortc_bridge as bridge
from sfu import rtcp


def senders_calling(monkeypatch: Any, method: str) -> list[RTCRtpSender]:
    """Every aiortc sender that calls its coroutine ``method``, in call order."""
    senders: list[RTCRtpSender] = []
    original = getattr(RTCRtpSender, method)

    async def spy(self: RTCRtpSender, *args: Any) -> None:
        senders.append(self)
        await original(self, *args)

    monkeypatch.setattr(RTCRtpSender, method, spy)
    return senders


async def test_only_datagrams_that_start_like_stun_are_parsed_as_stun(
    server, make_client, monkeypatch
):
    """ICE, DTLS and media all work, and aioice's STUN parser only ever sees
    datagrams whose first byte is 0-3: DTLS (20-63) and SRTP/SRTCP (128-191)
    go past it. Without the demultiplexing every datagram is parsed first."""
    first_bytes: list[int] = []
    parse = aioice.stun.parse_message

    def counting_parse(data: bytes, *args: Any, **kwargs: Any) -> Any:
        first_bytes.append(data[0] if data else -1)
        return parse(data, *args, **kwargs)

    monkeypatch.setattr(aioice.stun, "parse_message", counting_parse)
    alice, bob = await alice_sends_to_bob(make_client, "demux", 20)

    assert any(0 <= b <= 3 for b in first_bytes), "ICE checks were parsed as STUN"
    assert all(0 <= b <= 3 for b in first_bytes), sorted(set(first_bytes))

    # A consent check (RFC 7675) after media flows: request out, response
    # parsed and matched to its transaction on the server's nominated pair.
    subscriber = server.service.media["demux"].subscribers[bob.participant_id]
    connection = bridge.dtls_transport_of(subscriber.slots[0].transceiver).transport._connection
    pair = connection._nominated[1]
    request = connection.build_request(pair, nominate=False)
    response, _ = await pair.protocol.request(
        request,
        pair.remote_addr,
        integrity_key=connection.remote_password.encode("utf8"),
        retransmissions=2,
    )
    assert response.message_class == aioice.stun.Class.RESPONSE
    # Media still arrives, in order.
    frames = await collect_counters(bob.track_of(alice.participant_id, "camera"), 10)
    assert frames == sorted(set(frames))


async def test_subscriber_rtcp_is_read_at_the_socket_never_by_aiortc(
    server, make_client, monkeypatch
):
    """The subscriber's receiver reports reach the SFU (which measures the
    round trip from them) through the socket route, and aiortc's RTCP
    handling of the server's senders never runs."""
    handled_by_aiortc = senders_calling(monkeypatch, "_handle_rtcp_packet")
    _alice, bob = await alice_sends_to_bob(make_client, "light-rtcp", 10)
    subscriber = server.service.media["light-rtcp"].subscribers[bob.participant_id]
    dtls = bridge.dtls_transport_of(subscriber.slots[0].transceiver)

    # Sender and receiver reports go out every 0.5-1.5 s.
    await bob.wait_for(lambda: subscriber.estimate.rtt is not None, timeout=15)
    assert 0 <= subscriber.estimate.rtt < 1.0
    routes = vars(dtls.transport._connection._nominated[1].protocol)["_sfu_socket_routes"]
    assert routes[1] is not None, "RTCP is not taken at the socket"
    server_senders = {id(slot.transceiver.sender) for slot in subscriber.slots}
    assert not [s for s in handled_by_aiortc if id(s) in server_senders]
    # The client's own senders (Alice publishing) still get aiortc's handling.
    assert handled_by_aiortc, "aiortc's RTCP handling ran nowhere: the spy is broken"


async def test_sender_reports_go_out_together_without_a_timer_per_sender(
    server, make_client, monkeypatch
):
    """aiortc's per-sender RTCP loop (a timer and a coroutine send each
    0.5-1.5 s) never sends for the server's subscribe senders; the router's
    one ticker sends each subscriber one compound packet with every slot's
    sender report, which the client's aiortc reads (its receivers learn the
    LSR they answer with, so the SFU measures the round trip)."""
    aiortc_sent = senders_calling(monkeypatch, "_send_rtcp")
    _alice, bob = await alice_sends_to_bob(make_client, "reports", 10)
    subscriber = server.service.media["reports"].subscribers[bob.participant_id]
    path = subscriber._send_path
    sent: list[bytes] = []
    sent_at: list[float] = []
    send_rtcp = bridge.RtpSendPath.send_rtcp

    def spy(self: bridge.RtpSendPath, data: bytes) -> bool:
        if self is path:
            sent.append(data)
            sent_at.append(time.monotonic())
        return send_rtcp(self, data)

    monkeypatch.setattr(bridge.RtpSendPath, "send_rtcp", spy)
    await bob.wait_for(lambda: len(sent) >= 3, timeout=20)

    slots = {slot.ssrc for slot in subscriber.slots if slot.packets_sent}
    assert len(slots) == 2  # Alice's camera and microphone
    # One packet every 0.5-1.5 s (a loaded loop may be late, never early).
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(sent_at)), sent_at
    for packet in sent:
        reports = [f for f in rtcp.parse_feedback(packet) if f.kind == "sr"]
        assert {f.sender_ssrc for f in reports} == slots
    server_senders = {id(slot.transceiver.sender) for slot in subscriber.slots}
    assert not [s for s in aiortc_sent if id(s) in server_senders]
    assert aiortc_sent, "the client's own senders still report: the spy works"
    # Bob's receivers got them: aiortc remembers each report's NTP middle bits.
    remembered = set()
    for transceiver in bob.subscribe_pc.getTransceivers():
        remembered |= set(vars(transceiver.receiver)["_RTCRtpReceiver__lsr"])
    assert slots <= remembered


async def test_a_load_generator_reads_every_waiting_datagram_in_one_wake_up(connected):
    """``count_rtp_at_socket`` (conf-bench's load generator) reads the socket
    until empty each time it is readable (``read_all_waiting``): a burst of
    several batches is counted whole and in order, DTLS and ICE still get
    theirs (the connection stays up), and the transport's close stops it."""
    dtls, peer = connected
    counted: list[int] = []
    assert bridge.count_rtp_at_socket(peer, lambda data: counted.append(data[3]))
    path = bridge.RtpSendPath(dtls)
    burst = 3 * bridge._READ_BATCH + 5
    for seq in range(burst):  # all waiting before the loop looks
        data = struct.pack("!BBHII", 0x80, 111, seq, seq, 7) + b"x" * 100
        assert path.send(data)
    for _ in range(3):  # three rounds of the loop: asyncio's reader takes one each
        await asyncio.sleep(0)
    assert len(counted) >= bridge._READ_BATCH
    for _ in range(100):
        if len(counted) == burst:
            break
        await asyncio.sleep(0.02)
    assert counted == [seq & 0xFF for seq in range(burst)]
    assert peer.state == "connected" and dtls.state == "connected"
    await peer.transport.stop()  # the ICE transport: its sockets close
    path.send(struct.pack("!BBHII", 0x80, 111, 0, 0, 7))  # to nobody: no reader error
    await asyncio.sleep(0.1)
    assert len(counted) == burst
