"""Issue 17, point 1: the compiled fan-out (``fan_out`` in sfu/_rtp_send.c).

``Producer.receive`` hands each incoming packet to all its consumers in one
compiled call, which does ``Consumer.send`` in C for the consumers that
forward the packet's layer through a resolved compiled sender and calls the
others' own ``send``. Whatever it does in C must be what the Python code
does: the same packets to every subscriber, the same numbers kept, the same
counters, the same reaction to a full or closed socket. Checked here with
two rooms built alike, one forwarding through the compiled fan-out and one
through the Python loop, fed the same packets: real Producer, Consumer,
SendSlot and RtpSendPath objects, real libsrtp sessions and real sockets.
"""

from __future__ import annotations

import gc
import itertools
import random
import socket
import struct
import time
import uuid
import weakref
from collections.abc import AsyncIterator

import pylibsrtp
import pytest
from aiortc import RTCPeerConnection
from hand_fed_simulcast import VP8, Publisher, datagrams

from sfu import aiortc_bridge as bridge
from sfu import rtp
from sfu._rtp_send import RtpSender
from sfu.consumer import Consumer
from sfu.producer import Producer
from sfu.send_slot import SendSlot
from sfu.settings import SfuSettings
from sfu.stats import SfuStats

KEY = bytes(range(44))
PROFILE = pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM
OPUS = bridge.Codec("audio/opus", 48000, 111)


def srtp_session(direction: int) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(KEY, direction, srtp_profile=PROFILE)
    return pylibsrtp.Session(policy)


def outbound() -> pylibsrtp.Session:
    return srtp_session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)


def inbound() -> pylibsrtp.Session:
    return srtp_session(pylibsrtp.Policy.SSRC_ANY_INBOUND)


class Downstream:
    """Something else on a producer layer (as a relay to another node is):
    the fan-out calls its own ``send``."""

    takes_every_packet = True

    def __init__(self) -> None:
        self.got: list[int] = []

    def send(self, view: rtp.RtpView, layer: int) -> None:
        self.got.append(view.sequence_number)

    def skip(self, view: rtp.RtpView, layer: int) -> None:
        pass


class Room:
    """A simulcast publisher and an audio publisher, with consumers in every
    state the fan-out meets, each sending to its own receiving socket."""

    def __init__(self, compiled: bool) -> None:
        # The compiled room protects each SSRC with a session of its own (as
        # a connection's path does), the other with one session for all:
        # the receivers must decrypt the same packets either way.
        self._tx_key = (KEY, PROFILE) if compiled else None
        random.seed(17)  # the slots' first numbers are drawn: alike in both rooms
        self.video = Publisher()
        self.audio = Producer(
            kind="audio", codec=OPUS, mid="1", ssrc=0xA0D10, audio_level_id=1,
            settings=SfuSettings(), send_keyframe_request=self.video._pli,
            stats=SfuStats(), app_data={},
        )  # fmt: skip
        for producer in (self.video.producer, self.audio):
            if compiled:
                assert producer._fan_out is not None
            else:
                producer._fan_out = None  # each consumer's send from Python
        self._pc = RTCPeerConnection()
        self.sockets: list[socket.socket] = []
        self.receivers: list[socket.socket] = []
        v, a = self.video.producer, self.audio
        self.forwarding = self.consumer(v, "video")  # layer 0, in C
        self.paused = self.consumer(v, "video", resume=False)
        self.upper = self.consumer(v, "video")  # switches to layer 1
        self.upper.set_target_layer(1)
        self.python_steps = self.consumer(v, "video", native=False)  # its own send
        self.voice = self.consumer(a, "audio")
        self.voice_python = self.consumer(a, "audio", native=False)
        self.relay = Downstream()
        v.layers[0].attach(self.relay)
        self.consumers = [
            self.forwarding, self.paused, self.upper, self.python_steps,
            self.voice, self.voice_python,
        ]  # fmt: skip

    def consumer(
        self, producer: Producer, kind: str, resume: bool = True, native: bool = True
    ) -> Consumer:
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(0.05)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.setblocking(False)
        self.sockets += [receiver, sender]
        self.receivers.append(receiver)
        path = bridge.RtpSendPath.on_socket(
            sender, receiver.getsockname(), session=outbound(), native=native,
            tx_key=self._tx_key,
        )  # fmt: skip
        assert (path._native is not None) == native
        slot = SendSlot(bridge.add_send_transceiver(self._pc, kind), SfuStats(), path)
        slot.ssrc = 0x5100 + len(self.receivers)
        if kind == "video":
            slot.codec = VP8
            template = rtp.ExtensionTemplate([(1, b"0")], (3, 3))
            slot._set_extensions(template, "abs_send_time")
        else:
            slot.codec = OPUS
            slot._set_extensions(rtp.ExtensionTemplate([(1, b"1")], (2, 1)), "audio_level")
        consumer = Consumer(producer, slot, SfuSettings())
        if resume:
            consumer.resume()
        return consumer

    def speak(self, seq: int, level: int | None) -> None:
        """One Opus packet, with its audio level or without the extension."""
        extension = b""
        b0 = 0x80
        if level is not None:
            extension = struct.pack("!HHBBH", 0xBEDE, 1, 0x10, level, 0)
            b0 |= 0x10
        header = struct.pack("!BBHII", b0, 111, seq, seq * 960, 0xA0D10)
        view = rtp.parse(header + extension + bytes([seq & 0xFF]) * 80)
        assert view is not None
        self.audio.receive(view)

    def play(self) -> None:
        """The same packets for every room: starts, a switch, probes, talk
        with and without levels, a pause and a resume on a keyframe."""
        video = self.video
        video.send(0, keyframe=True)
        for _ in range(5):
            video.send(0)
        video.send(1)  # upper still waits for a keyframe of layer 1
        video.send(1, keyframe=True)
        video.send(1)
        video.probe(0)  # the forwarding consumers close the number
        for _ in range(3):
            video.send(0)
            video.send(1)
        for seq in range(10):
            self.speak(seq, 30 + seq if seq % 3 else None)
        self.forwarding.pause()
        video.send(0)
        self.forwarding.resume(replay=False)
        video.send(0)  # not a keyframe: it waits
        video.send(0, keyframe=True)
        video.send(0)
        video.send(2, keyframe=True)  # nobody takes layer 2

    def arrived(self) -> list[list[bytes]]:
        """What each receiver got, unprotected."""
        result = []
        for receiver in self.receivers:
            session = inbound()
            result.append([session.unprotect(data) for data in datagrams(receiver)])
        return result

    def counters(self) -> list[tuple[int, ...]]:
        out = []
        for consumer in self.consumers:
            slot, stats = consumer.slot, consumer.slot.stats
            out.append(
                (
                    consumer.packets_sent, slot.packets_sent, slot.octets_sent,
                    slot.next_sequence_number, stats.packets_forwarded,
                    stats.bytes_forwarded, stats.packets_dropped,
                    -1 if consumer.current_layer is None else consumer.current_layer,
                )
            )  # fmt: skip
        return out

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def without_wall_clock(packet: bytes) -> bytes:
    """``packet`` without what follows the wall clock, which two rooms do
    not share: its timestamp and the value of its abs-send-time extension
    (id 3 here) zeroed."""
    data = bytearray(packet)
    data[4:8] = bytes(4)
    _profile, start, end = rtp.header_extensions(packet)
    at = start
    while at < end:
        if data[at] == 0:
            at += 1  # padding
            continue
        element, length = data[at] >> 4, (data[at] & 0x0F) + 1
        if element == 3:
            data[at + 1 : at + 1 + length] = bytes(length)
        at += 1 + length
    return bytes(data)


def timestamp_steps(packets: list[bytes]) -> list[int]:
    """How far each packet's timestamp is from the one before."""
    stamps = [struct.unpack_from("!I", p, 4)[0] for p in packets]
    return [(b - a) & 0xFFFFFFFF for a, b in itertools.pairwise(stamps)]


@pytest.fixture
async def rooms() -> AsyncIterator[tuple[Room, Room]]:
    compiled, python = Room(compiled=True), Room(compiled=False)
    yield compiled, python
    compiled.close()
    python.close()


async def test_the_compiled_fan_out_sends_what_the_python_loop_sends(rooms):
    compiled, python = rooms
    assert compiled.video.producer._fan_out is not None
    assert python.video.producer._fan_out is None
    compiled.play()
    python.play()
    got, expected = compiled.arrived(), python.arrived()
    assert [len(packets) for packets in got] == [len(packets) for packets in expected]
    assert [[without_wall_clock(p) for p in packets] for packets in got] == [
        [without_wall_clock(p) for p in packets] for packets in expected
    ]
    # The timestamps step alike; where a stream starts again (a switch, a
    # resume) the step follows the time since its last packet, which is the
    # two rooms' own (less than a second here, 90 000 ticks).
    for ours, theirs in zip(got, expected, strict=True):
        for step, other in zip(timestamp_steps(ours), timestamp_steps(theirs), strict=True):
            assert step == other or (step < 90_000 and other < 90_000)
    assert compiled.counters() == python.counters()
    # The compiled room's paths gave each SSRC they sent a session of its own.
    for consumer, packets in zip(compiled.consumers, got, strict=True):
        ssrcs = {struct.unpack_from("!I", p, 8)[0] for p in packets}
        assert set(consumer.slot._path._sessions) == ssrcs
    # One packet in 16 is timed, each consumer's send: as many times, in both.
    timed = [room.video.producer._stats.latency_count for room in (compiled, python)]
    assert timed[0] == timed[1] > 0
    assert compiled.relay.got == python.relay.got and compiled.relay.got
    # Every kind of consumer was met: the C path, paused, a switch, the Python steps.
    forwarding, paused, upper, python_steps, voice, voice_python = got
    assert len(forwarding) > 10 and not paused and len(upper) >= 5 and python_steps
    assert len(voice) == len(voice_python) == 10
    levels = [rtp.find_extension(p, 2) for p in voice]
    assert levels.count(None) == 4 and bytes([31]) in levels


async def test_stream_numbers_go_on_across_pauses_and_switches(rooms):
    """Sequence numbers of what one subscriber gets never jump (the probe's
    number is closed, the pause leaves no gap to NACK)."""
    compiled, _ = rooms
    compiled.play()
    for packets in compiled.arrived():
        numbers = [struct.unpack_from("!H", p, 2)[0] for p in packets]
        assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(numbers))


def started_consumer(
    publisher: Publisher,
    path: bridge.RtpSendPath,
    stats: SfuStats | None = None,
    pc: RTCPeerConnection | None = None,
) -> Consumer:
    """A resumed VP8 consumer of ``publisher`` whose slot sends through ``path``."""
    transceiver = bridge.add_send_transceiver(pc or RTCPeerConnection(), "video")
    slot = SendSlot(transceiver, stats or SfuStats(), path)
    slot.codec = VP8
    consumer = Consumer(publisher.producer, slot, SfuSettings())
    consumer.resume()
    return consumer


class ConnectedPath(bridge.RtpSendPath):
    """A send path on a plain socket that says it is connected (an
    ``on_socket`` path has no DTLS transport)."""

    @property
    def connected(self) -> bool:
        return True


async def test_a_full_socket_drops_the_packet_and_keeps_its_number():
    """The compiled fan-out hands a packet the kernel refused to the
    consumer (``_send_failed``): counted as dropped, its number stays taken
    (the subscriber NACKs the gap) and forwarding goes on."""
    name = b"\0sfu-fan-out-" + uuid.uuid4().hex.encode()
    inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    inbox.bind(name)
    inbox.settimeout(0.05)
    outbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    outbox.setblocking(False)
    try:
        session = outbound()
        ffi = bridge._srtp_ffi
        protect = int(ffi.cast("uintptr_t", ffi.addressof(bridge._srtp_lib, "srtp_protect")))
        srtp = int(ffi.cast("uintptr_t", session._srtp[0]))
        address = struct.pack("=H", socket.AF_UNIX) + name
        path = ConnectedPath.on_socket(outbox, name)
        path._native = RtpSender(outbox, address, protect, srtp, session._srtp)
        publisher = Publisher()
        consumer = started_consumer(publisher, path)
        slot = consumer.slot
        publisher.send(0, keyframe=True)
        sent = 1
        while slot.stats.packets_dropped < 2 and sent < 20_000:
            publisher.send(0)
            sent += 1
        assert slot.stats.packets_dropped == 2, "the socket never filled"
        assert consumer.current_layer == 0  # still forwarding
        assert slot.stats.packets_forwarded == sent - 2 == consumer.packets_sent
        arrived = datagrams(inbox)
        publisher.send(0)
        arrived += datagrams(inbox)
        state = inbound()
        numbers = [struct.unpack_from("!H", state.unprotect(p), 2)[0] for p in arrived]
        gaps = sum(((b - a) & 0xFFFF) - 1 for a, b in itertools.pairwise(numbers))
        assert gaps == 2  # the two dropped keep their numbers
    finally:
        inbox.close()
        outbox.close()


async def test_a_closed_socket_resets_the_path_and_restarts_the_consumer(udp_pair):
    """As the Python steps do: nothing reaches whatever socket got the old
    descriptor number, the path forgets its sender (resolved again next
    time) and the consumer, no longer connected, starts again cleanly."""
    sender, receiver = udp_pair
    path = bridge.RtpSendPath.on_socket(sender, receiver.getsockname(), session=outbound())
    publisher = Publisher()
    consumer = started_consumer(publisher, path)
    slot = consumer.slot
    publisher.send(0, keyframe=True)
    assert len(datagrams(receiver)) == 1
    number = sender.fileno()
    sender.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as newcomer:
        assert newcomer.fileno() == number
        publisher.send(0)
        assert datagrams(receiver) == []
    assert path._native is None
    assert consumer.current_layer is None
    assert slot.stats.packets_dropped == 1 and slot.packets_sent == 1


async def test_an_srtp_failure_is_raised_and_what_went_out_is_counted(udp_pair):
    """Two slots on one SRTP session made to send the same SSRC and numbers:
    the second protect of a number is a replay, which libsrtp refuses. The
    error (pylibsrtp's, as from the Python steps) reaches the caller (the
    socket's handler logs it); the first copy is counted."""
    sender, receiver = udp_pair
    path = bridge.RtpSendPath.on_socket(sender, receiver.getsockname(), session=outbound())
    publisher = Publisher()
    stats = SfuStats()
    pc = RTCPeerConnection()
    consumers = [started_consumer(publisher, path, stats, pc) for _ in range(2)]
    publisher.send(0, keyframe=True)  # both start (a switch: the Python steps)
    first, second = (c.slot for c in consumers)
    second.ssrc, second._seq_offset = first.ssrc, first._seq_offset
    with pytest.raises(pylibsrtp.Error, match="srtp_protect failed"):
        publisher.send(0)
    assert stats.packets_forwarded == 3 and consumers[0].packets_sent == 2
    assert consumers[1].packets_sent == 1
    assert len(datagrams(receiver)) == 3


async def test_a_closed_consumer_and_its_slot_are_freed():
    """Consumer and slot point at each other through fields of the compiled
    types: the garbage collector must see those references to free them."""
    publisher = Publisher()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        path = bridge.RtpSendPath.on_socket(sock, ("127.0.0.1", 9), session=outbound())
        slot = SendSlot(bridge.add_send_transceiver(RTCPeerConnection(), "video"), SfuStats(), path)
        consumer = Consumer(publisher.producer, slot, SfuSettings())
        publisher.producer.remove_consumer(consumer)
        for layer in publisher.producer.layers:
            layer.detach(consumer)
        gone = weakref.ref(consumer), weakref.ref(slot)
        del consumer, slot, path
        gc.collect()
        assert [ref() for ref in gone] == [None, None]


async def test_switched_off_with_the_compiled_sender(monkeypatch):
    """``CONF_NATIVE_SEND=0`` (a benchmark's comparison, or a machine that
    could not build the module) leaves the Python loop too."""
    monkeypatch.setenv("CONF_NATIVE_SEND", "0")
    assert Publisher().producer._fan_out is None


async def test_the_fan_out_alone_can_be_switched_off(monkeypatch):
    """``CONF_NATIVE_FAN_OUT=0`` keeps the compiled send step but forwards
    from the Python loop (to measure what the fan-out itself saves)."""
    monkeypatch.setenv("CONF_NATIVE_FAN_OUT", "0")
    assert Publisher().producer._fan_out is None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        path = bridge.RtpSendPath.on_socket(sock, ("127.0.0.1", 9), session=outbound())
        assert path._native is not None


async def test_slot_fields_out_of_range_are_left_to_the_python_steps(udp_pair):
    """The C path trusts no field it reads: a slot whose padding length or
    SSRC do not fit goes through its Python code instead, which sends
    with its own template or refuses the SSRC as before (never a crash)."""
    sender, receiver = udp_pair
    path = bridge.RtpSendPath.on_socket(sender, receiver.getsockname(), session=outbound())
    publisher = Publisher()
    consumer = started_consumer(publisher, path)
    slot = consumer.slot
    slot._set_extensions(rtp.ExtensionTemplate([(1, b"0")], (3, 3)), "abs_send_time")
    publisher.send(0, keyframe=True)
    slot._ext_zeros = -1
    publisher.send(0)
    slot._ext_zeros = 1 << 62
    publisher.send(0)
    assert len(datagrams(receiver)) == 3 == consumer.packets_sent
    slot.ssrc = 1 << 40
    with pytest.raises(OverflowError):
        publisher.send(0)
    assert datagrams(receiver) == []


async def test_the_sampled_packet_times_each_send(rooms):
    """The packet the stats time (one in 16) goes through the compiled
    fan-out too, which reports when each consumer's send ended, counted
    from the call's start: one figure per consumer, in order."""
    compiled, _ = rooms
    compiled.video.send(0, keyframe=True)
    producer = compiled.video.producer
    layer = producer.layers[0]
    view = rtp.parse(struct.pack("!BBHII", 0x80, 96, 9, 9, 1001) + b"\x10\x01\x00\x00\x00")
    assert view is not None and producer._fan_out is not None
    view.stamp()
    times: list[float] = []
    started = time.perf_counter()
    producer._fan_out(layer.consumers, view, 0, times)
    took = time.perf_counter() - started  # the same clock (CLOCK_MONOTONIC)
    assert len(times) == len(layer.consumers) >= 3
    assert times == sorted(times) and times[0] >= 0 and times[-1] <= took
    assert compiled.forwarding.packets_sent == 2
