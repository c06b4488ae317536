"""Live recognition of one speaker (recording/live_recognition.py), in this
process: PocketSphinx's live decoder gives growing partials from the first
words on, the final is the whole utterance's recognition, a batch-only
engine's partials cost a bounded share of the time, and the segmenter shows
its open stretch as it grows. The word error bound is the transcript
tests' (0.6, see test_meeting_transcript.py)."""

from __future__ import annotations

import itertools

import av
import numpy as np
import pytest
from spoken_media import ALICE_VOICE, RATE, needs_espeak, synthesize, words_of
from word_error import word_error_rate

from recording.live_recognition import BatchStream, NativeStream, open_stream
from recording.pocketsphinx_engine import PocketSphinxRecognizer
from recording.speech_recognizer import SAMPLE_RATE, Utterance, Word
from recording.voice_activity import SpeechSegmenter, VadOptions

pytestmark = pytest.mark.timeout(60)

SENTENCE = "We need to talk about the budget for next year."
MAX_WER = 0.6
CHUNK = SAMPLE_RATE // 50  # 20 ms, as packets come


class Clock:
    """Time that moves when the test says (for partial pacing)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def at_16k(samples: np.ndarray) -> np.ndarray:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = RATE
    out = resampler.resample(frame) + resampler.resample(None)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in out]).astype(np.int16)


@pytest.fixture(scope="module")
def recognizer():
    loaded = PocketSphinxRecognizer("en-US", max_streams=1)
    yield loaded
    loaded.close()


@pytest.fixture(scope="module")
def sentence(tmp_path_factory) -> np.ndarray:
    said = synthesize(SENTENCE, ALICE_VOICE, tmp_path_factory.mktemp("speech"))
    return np.concatenate([np.zeros(4000, np.int16), at_16k(said), np.zeros(4000, np.int16)])


def feed_all(stream, samples: np.ndarray, clock: Clock) -> list[tuple[float, str]]:
    """Feed 20 ms pieces, the clock moving 20 ms each; the partials with their times."""
    partials = []
    for offset in range(0, samples.size, CHUNK):
        clock.now += CHUNK / SAMPLE_RATE
        text = stream.feed(samples[offset : offset + CHUNK])
        if text is not None:
            partials.append((clock.now, text))
    return partials


@needs_espeak
def test_pocketsphinx_partials_grow_from_the_first_words_and_the_final_is_right(
    recognizer, sentence
):
    clock = Clock()
    stream = open_stream(recognizer, 0.4, clock)
    assert isinstance(stream, NativeStream)
    partials = feed_all(stream, sentence, clock)
    final = stream.finish()
    onset = 4000 / SAMPLE_RATE
    assert partials, "no partial"
    assert partials[0][0] - onset < 1.0, partials[0]
    assert all(text for _, text in partials)
    assert all(b[0] - a[0] >= 0.4 - 1e-9 for a, b in itertools.pairwise(partials))
    assert len({text for _, text in partials}) == len(partials)  # only changes are sent
    assert partials[-1][1].split()[0] == final.words[0].text  # the same start
    assert word_error_rate(words_of(SENTENCE), final.text.split()) <= MAX_WER, final.text
    assert all(0 <= w.start < w.end <= sentence.size / SAMPLE_RATE + 0.01 for w in final.words)
    assert stream.feed(sentence[:CHUNK]) is None  # finished: nothing more
    assert stream.finish() == Utterance(())


@needs_espeak
def test_streams_beyond_the_live_decoders_fall_back_to_batch(recognizer, sentence):
    first = open_stream(recognizer)
    second = open_stream(recognizer)  # max_streams=1: no live decoder free
    assert isinstance(first, NativeStream) and isinstance(second, BatchStream)
    first.cancel()
    third = open_stream(recognizer)  # the decoder came back
    assert isinstance(third, NativeStream)
    third.feed(sentence)
    assert word_error_rate(words_of(SENTENCE), third.finish().text.split()) <= MAX_WER
    second.cancel()


class SlowEngine:
    """A batch-only engine (PocketSphinx's recognize()) that takes ``cost``
    seconds on the test's clock for each recognition."""

    engine = "slow"
    language = "en-US"
    sample_rate = SAMPLE_RATE

    def __init__(self, inner: PocketSphinxRecognizer, clock: Clock, cost: float) -> None:
        self.inner, self.clock, self.cost = inner, clock, cost
        self.calls = 0

    def recognize(self, samples: np.ndarray) -> Utterance:
        self.calls += 1
        self.clock.now += self.cost
        return self.inner.recognize(samples)

    def close(self) -> None:
        pass


@needs_espeak
def test_a_batch_engine_gives_partials_at_a_bounded_cost(recognizer, sentence):
    clock = Clock()
    engine = SlowEngine(recognizer, clock, cost=0.3)
    stream = open_stream(engine, 0.4, clock)
    assert isinstance(stream, BatchStream)
    partials = feed_all(stream, sentence, clock)
    audio_seconds = sentence.size / SAMPLE_RATE
    # Each run of 0.3 s waits 0.6 s after it: at most a third of the time,
    # plus the run that may be under way when the audio ends.
    assert engine.calls * 0.3 <= (audio_seconds + engine.calls * 0.3) / 3 + 0.3
    assert partials and all(text for _, text in partials)
    final = stream.finish()
    assert word_error_rate(words_of(SENTENCE), final.text.split()) <= MAX_WER, final.text
    # A fast engine is held to partial_interval.
    clock = Clock()
    quick = CountingEngine()
    stream = open_stream(quick, 0.4, clock)
    partials = feed_all(stream, sentence, clock)
    assert quick.calls <= audio_seconds / 0.4 + 1
    assert all(b[0] - a[0] >= 0.4 - 1e-9 for a, b in itertools.pairwise(partials))
    stream.cancel()


class CountingEngine:
    """An instant batch-only engine: one word per second of audio."""

    engine = "counting"
    language = "en-US"
    sample_rate = SAMPLE_RATE

    def __init__(self) -> None:
        self.calls = 0

    def recognize(self, samples: np.ndarray) -> Utterance:
        self.calls += 1
        count = samples.size // SAMPLE_RATE
        return Utterance(tuple(Word(f"w{i}", i, i + 1) for i in range(count)))

    def close(self) -> None:
        pass


def test_the_open_stretch_grows_as_the_segmenter_hears_it():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    signal = np.concatenate([tone, np.zeros(SAMPLE_RATE, np.int16)])
    options = VadOptions(warmup_seconds=0.03)
    segmenter = SpeechSegmenter(SAMPLE_RATE, options)
    seen = np.zeros(0, np.int16)
    ended = []
    for offset in range(0, signal.size, 320):
        ended += segmenter.push(offset, signal[offset : offset + 320])
        if segmenter.open_start is not None:
            assert segmenter.open_start == 0  # speech from the first frame is caught
            more = segmenter.open_samples(seen.size)
            seen = np.concatenate([seen, more])
            assert np.array_equal(seen, segmenter.open_samples())
            if offset == 3200:
                assert seen.size >= 3200  # no warm-up second to wait for
    (stretch,) = ended
    assert segmenter.open_start is None and segmenter.open_samples().size == 0
    assert np.array_equal(stretch.samples, seen[: stretch.samples.size])
    assert stretch.samples.size >= SAMPLE_RATE
