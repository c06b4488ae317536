"""Issue 17, point 1: the compiled last step of forwarding (sfu/_rtp_send.c).

It must put exactly the bytes on the wire that the Python steps put there
(``rtp.rewrite``, ``direct_protect``, ``sendto``), fail the way they fail,
and never send on a socket that is not the subscriber's any more. Real
sockets, real libsrtp sessions; the media test goes through the real server
with real aiortc peers.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from pathlib import Path

import pylibsrtp
import pytest
import uvloop
from media_peers import alice_sends_to_bob

from sfu import aiortc_bridge as bridge
from sfu import native_send, rtp
from sfu._rtp_send import RtpSender

PROFILES = {
    pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80: 30,
    pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM: 28,
    pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM: 44,
}


def session(profile: int, direction: int) -> pylibsrtp.Session:
    key = bytes(range(PROFILES[profile]))
    return pylibsrtp.Session(pylibsrtp.Policy(key, direction, srtp_profile=profile))


def received_packet(
    *, sequence_number: int, marker: bool, padding: bool, payload_size: int
) -> rtp.RtpView:
    """A publisher's packet as the producer hands it on (stamped)."""
    b0 = 0x80 | (0x20 if padding else 0)
    b1 = (0x80 if marker else 0) | 111
    payload = bytes([sequence_number & 0xFF]) * payload_size
    if padding:
        payload = payload[:-4] + b"\x00\x00\x00\x04"
    data = struct.pack("!BBHII", b0, b1, sequence_number, 1000 * sequence_number, 0x5EED) + payload
    view = rtp.parse(data)
    assert view is not None
    view.stamp()
    return view


def outbound_session() -> pylibsrtp.Session:
    return session(
        pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM, pylibsrtp.Policy.SSRC_ANY_OUTBOUND
    )


@pytest.fixture
def udp_pair():
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    sender.setblocking(False)
    yield sender, receiver
    sender.close()
    receiver.close()


def test_the_installation_built_the_compiled_sender():
    """scripts/setup.sh installs a C compiler and pip builds the module; the
    build is optional (a machine without a compiler still installs), so this
    is what notices a build that silently failed."""
    assert native_send.enabled()


@pytest.mark.parametrize("profile", list(PROFILES))
def test_the_compiled_sender_puts_the_python_steps_bytes_on_the_wire(udp_pair, profile):
    """Every kind of packet (with and without an extension block, marker,
    padding; up to the longest the SRTP buffer takes), through a send path
    with the compiled sender and one with the Python steps, each with its own
    session of the same key: the same datagrams arrive, and they unprotect
    to the rewritten packet."""
    sender, receiver = udp_pair
    address = receiver.getsockname()
    native = bridge.RtpSendPath.on_socket(
        sender, address, session=session(profile, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    )
    python = bridge.RtpSendPath.on_socket(
        sender, address, session=session(profile, pylibsrtp.Policy.SSRC_ANY_OUTBOUND),
        native=False,
    )  # fmt: skip
    assert native._native is not None and python._native is None
    inbound = session(profile, pylibsrtp.Policy.SSRC_ANY_INBOUND)
    extension_blocks = [b"", rtp.ExtensionTemplate([(1, b"3")], (3, 3)).build(b"\x01\x02\x03")]
    cases = [
        (extensions, marker, padding, size)
        for extensions in extension_blocks
        for marker in (False, True)
        for padding in (False, True)
        for size in (8, 1000)
    ] + [(b"", False, False, 1356 - 12)]
    for number, (extensions, marker, padding, size) in enumerate(cases):
        view = received_packet(
            sequence_number=number, marker=marker, padding=padding, payload_size=size
        )
        out_seq, out_ts, out_ssrc = (40000 + number) & 0xFFFF, 0xFFFFFF00 + number, 0xABCDEF01
        expected = rtp.rewrite(view, 96, out_seq, out_ts, out_ssrc, extensions)
        assert native.send_rewritten(view, 96, out_seq, out_ts, out_ssrc, extensions) == len(
            expected
        )
        from_native = receiver.recv(2048)
        assert python.send_rewritten(view, 96, out_seq, out_ts, out_ssrc, extensions) == len(
            expected
        )
        from_python = receiver.recv(2048)
        assert from_native == from_python
        assert inbound.unprotect(from_native) == expected


def test_a_packet_too_long_or_a_replay_fails_as_in_python(udp_pair):
    sender, receiver = udp_pair
    path = bridge.RtpSendPath.on_socket(
        sender, receiver.getsockname(),
        session=outbound_session(),
    )  # fmt: skip
    too_long = received_packet(sequence_number=1, marker=False, padding=False, payload_size=1345)
    with pytest.raises(ValueError, match="too long"):
        path.send_rewritten(too_long, 96, 1, 1, 1, b"")
    view = received_packet(sequence_number=2, marker=False, padding=False, payload_size=100)
    assert path.send_rewritten(view, 96, 7, 7, 7, b"") == 112
    with pytest.raises(pylibsrtp.Error, match="srtp_protect failed"):
        path.send_rewritten(view, 96, 7, 7, 7, b"")  # the same number again: a replay


def test_a_closed_socket_is_never_written_through_its_old_number(udp_pair):
    """Once the subscriber's socket is closed, the sender asks the socket
    object, not a remembered descriptor: a new socket that got the same
    descriptor number receives nothing, and the path gives up (0) until it
    is resolved again."""
    sender, receiver = udp_pair
    path = bridge.RtpSendPath.on_socket(
        sender, receiver.getsockname(),
        session=outbound_session(),
    )  # fmt: skip
    number = sender.fileno()
    sender.close()
    newcomer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert newcomer.fileno() == number
        newcomer.setblocking(False)
        view = received_packet(sequence_number=3, marker=False, padding=False, payload_size=100)
        assert path.send_rewritten(view, 96, 1, 1, 1, b"") == 0
        receiver.settimeout(0.2)
        with pytest.raises(TimeoutError):
            receiver.recv(2048)
        assert path._native is None  # reset: resolved again on the next packet
    finally:
        newcomer.close()


def test_a_full_socket_buffer_drops_the_packet_instead_of_blocking(tmp_path: Path):
    """A datagram socket whose peer does not read fills up (a Unix one: UDP
    on loopback hardly ever does); then ``send`` gives 0 at once, even on a
    socket in blocking mode (a hang here is pytest-timeout's failure)."""
    inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    inbox.bind(str(tmp_path / "inbox"))
    outbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    outbox.setblocking(True)
    path = os.fsencode(tmp_path / "inbox")
    address = struct.pack("=H", socket.AF_UNIX) + path + b"\x00"
    outbound = outbound_session()
    state = outbound._srtp[0]
    ffi = bridge._srtp_ffi
    protect = int(ffi.cast("uintptr_t", ffi.addressof(bridge._srtp_lib, "srtp_protect")))
    sender = RtpSender(outbox, address, protect, int(ffi.cast("uintptr_t", state)), outbound._srtp)
    try:
        results = [sender.send(0x80, 96, n, n, 1, b"", bytes(1000)) for n in range(2000)]
        assert results[0] == 1012
        assert 0 in results, "the receiver's queue never filled"
        assert set(results) == {0, 1012}
    finally:
        inbox.close()
        outbox.close()


def test_header_fields_out_of_range_and_an_unmade_sender_are_errors(udp_pair):
    """Numbers that do not fit their header field are refused (the Python
    steps' ``struct.pack`` refuses them too), never cut short; a sender that
    skipped ``__init__`` raises instead of calling a null pointer."""
    sender, receiver = udp_pair
    path = bridge.RtpSendPath.on_socket(sender, receiver.getsockname(), session=outbound_session())
    native = path._native
    assert native is not None
    for fields in ((0x100, 96, 1, 1, 1), (0x80, 96, 0x10000, 1, 1), (0x80, 96, 1, 2**32, 1),
                   (0x80, 96, 1, 1, -1), (0x80, 96, 1, 1, 2**64)):  # fmt: skip
        with pytest.raises(OverflowError):
            native.send(*fields, b"", b"x")
    with pytest.raises(RuntimeError, match="not initialised"):
        RtpSender.__new__(RtpSender).send(0x80, 96, 1, 1, 1, b"", b"x")
    assert native.send(0x80, 96, 1, 1, 1, b"", b"x") == 13  # still usable


def test_addresses_it_cannot_pack_leave_the_python_steps():
    assert native_send.sockaddr(socket.AF_INET, ("127.0.0.1", 5000)) == (
        struct.pack("=H", socket.AF_INET) + b"\x13\x88" + bytes([127, 0, 0, 1]) + bytes(8)
    )
    assert len(native_send.sockaddr(socket.AF_INET6, ("::1", 5000, 0, 0)) or b"") == 28
    assert native_send.sockaddr(socket.AF_INET6, ("fe80::1%eth0", 5000)) is None
    assert native_send.sockaddr(socket.AF_INET, ("not an address", 5000)) is None
    assert native_send.sockaddr(socket.AF_UNIX, "/tmp/x") is None


def test_switched_off_by_the_environment(monkeypatch):
    """``CONF_NATIVE_SEND=0`` (for comparing the two in a benchmark) leaves
    the Python steps."""
    monkeypatch.setenv("CONF_NATIVE_SEND", "0")
    assert not native_send.enabled()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        assert native_send.create(sock, ("127.0.0.1", 9), 1, 1, object()) is None


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python-steps"])
async def test_a_subscriber_gets_its_media_through_either_sender(
    server, make_client, monkeypatch, compiled
):
    """Through the real server: Bob decodes Alice's camera, sent with the
    compiled sender, or with the Python steps where it is switched off (as
    on a machine that could not build it)."""
    if not compiled:
        monkeypatch.setenv("CONF_NATIVE_SEND", "0")
    _alice, bob = await alice_sends_to_bob(make_client, "native", 20)
    subscriber = server.service.media["native"].subscribers[bob.participant_id]
    path = subscriber._send_path
    assert path is not None
    assert (path._native is not None) == compiled
    assert subscriber.slots[0].packets_sent > 0
    # Each SSRC Bob receives was protected by a session of its own (the
    # frames he decoded prove the keys right).
    sent = {slot.ssrc for slot in subscriber.slots if slot.packets_sent}
    assert sent and sent <= set(path._sessions)


def test_on_uvloop_it_sends_through_the_pseudo_socket_and_stops_once_closed():
    """uvloop lends a PseudoSocket, not the socket: the compiled sender uses
    its descriptor while the transport is open and raises (never writes to
    the old number) once it is closed."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        try:
            lent = transport.get_extra_info("socket")
            assert not hasattr(lent, "_sock")
            native = bridge._native_sender(lent, receiver.getsockname(), outbound_session())
            assert native is not None
            assert native.send(0x80, 96, 1, 1, 1, b"", b"hello") == 17
            assert len(receiver.recv(2048)) > 17  # protected: with its tag
            transport.close()
            await asyncio.sleep(0.05)
            with pytest.raises(OSError):
                native.send(0x80, 96, 2, 2, 1, b"", b"hello")
        finally:
            transport.close()
            receiver.close()

    uvloop.run(scenario())
