"""Issue 18, point 4 (the recognition half): the caption worker of a room,
fed real Opus packets of espeak-ng speech through :class:`CaptionProcess`,
sends partial captions soon after a speaker starts and a final one per
utterance; speakers are captioned apart; it survives garbage, refuses what
it cannot do before starting a process, bounds its backlog, reports its
death and leaves nothing behind.

The word error bound is the transcript tests' (0.6; see
test_meeting_transcript.py). Measured over 5 runs on the project's 2-core
machine: the final of Alice's sentence came out at 0.00 every time and
Bob's at 0.14 ("and you for joining the meeting today"): the final is the
whole utterance's recognition, as good as the transcript's. The first
partial came 0.19 s after the speaker started (0.3-0.5 s with two busy
loops on both cores), the final 1.0-1.5 s after the sentence ended (about
2.5 s with the busy loops).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from opus_speech import opus_packets, play, silence, timed
from spoken_media import ALICE_VOICE, BOB_VOICE, FRAME, RATE, needs_espeak, synthesize, words_of
from word_error import word_error_rate

from recording.caption_process import (
    AUDIO,
    HEADER,
    Caption,
    CaptionOptions,
    CaptionProcess,
    CaptionsUnavailable,
)
from recording.caption_worker import CaptionWorker
from recording.speech_engines import EngineChoice, load_recognizer

pytestmark = pytest.mark.timeout(60)

ALICE = "We need to talk about the budget for next year."
BOB = "Thank you for joining the meeting today."
MAX_WER = 0.6
#: A partial must show well within this of the speaker starting (the
#: browser test allows 3 s end to end, network and page included).
FIRST_PARTIAL_WITHIN = 1.5


class Captions:
    """A CaptionProcess and what it sent, with when it arrived."""

    def __init__(self, options: CaptionOptions | None = None) -> None:
        self.received: list[tuple[float, Caption]] = []
        self.exits: list[str | None] = []
        self.process = CaptionProcess(
            options or CaptionOptions(),
            lambda c: self.received.append((time.monotonic(), c)),
            self.exits.append,
        )

    def of(self, stream: int) -> list[tuple[float, Caption]]:
        return [(at, c) for at, c in self.received if c.stream == stream]

    def finals(self, stream: int) -> list[Caption]:
        return [c for _, c in self.of(stream) if c.final]

    async def final(self, stream: int, seconds: float) -> tuple[float, Caption]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for at, caption in self.of(stream):
                if caption.final:
                    return at, caption
            await asyncio.sleep(0.02)
        raise AssertionError(f"no final caption of stream {stream} in {seconds} s: {self.received}")


@pytest.fixture
async def captions():
    made: list[Captions] = []

    async def make(options: CaptionOptions | None = None) -> Captions:
        made.append(Captions(options))
        await made[-1].process.start()
        return made[-1]

    yield make
    for item in made:
        await item.process.close()


async def until(condition: Callable[[], object], seconds: float) -> bool:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return bool(condition())


def gone(pid: int) -> bool:
    """No process ``pid`` (not even a zombie: it was reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def speech(text: str, voice, tmp_path: Path) -> np.ndarray:
    return synthesize(text, voice, tmp_path / "speech")


def wer(script: str, caption: Caption) -> float:
    return word_error_rate(words_of(script), caption.text.split())


@needs_espeak
async def test_a_sentence_is_captioned_partials_first_then_the_final(captions, tmp_path):
    said = speech(ALICE, ALICE_VOICE, tmp_path)
    lead = 0.6
    signal_ = np.concatenate([silence(lead), said, silence(1.5)])
    room = await captions()
    started = await play(room.process.audio, timed(5, opus_packets(signal_, 123456)))
    onset, spoken_end = started + lead, started + lead + said.size / RATE
    final_at, final = await room.final(5, 10.0)
    partials = [(at, c) for at, c in room.of(5) if not c.final]
    assert all(at >= onset for at, _ in room.received), "a caption before the speech"
    assert partials and partials[0][0] < final_at
    first_partial = partials[0][0] - onset
    after_speech = final_at - spoken_end
    print(f"first partial {first_partial:.2f} s after onset; final {after_speech:.2f} s after")
    print(f"WER {wer(ALICE, final):.2f}: {final.text!r}")
    assert first_partial < FIRST_PARTIAL_WITHIN
    # 1.0-1.5 s on the idle 2-core machine (0.6 s of them waiting for the
    # pause to be a pause, the rest recognizing), 2.1 s with both cores busy.
    assert after_speech < 3.5
    assert {c.utterance for _, c in room.of(5)} == {1}
    assert all(c.text for _, c in room.received)
    # Partials at most every partial_interval (a little scheduling slack).
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(partials)]
    assert all(gap > 0.3 for gap in gaps), gaps
    assert wer(ALICE, final) <= MAX_WER, final.text
    assert room.finals(5) == [final]


@needs_espeak
async def test_two_speakers_at_once_are_captioned_apart(captions, tmp_path):
    alice = np.concatenate([speech(ALICE, ALICE_VOICE, tmp_path), silence(1.2)])
    bob = np.concatenate([speech(BOB, BOB_VOICE, tmp_path), silence(1.2)])
    room = await captions()
    schedule = timed(1, opus_packets(alice, 1000)) + timed(
        2, opus_packets(bob, 2**32 - 20 * FRAME), 0.8
    )
    await play(room.process.audio, schedule, speed=1.5)
    (_, a), (_, b) = await room.final(1, 10.0), await room.final(2, 10.0)
    print(f"WER Alice {wer(ALICE, a):.2f} {a.text!r}, Bob {wer(BOB, b):.2f} {b.text!r}")
    assert wer(ALICE, a) <= MAX_WER, a.text
    assert wer(BOB, b) <= MAX_WER, b.text
    # No content word of one speaker's script in the other's captions.
    alice_only = set(words_of(ALICE)) - set(words_of(BOB)) - {"to", "the", "for"}
    bob_only = set(words_of(BOB)) - set(words_of(ALICE)) - {"to", "the", "for"}
    for _, caption in room.of(1):
        assert not set(caption.text.split()) & bob_only, caption
    for _, caption in room.of(2):
        assert not set(caption.text.split()) & alice_only, caption


@needs_espeak
async def test_end_finishes_the_utterance_at_once(captions, tmp_path):
    said = speech(ALICE, ALICE_VOICE, tmp_path)
    packets = opus_packets(said, 77)
    room = await captions()
    half = packets[: len(packets) // 2]  # mid-sentence
    await play(room.process.audio, timed(9, half))
    assert any(not c.final for _, c in room.of(9)), "no partial while speaking"
    ended = time.monotonic()
    room.process.end(9)
    final_at, final = await room.final(9, 5.0)
    print(f"final {final_at - ended:.2f} s after end()")
    # Recognizing 1.8 s of speech: 0.6-0.8 s on the idle 2-core machine,
    # 1.4 s with both cores busy.
    assert final_at - ended < 2.0
    assert final.text
    count = len(room.of(9))
    await asyncio.sleep(1.0)  # past silence_end_seconds: nothing more comes
    assert len(room.of(9)) == count


@needs_espeak
async def test_a_speaker_whose_packets_stop_gets_a_final(captions, tmp_path):
    """No END, no more packets (a sender in DTX, a microphone muted
    mid-word): the utterance ends silence_end_seconds later."""
    packets = opus_packets(speech(ALICE, ALICE_VOICE, tmp_path), 500)
    room = await captions(CaptionOptions(silence_end_seconds=0.5))
    await play(room.process.audio, timed(8, packets[: len(packets) // 2]), speed=2.0)
    stopped = time.monotonic()
    final_at, final = await room.final(8, 5.0)
    print(f"final {final_at - stopped:.2f} s after the packets stopped")
    assert 0.5 <= final_at - stopped < 2.5
    assert final.text and final.utterance == 1


async def test_silence_gives_no_captions(captions):
    room = await captions()
    quiet = np.concatenate(
        [silence(2.0), (np.random.default_rng(1).normal(0, 30, RATE)).astype(np.int16)]
    )
    await play(room.process.audio, timed(4, opus_packets(quiet)), speed=4.0)
    await asyncio.sleep(1.0)
    room.process.end(4)
    await asyncio.sleep(0.3)
    assert room.received == []
    assert room.process.running


@needs_espeak
async def test_garbage_and_oversized_frames_do_not_stop_the_worker(captions, tmp_path):
    room = await captions()
    process = room.process
    rng = np.random.default_rng(7)
    for index in range(50):  # not Opus (some of it decodes to noise, most not)
        assert process.audio(3, index * FRAME, rng.bytes(int(rng.integers(1, 1400))))
    assert process.audio(3, 0, b"x" * 1501) is False
    assert process.audio(70000, 0, b"x") is False
    assert process.audio(3, 0, b"") is False
    assert process.rejected == 3
    # Frames no CaptionProcess would write, straight into the worker's stdin.
    stdin = process._process.stdin
    stdin.write(HEADER.pack(AUDIO, 3, 0, 4000) + bytes(4000))  # over the payload bound
    stdin.write(HEADER.pack(9, 3, 0, 10) + bytes(10))  # an unknown kind
    said = np.concatenate([speech(ALICE, ALICE_VOICE, tmp_path), silence(1.2)])
    await play(process.audio, timed(3, opus_packets(said, 60 * FRAME)), speed=2.0)
    _, final = await room.final(3, 10.0)
    assert wer(ALICE, final) <= MAX_WER, final.text
    assert process.running and room.exits == []


async def test_a_language_the_engine_does_not_speak_is_refused_without_a_worker():
    process = CaptionProcess(CaptionOptions(language="de-DE"), lambda c: None)
    started = time.monotonic()
    with pytest.raises(CaptionsUnavailable) as refused:
        await process.start()
    assert time.monotonic() - started < 0.5
    assert refused.value.code == "transcript_language_unsupported"
    assert "de-DE" in refused.value.message
    assert process.pid is None and not process.running
    assert process.audio(1, 0, b"x") is False
    await process.close()


async def test_an_engine_without_its_model_is_refused():
    process = CaptionProcess(CaptionOptions(engine="whispercpp", language="en"), lambda c: None)
    with pytest.raises(CaptionsUnavailable) as refused:
        await process.start()
    assert refused.value.code == "transcript_engine_unavailable"
    assert process.pid is None


@needs_espeak
async def test_the_backlog_is_bounded_while_the_worker_is_stopped(captions, tmp_path):
    bound = 16_000
    room = await captions(CaptionOptions(max_backlog_bytes=bound))
    process = room.process
    said = np.concatenate([speech(ALICE, ALICE_VOICE, tmp_path), silence(1.2)])
    packets = opus_packets(said, 5000)
    # The flood is quiet (a hiss far below speech): cheap for the worker to
    # catch up on, so what follows is not waiting behind seconds of speech.
    hiss = opus_packets(np.random.default_rng(3).normal(0, 30, RATE).astype(np.int16))
    os.kill(process.pid, signal.SIGSTOP)
    try:
        accepted, slowest = 0, 0.0
        for index in range(3000):  # 60 s of audio, far more than fits
            packet = hiss[index % len(hiss)]
            before = time.perf_counter()
            ok = process.audio(6, 5000 + index * FRAME, packet.payload)
            slowest = max(slowest, time.perf_counter() - before)
            accepted += ok
        assert process.dropped == 3000 - accepted > 0
        assert slowest < 0.01, "audio() blocked"
        assert process._stdin.transport.get_write_buffer_size() <= bound
        assert process.running
    finally:
        os.kill(process.pid, signal.SIGCONT)
    # Running again: the backlog drains, audio is taken and captioned again.
    assert await until(lambda: process._stdin.transport.get_write_buffer_size() == 0, 10)
    process.end(6)
    await asyncio.sleep(0.5)
    before = len(room.finals(7))
    await play(process.audio, timed(7, packets), speed=2.0)
    _, final = await room.final(7, 10.0)
    assert before == 0 and wer(ALICE, final) <= MAX_WER, final.text
    assert room.finals(6) == []  # the hiss: nothing
    assert room.exits == []


async def test_a_killed_worker_is_reported_once(captions):
    room = await captions()
    process = room.process
    os.kill(process.pid, signal.SIGKILL)
    assert await until(lambda: room.exits, 5)
    assert room.exits == ["killed by SIGKILL"]
    assert not process.running
    assert process.audio(1, 0, b"\xfc\xff\xfe") is False
    process.end(1)
    await process.close()
    await process.close()
    await asyncio.sleep(0.1)
    assert room.exits == ["killed by SIGKILL"]


async def test_close_leaves_no_process_behind(captions):
    room = await captions()
    pid = room.process.pid
    await room.process.close()
    assert gone(pid)
    assert room.process.audio(1, 0, b"\xfc\xff\xfe") is False
    await room.process.close()
    assert room.exits == []
    # A worker that does not run (stopped) is killed all the same.
    stopped = await captions()
    pid = stopped.process.pid
    os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    await stopped.process.close()
    assert time.monotonic() - started < 6
    assert gone(pid)
    assert stopped.exits == []


@needs_espeak
def test_rtp_timestamps_that_wrap_and_lost_packets(tmp_path):
    """In process: the worker's pipeline takes a timestamp wrap in the middle
    of a sentence and a lost tenth of a second, and still hears it."""
    said = np.concatenate([silence(0.3), speech(BOB, BOB_VOICE, tmp_path), silence(1.0)])
    packets = opus_packets(said, 2**32 - 40 * FRAME, stereo=False)
    del packets[60:65]  # 100 ms lost
    recognizer = load_recognizer(EngineChoice())
    out: list[dict] = []
    worker = CaptionWorker(CaptionOptions(), recognizer, out.append)
    for sent in timed(2, packets):
        worker.frame(AUDIO, sent.stream, sent.packet.timestamp, sent.packet.payload)
    worker.tick()
    finals = [m for m in out if m["final"]]
    assert len(finals) == 1 and finals[0]["utterance"] == 1
    assert word_error_rate(words_of(BOB), finals[0]["text"].split()) <= MAX_WER, finals
    worker.close()
    recognizer.close()


@needs_espeak
def test_a_long_utterance_is_cut_into_finals(tmp_path):
    """In process: max_utterance_seconds cuts a sentence said without a
    pause; the words go on in the next utterance."""
    said = np.concatenate([speech(ALICE, ALICE_VOICE, tmp_path), silence(1.0)])
    recognizer = load_recognizer(EngineChoice())
    out: list[dict] = []
    worker = CaptionWorker(CaptionOptions(max_utterance_seconds=1.5), recognizer, out.append)
    for sent in timed(4, opus_packets(said, 0)):
        worker.frame(AUDIO, sent.stream, sent.packet.timestamp, sent.packet.payload)
    worker.tick()
    finals = [m for m in out if m["final"]]
    assert [m["utterance"] for m in finals] == list(range(1, len(finals) + 1))
    assert len(finals) >= 2
    heard = " ".join(m["text"] for m in finals).split()
    assert word_error_rate(words_of(ALICE), heard) <= MAX_WER, finals
    worker.close()
    recognizer.close()


@needs_espeak
def test_audio_that_comes_seconds_late_is_skipped_and_captions_go_on(tmp_path):
    """In process, on a clock of the test's: the worker stalls (a busy
    machine) while Bob speaks, then gets the stalled audio all at once. What
    is more than MAX_LAG_SECONDS late is skipped unheard (no caption seconds
    behind the speaker); Alice's sentence after the stall is captioned."""
    from recording.caption_worker import MAX_LAG_SECONDS

    now = [1000.0]
    bob, alice = speech(BOB, BOB_VOICE, tmp_path), speech(ALICE, ALICE_VOICE, tmp_path)
    stall = 2 * MAX_LAG_SECONDS + bob.size / RATE
    said = np.concatenate([silence(0.5), bob, silence(stall - bob.size / RATE), alice, silence(1)])
    packets = opus_packets(said, 0)
    recognizer = load_recognizer(EngineChoice())
    out: list[dict] = []
    worker = CaptionWorker(CaptionOptions(), recognizer, out.append, clock=lambda: now[0])
    stalled = range(round(0.5 * RATE / FRAME), round((0.5 + stall) * RATE / FRAME))
    for index, packet in enumerate(packets):
        if index == stalled.start:
            now[0] += stall  # nothing read meanwhile
        if index not in stalled:
            now[0] += FRAME / RATE
        worker.frame(AUDIO, 7, packet.timestamp, packet.payload)
    now[0] += 2
    worker.tick()
    speaker = worker._speakers[7]
    # Every packet of the stall's first part was skipped; the ones from
    # MAX_LAG_SECONDS before its end on were in time again.
    assert speaker.stale >= round((stall - MAX_LAG_SECONDS) * RATE / FRAME) - 1
    finals = [m["text"] for m in out if m["final"]]
    heard = " ".join(finals).split()
    assert not set(heard) & {"thank", "joining", "meeting", "today"}, finals
    assert word_error_rate(words_of(ALICE), heard) <= MAX_WER, finals
    worker.close()
    recognizer.close()
