"""Issue 17, point 1: each SSRC a subscriber receives is protected by an SRTP
session of its own (``RtpSendPath``), because libsrtp searches a session's
streams for every packet's SSRC and a subscriber's one session of a large
meeting holds dozens (docs/performance.md, *A session per SSRC*).

What a subscriber would notice if it went wrong: packets it cannot decrypt.
So every check here decrypts what was sent with the receiving side's own
session: a real aiortc peer across a real DTLS handshake, or a libsrtp
inbound session of the same key. The rollover counter is what a second
session for one SSRC would break (RFC 3711, 3.3.1): packets after the
sequence number wraps would no longer decrypt.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

import pylibsrtp
import pytest

from sfu import aiortc_bridge as bridge
from sfu import native_send, rtp

KEY = bytes(range(30))  # AES-128-CM master key and salt
PROFILE = pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80
SSRC = 0x5EC0DE


def session(direction: int) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(KEY, direction, srtp_profile=PROFILE)
    policy.allow_repeat_tx = True
    policy.window_size = 1024
    return pylibsrtp.Session(policy)


def packet(seq: int, ssrc: int = SSRC, payload: bytes = b"media") -> bytes:
    return struct.pack("!BBHII", 0x80, 111, seq & 0xFFFF, seq * 960, ssrc) + payload


def view(seq: int, payload: bytes = b"media") -> rtp.RtpView:
    parsed = rtp.parse(packet(seq, payload=payload))
    parsed.stamp()  # the payload, as the producer fills it once per packet
    return parsed


# -- a real DTLS handshake (the ``connected`` fixture, tests/sfu/conftest.py) ----


async def test_the_derived_key_protects_as_the_transports_own_session(connected):
    """``outgoing_srtp_key`` is the key aiortc derived for ``_tx_srtp``, on
    both sides of the handshake (DTLS client and server take opposite halves)."""
    for dtls, peer in (connected, connected[::-1]):
        key = bridge.outgoing_srtp_key(dtls)
        assert key is not None
        for ssrc in (1, 0xFFFFFFFF, 4242):
            plain = packet(7, ssrc)
            ours = bridge.ssrc_session(key, ssrc).protect(plain)
            assert ours == dtls._tx_srtp.protect(plain)
            assert peer._rx_srtp.unprotect(ours) == plain


async def test_a_connections_path_gives_each_ssrc_its_own_session_and_the_peer_decrypts(
    connected,
):
    """A path resolved on a real connection: RTP of three SSRCs through the
    compiled sender and the Python steps, RTCP through the transport's
    session; the peer decrypts every packet."""
    dtls, peer = connected
    got: list[bytes] = []
    bridge.hook_incoming_rtp(peer, lambda data, _arrival: got.append(data))
    path = bridge.RtpSendPath(dtls)
    sent = []
    for seq in range(5):
        for ssrc in (11, 22, 33):
            assert path.send_rewritten(view(seq), 111, seq, seq * 960, ssrc, b"") > 0
            sent.append(packet(seq, ssrc))
    assert path.send(packet(5, 22))  # the Python steps (a retransmission)
    sent.append(packet(5, 22))
    assert sorted(path._sessions) == [11, 22, 33]
    assert (path._native is not None) == native_send.enabled()
    for _ in range(100):
        if len(got) == len(sent):
            break
        await asyncio.sleep(0.02)
    assert sorted(got) == sorted(sent)


async def test_switched_off_the_path_protects_with_the_transports_session(
    connected, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CONF_SRTP_SESSION_PER_SSRC", "0")
    dtls, peer = connected
    got: list[bytes] = []
    bridge.hook_incoming_rtp(peer, lambda data, _arrival: got.append(data))
    path = bridge.RtpSendPath(dtls)
    assert path.send_rewritten(view(1), 111, 1, 960, 11, b"") > 0
    assert path.send(packet(2, 22))
    assert path._sessions == {} and path._tx_key is None
    for _ in range(100):
        if len(got) == 2:
            break
        await asyncio.sleep(0.02)
    assert sorted(got) == sorted([packet(1, 11), packet(2, 22)])


# -- one SSRC, one session, for the path's whole life ----------------------------


def decrypted(receiver: socket.socket, inbound: pylibsrtp.Session, count: int) -> list[int]:
    """The sequence numbers of ``count`` packets that decrypt (a failure raises)."""
    numbers = []
    for _ in range(count):
        plain = inbound.unprotect(receiver.recv(2048))
        numbers.append(struct.unpack_from("!H", plain, 2)[0])
    return numbers


@pytest.mark.parametrize("native", [True, False], ids=["compiled", "python"])
def test_the_rollover_counter_holds_across_a_new_socket_and_both_ways_of_sending(udp_pair, native):
    """Sequence numbers wrap (65 535 -> 0) while the path takes a new
    compiled sender (as ``_resolve`` does after a socket change) and the
    packets go out both ways: the receiver decrypts them all, so the SSRC
    kept its one session and its rollover counter."""
    sender, receiver = udp_pair
    address = receiver.getsockname()
    transport_session = session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    path = bridge.RtpSendPath.on_socket(
        sender, address, session=transport_session, native=native, tx_key=(KEY, PROFILE)
    )
    numbers = list(range(65530, 65536)) + list(range(0, 6))
    for n, seq in enumerate(numbers):
        if seq == 0:
            before = path._native
            path._use_session(transport_session, sender, address, native)
            assert path._native is not before or not native
        if n % 2:
            assert path.send(packet(seq))
        else:
            assert path.send_rewritten(view(seq), 111, seq, seq * 960, SSRC, b"") > 0
    inbound = session(pylibsrtp.Policy.SSRC_ANY_INBOUND)
    assert decrypted(receiver, inbound, len(numbers)) == numbers
    assert list(path._sessions) == [SSRC]


def test_past_the_limit_another_ssrc_is_refused_not_crashed(
    udp_pair, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setattr(bridge, "MAX_SESSIONS_PER_PATH", 2)
    sender, receiver = udp_pair
    path = bridge.RtpSendPath.on_socket(
        sender, receiver.getsockname(), session=session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND),
        tx_key=(KEY, PROFILE),
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger=bridge.__name__):
        assert path.send_rewritten(view(1), 111, 1, 960, 1, b"") > 0
        assert path.send(packet(1, 2))
        for _ in range(3):
            assert path.send_rewritten(view(2), 111, 2, 1920, 3, b"") == 0
            assert not path.send(packet(2, 3))
        # Those that have their session go on.
        assert path.send_rewritten(view(2), 111, 2, 1920, 1, b"") > 0
    refusals = [r for r in caplog.records if "refusing more" in r.getMessage()]
    assert len(refusals) == 1
    inbound = session(pylibsrtp.Policy.SSRC_ANY_INBOUND)
    assert decrypted(receiver, inbound, 3) == [1, 1, 2]


def test_the_compiled_sender_refuses_what_it_cannot_use(udp_pair):
    """``add_session``: only on a sender of a session per SSRC, only with an
    SSRC and a session; an SSRC without one is a KeyError, never a packet
    protected by the wrong session. The same SSRC given again takes the new one."""
    sender, receiver = udp_pair
    if not native_send.enabled():
        pytest.skip("the compiled sender is not built or switched off")
    single = bridge.RtpSendPath.on_socket(
        sender, receiver.getsockname(), session=session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    )
    own = bridge.ssrc_session((KEY, PROFILE), SSRC)
    with pytest.raises(ValueError, match="one session"):
        bridge._add_native_session(single._native, SSRC, own)
    per_ssrc = bridge._native_sender(sender, receiver.getsockname(), None)
    assert per_ssrc is not None
    with pytest.raises(KeyError):
        per_ssrc.send(0x80, 111, 1, 960, SSRC, b"", b"media")
    with pytest.raises(ValueError, match="SSRC"):
        per_ssrc.add_session(2**32, 1, own)
    with pytest.raises(ValueError, match="SSRC"):
        per_ssrc.add_session(SSRC, 0, own)
    stale = bridge.ssrc_session((bytes(30), PROFILE), SSRC)  # another key
    bridge._add_native_session(per_ssrc, SSRC, stale)
    bridge._add_native_session(per_ssrc, SSRC, own)
    for other in range(20):  # the table grows past its first size
        bridge._add_native_session(per_ssrc, other, bridge.ssrc_session((KEY, PROFILE), other))
    assert per_ssrc.send(0x80, 111, 1, 960, SSRC, b"", b"media") == 17
    inbound = session(pylibsrtp.Policy.SSRC_ANY_INBOUND)
    assert decrypted(receiver, inbound, 1) == [1]
