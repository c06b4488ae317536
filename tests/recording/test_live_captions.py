"""Which microphones the live captioner hands to the caption worker
(recording/live_captions.py): real producers fed RTP packets with RFC 6464
audio levels by hand; the worker's side is a list of what it was handed."""

from __future__ import annotations

import struct

from recording.live_captions import PREROLL_PACKETS, QUIET_RELEASE_S, LiveCaptioner
from sfu import Producer, Router, SfuSettings, SfuStats, rtp
from sfu.aiortc_bridge import Codec

OPUS = Codec("audio/opus", 48000, 111)
LEVEL_ID = 1
VOICE, SILENCE = 30, 127  # -dBov


async def _no_keyframe(_ssrc: int) -> bool:
    return False


class Feed:
    """What the worker got: ("audio", stream, timestamp, payload) and ("end", stream)."""

    def __init__(self, full: bool = False) -> None:
        self.got: list[tuple] = []
        self.full = full

    def audio(self, stream: int, timestamp: int, payload: bytes) -> bool:
        if self.full:
            return False
        self.got.append(("audio", stream, timestamp, payload))
        return True

    def end(self, stream: int) -> None:
        self.got.append(("end", stream))

    def audio_of(self, stream: int) -> list[bytes]:
        return [g[3] for g in self.got if g[0] == "audio" and g[1] == stream]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Mic:
    """One participant's microphone: a producer and its packets."""

    def __init__(self, participant: str, ssrc: int, source: str = "microphone") -> None:
        self.ssrc = ssrc
        self.seq = 0
        self.producer = Producer(
            kind="audio", codec=OPUS, mid="0", ssrc=ssrc, audio_level_id=LEVEL_ID,
            settings=SfuSettings(), send_keyframe_request=_no_keyframe, stats=SfuStats(),
            app_data={"participant_id": participant, "source": source},
        )  # fmt: skip

    def send(self, level: int | None, payload: bytes | None = None) -> bytes:
        self.seq += 1
        body = payload if payload is not None else struct.pack("!HB", self.seq, level or 0)
        if level is None:
            header = struct.pack("!BBHII", 0x80, 111, self.seq, self.seq * 960, self.ssrc)
        else:
            extension = struct.pack("!HHBBBB", 0xBEDE, 1, LEVEL_ID << 4, 0x80 | level, 0, 0)
            header = struct.pack("!BBHII", 0x90, 111, self.seq, self.seq * 960, self.ssrc)
            header += extension
        self.producer.receive(rtp.parse(header + body))
        return body


class Observer:
    def producer_added(self, producer: Producer) -> None: ...
    def producer_closed(self, producer: Producer) -> None: ...
    def active_speaker_changed(self, producer: Producer | None) -> None: ...


async def room(*mics: Mic, max_speakers: int = 2, full: bool = False):
    router = Router(SfuSettings(), Observer(), SfuStats())
    for mic in mics:
        router.producers[mic.producer.id] = mic.producer
    feed, clock = Feed(full), Clock()
    captioner = LiveCaptioner(router, feed, max_speakers, clock)
    captioner.start()
    return router, captioner, feed, clock


async def test_a_microphone_is_handed_over_from_its_first_voiced_packet_with_its_preroll():
    ann = Mic("p_ann", 11)
    router, captioner, feed, _ = await room(ann)
    quiet = [ann.send(SILENCE) for _ in range(PREROLL_PACKETS + 5)]
    assert feed.got == []  # silence costs the worker nothing
    first = ann.send(VOICE)
    later = ann.send(SILENCE)  # a pause inside speech still goes along
    (stream,) = {g[1] for g in feed.got}
    # The last 0.4 s before the first voiced packet come first: the first syllable is kept.
    assert feed.audio_of(stream) == [*quiet[-PREROLL_PACKETS:], first, later]
    speaker = captioner.speaker_of(stream)
    assert speaker is not None and speaker.participant_id == "p_ann"
    captioner.close()
    assert feed.got[-1] == ("end", stream)
    assert ann.producer.sinks == []
    await router.close()


async def test_at_most_max_speakers_and_a_quiet_one_gives_way():
    ann, ben, cat = Mic("p_ann", 11), Mic("p_ben", 12), Mic("p_cat", 13)
    router, captioner, feed, clock = await room(ann, ben, cat, max_speakers=2)
    ann.send(VOICE)
    ben.send(VOICE)
    cat.send(VOICE)  # a third speaker: no place
    assert {t.participant_id for t in captioner.admitted()} == {"p_ann", "p_ben"}
    assert not any(captioner.speaker_of(g[1]).participant_id == "p_cat" for g in feed.got)

    clock.now += QUIET_RELEASE_S / 2
    ben.send(VOICE)  # Ben keeps talking, Ann is quiet
    cat.send(VOICE)
    assert {t.participant_id for t in captioner.admitted()} == {"p_ann", "p_ben"}

    clock.now += QUIET_RELEASE_S * 0.75  # Ann quiet for longer than the release time
    ben.send(VOICE)
    ann_stream = next(t.stream for t in captioner.admitted() if t.participant_id == "p_ann")
    cat.send(VOICE)
    assert {t.participant_id for t in captioner.admitted()} == {"p_ben", "p_cat"}
    assert ("end", ann_stream) in feed.got  # Ann's utterance ends there
    # Ann speaking again gets a new stream: a caption id never repeats.
    clock.now += QUIET_RELEASE_S * 2
    ben.send(VOICE)
    ann.send(VOICE)
    new_ann = next(t.stream for t in captioner.admitted() if t.participant_id == "p_ann")
    assert new_ann != ann_stream
    captioner.close()
    await router.close()


async def test_packets_without_a_level_count_as_voice_and_screens_are_not_captioned():
    ann, screen = Mic("p_ann", 11), Mic("p_ann", 21, source="screen")
    router, captioner, feed, _ = await room(ann, screen)
    assert screen.producer.sinks == []  # screen audio is not someone speaking
    ann.send(None)
    assert len(feed.got) == 1
    captioner.close()
    await router.close()


async def test_new_and_closed_microphones_are_followed_and_a_full_pipe_is_counted():
    router, captioner, feed, _ = await room(full=True)
    ann = Mic("p_ann", 11)
    router.producers[ann.producer.id] = ann.producer
    captioner.producer_added(ann.producer)
    for _ in range(3):
        ann.send(VOICE)
    assert captioner.dropped == 3  # the worker was behind: dropped, never waited for
    (tap,) = captioner.admitted()
    stream = tap.stream
    captioner.producer_closed(ann.producer)
    assert captioner.taps == {} and ann.producer.sinks == []
    assert feed.got == [("end", stream)]
    captioner.close()
    await router.close()
