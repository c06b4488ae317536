"""Only the voices that matter (issue 17): each subscriber gets the audio of
at most ``audio_forward_speakers`` (3) current speakers, a new speaker from
its first voiced packet on, and silent microphones cost nothing downstream.

Real aiortc peers over loopback publish tones they switch on and off (aiortc
puts the level of each frame it encodes into the packet); the server's
forwarding is watched at the producer (a packet sink sees every packet that
arrives) and at each consumer's slot (every packet written towards a
subscriber); the peers note, per SSRC, every packet they receive.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from audio_peers import AudioPeer, received
from media_peers import ToneAudioTrack, dominant_frequency

from sfu import Consumer, Producer, RtpView
from sfu.speaker_selection import HANGOVER_S, VOICE_LEVEL

K = 3  # the default of audio_forward_speakers


async def wait_until(predicate: Any, timeout: float) -> None:
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 (state of the server, no event to wait on)
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


def media_of(server: Any, room: str) -> Any:
    return server.service.media[room]


def microphone(server: Any, room: str, peer: Any) -> Producer:
    transport = media_of(server, room).publishers[peer.participant_id]
    return next(p for p in transport.producers.values() if p.kind == "audio")


def consumer(server: Any, room: str, viewer: Any, producer: Producer) -> Consumer:
    consumer: Consumer = (
        media_of(server, room).subscribers[viewer.participant_id].consumers[producer.id]
    )
    return consumer


def everyone_connected(server: Any, room: str, peers: list[Any]) -> bool:
    """Every peer's microphone is published, and every other peer's subscribe
    slot for it is negotiated and connected."""
    media = server.service.media.get(room)
    if media is None:
        return False
    producers = []
    for peer in peers:
        transport = media.publishers.get(peer.participant_id)
        if transport is None or not transport.producers:
            return False
        producers.extend(transport.producers.values())
    for peer in peers:
        transport = media.subscribers.get(peer.participant_id)
        if transport is None:
            return False
        theirs = [p for p in producers if p.app_data["participant_id"] != peer.participant_id]
        for producer in theirs:
            got = transport.consumers.get(producer.id)
            if got is None or not got.slot.ready or not got.slot.connected:
                return False
    return True


class Tap:
    """A packet sink: every packet the producer receives (not paused), with
    its arrival time and audio level."""

    def __init__(self) -> None:
        self.packets: list[tuple[float, int, int | None]] = []

    def on_rtp(self, view: RtpView) -> None:
        self.packets.append((time.monotonic(), view.sequence_number, view.audio_level))

    def on_close(self) -> None:
        pass

    def first_voiced(self, after: float) -> tuple[float, int]:
        return next(
            (at, seq)
            for at, seq, level in self.packets
            if at >= after and level is not None and level <= VOICE_LEVEL
        )

    def last_voiced(self, before: float) -> float:
        return max(
            at
            for at, _seq, level in self.packets
            if at < before and level is not None and level <= VOICE_LEVEL
        )


def watch_writes(watched: Consumer) -> list[tuple[float, int]]:
    """(time, original sequence number) of every new packet ``watched`` writes.

    Its producer then forwards from the Python loop, whose writes are seen
    here (the compiled fan-out sends the same packets without calling the
    slot's write: tests/sfu/test_native_fan_out.py)."""
    watched.producer._fan_out = None
    slot = watched.slot
    log: list[tuple[float, int]] = []
    write = slot.write

    def logged(view: RtpView, retransmission: bool = False) -> bool:
        sent = write(view, retransmission)
        if sent and not retransmission and slot.consumer is watched:
            log.append((time.monotonic(), view.sequence_number))
        return sent

    slot.write = logged  # type: ignore[method-assign]
    return log


async def test_a_new_speaker_is_heard_from_its_first_voiced_packet(server):
    """A and B talk all along. C starts (a place is free): admitted on its first
    voiced packet. C stops; a second later D starts while the three places
    are taken: D takes the place of C, who has been quiet for a second, on
    its first voiced packet too. Later C starts again after it left the
    ranking. No voiced packet is ever held back, and a subscriber sees one
    continuous stream on C's slot (no sequence gap to NACK) across it all."""
    room = "onset"
    url = server.url
    a, b = AudioPeer(url, "A", 440, on=True), AudioPeer(url, "B", 550, on=True)
    c, d, e = AudioPeer(url, "C", 660), AudioPeer(url, "D", 770), AudioPeer(url, "E", 880)
    peers = [a, b, c, d, e]
    try:
        for peer in peers:
            await peer.enter(room)
        await wait_until(lambda: everyone_connected(server, room, peers), 30)
        mic = {peer.name: microphone(server, room, peer) for peer in peers}
        speakers = media_of(server, room).router.speakers
        # In the order their first voiced packets came: A's connection may
        # come up after B's although A entered first.
        await wait_until(lambda: set(speakers.ranked()) == {mic["A"], mic["B"]}, 10)
        talking = speakers.ranked()
        # Silent since they joined: nothing of C or D went to anybody.
        for viewer in peers:
            for name in "CD":
                if viewer.name != name:
                    assert consumer(server, room, viewer, mic[name]).packets_sent == 0

        taps = {name: Tap() for name in "CD"}
        writes: dict[tuple[str, str], list[tuple[float, int]]] = {}
        for name in "CD":
            mic[name].add_sink(taps[name])
            for viewer in peers:
                if viewer.name != name:
                    watched = consumer(server, room, viewer, mic[name])
                    writes[(viewer.name, name)] = watch_writes(watched)

        c_on = time.monotonic()
        c.tone.on = True
        await asyncio.sleep(1.0)
        c.tone.on = False
        await asyncio.sleep(1.0)  # quiet past REPLACE_AFTER_S, within HANGOVER_S
        assert speakers.ranked() == [*talking, mic["C"]]
        d_on = time.monotonic()
        d.tone.on = True
        await asyncio.sleep(1.0)
        d.tone.on = False
        await asyncio.sleep(HANGOVER_S + 1.0)
        assert speakers.ranked() == talking
        c_again = time.monotonic()
        c.tone.on = True
        await asyncio.sleep(0.6)
        c.tone.on = False
        await asyncio.sleep(0.3)

        onsets: dict[str, list[float]] = {}
        for name, started in (("C", c_on), ("D", d_on), ("C again", c_again)):
            talker = name[0]
            voiced_at, first_voiced = taps[talker].first_voiced(started)
            for viewer in peers:
                if viewer.name == talker:
                    continue
                log = writes[(viewer.name, talker)]
                forwarded_at, first_forwarded = next((at, s) for at, s in log if at >= started)
                # The very packet that first shows voice goes out: nothing voiced
                # was held back while the speaker was being admitted.
                assert first_forwarded == first_voiced, (name, viewer.name)
                assert forwarded_at - voiced_at <= 0.1, (name, viewer.name)
                onsets.setdefault(name, []).append(forwarded_at - voiced_at)

        # Nothing of C went out while it was out of the ranking.
        c_gone = taps["C"].last_voiced(d_on) + HANGOVER_S + 0.5
        for viewer in peers:
            if viewer is not c:
                late = [at for at, _ in writes[(viewer.name, "C")] if c_gone < at < c_again]
                assert late == [], viewer.name

        # E's side: C's slot carried one stream, no gap in its sequence numbers
        # across both talk spurts (nothing to NACK), its timestamps moved on
        # by the time that passed, and each spurt began with a voiced packet.
        ssrc = consumer(server, room, e, mic["C"]).slot.ssrc
        arrivals = received(e, ssrc).arrivals
        steps = {(y.sequence_number - x.sequence_number) & 0xFFFF for x, y in pairs(arrivals)}
        assert steps == {1}, steps
        pause = max(pairs(arrivals), key=lambda xy: xy[1].at - xy[0].at)
        wall = pause[1].at - pause[0].at
        ticks = ((pause[1].timestamp - pause[0].timestamp) & 0xFFFFFFFF) / 48000
        assert wall > 1.0 and abs(ticks - wall) < 0.25, (wall, ticks)
        assert arrivals[0].level is not None and arrivals[0].level <= VOICE_LEVEL
        assert pause[1].level is not None and pause[1].level <= VOICE_LEVEL
        receive_onset = arrivals[0].at - taps["C"].first_voiced(c_on)[0]
        print(
            "onset, first voiced packet at the SFU -> forwarded (ms):",
            {k: round(1000 * max(v), 3) for k, v in onsets.items()},
            "; -> received by E (ms):",
            round(1000 * receive_onset, 1),
        )
    finally:
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)


def pairs(items: list[Any]) -> list[tuple[Any, Any]]:
    return list(itertools.pairwise(items))


PARTICIPANTS = 30
TONES = (440.0, 660.0, 880.0)


async def test_thirty_people_three_talking_each_hears_at_most_k_and_every_talker(
    server, make_client
):
    """30 people, 3 of them talking: every participant receives at most K audio
    streams, and every talker's audio from every other participant's point of
    view (the packets arrive; one participant decodes the three tones)."""
    room = "thirty"
    url = server.url
    talkers = [AudioPeer(url, f"talker-{i}", f, on=True) for i, f in enumerate(TONES)]
    quiet = [AudioPeer(url, f"quiet-{i}", 300.0) for i in range(PARTICIPANTS - len(TONES) - 1)]
    peers = [*talkers, *quiet]
    listener = await make_client("listener")
    gate = asyncio.Semaphore(6)

    async def enter(peer: AudioPeer) -> None:
        async with gate:
            await peer.enter(room)

    try:
        await listener.join(room)
        await listener.publish({"microphone": ToneAudioTrack(300.0, amplitude=0.0)})
        await asyncio.gather(*(enter(p) for p in peers))
        await wait_until(lambda: everyone_connected(server, room, [*peers, listener]), 60)
        media = media_of(server, room)
        mics = {p.name: microphone(server, room, p) for p in peers}
        talker_mics = [mics[t.name] for t in talkers]
        await wait_until(lambda: set(media.router.speakers.ranked()) == set(talker_mics), 10)
        await asyncio.sleep(0.5)

        before = {
            (v, p.id): c.packets_sent
            for v, transport in media.subscribers.items()
            for p in media.router.producers.values()
            if (c := transport.consumers.get(p.id)) is not None
        }
        window = time.monotonic()
        await asyncio.sleep(2.0)

        for viewer, transport in media.subscribers.items():
            audio = [c for c in transport.consumers.values() if c.kind == "audio"]
            assert len(audio) == PARTICIPANTS - 1
            flowing = [c for c in audio if c.packets_sent > before[(viewer, c.producer.id)]]
            assert len(flowing) <= K, viewer
            assert len([c for c in audio if not c.silenced]) <= K
            for producer in talker_mics:
                if producer.app_data["participant_id"] != viewer:
                    got = transport.consumers[producer.id]
                    assert got in flowing and not got.silenced, viewer

        # At the receiving end: at most K streams, each talker's among them.
        for peer in peers:
            streams = peer.streams_since(window)
            assert len(streams) <= K, (peer.name, len(streams))
            for talker, producer in zip(talkers, talker_mics, strict=True):
                if talker is peer:
                    continue
                ssrc = consumer(server, room, peer, producer).slot.ssrc
                assert len(received(peer, ssrc).since(window)) >= 50, (peer.name, talker.name)

        # And what arrives is each talker's voice (decoded by the one full client).
        for talker, tone in zip(talkers, TONES, strict=True):
            track = listener.track_of(talker.participant_id, "microphone")
            frequency = await dominant_frequency(track, 0.5)
            assert abs(frequency - tone) < 10, (talker.name, frequency)
    finally:
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
