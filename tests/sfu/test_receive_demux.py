"""Issue 17: the receive path sorts datagrams by their first byte (RFC 7983)
and a subscriber's RTCP takes a light path aiortc never sees. Real aiortc
peers through the real server."""

from __future__ import annotations

from typing import Any

import aioice.stun
from aiortc import RTCRtpSender
from media_peers import alice_sends_to_bob, collect_counters

from sfu import aiortc_bridge as bridge


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
    handled_by_aiortc: list[Any] = []
    original = RTCRtpSender._handle_rtcp_packet

    async def counting(self: RTCRtpSender, packet: Any) -> None:
        handled_by_aiortc.append(self)
        await original(self, packet)

    monkeypatch.setattr(RTCRtpSender, "_handle_rtcp_packet", counting)
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
