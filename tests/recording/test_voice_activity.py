"""The voice-activity detector finds the stretches of sound in a track, with
a little padding, across gaps and noise, and nothing in silence."""

from __future__ import annotations

import numpy as np

from recording.voice_activity import SpeechSegmenter, VadOptions, level_dbfs

RATE = 16000


def burst(seconds: float, amplitude: float = 0.3, frequency: float = 300.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def syllables(seconds: float) -> np.ndarray:
    """Sound that dips to nothing four times a second, as speech does between syllables."""
    t = np.arange(round(seconds * RATE)) / RATE
    return (burst(seconds) * (np.sin(2 * np.pi * 4 * t) > -0.5)).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), dtype=np.int16)


def run(pieces: list[tuple[int, np.ndarray]], options: VadOptions | None = None) -> list:
    segmenter = SpeechSegmenter(RATE, options)
    found = []
    for at, samples in pieces:
        # In 20 ms chunks, as decoded audio comes.
        for offset in range(0, samples.size, 320):
            found += segmenter.push(at + offset, samples[offset : offset + 320])
    found += segmenter.finish()
    return [(s.start / RATE, (s.start + s.samples.size) / RATE) for s in found]


def test_levels():
    assert level_dbfs(silence(0.1)) == -100.0
    assert abs(level_dbfs(burst(0.1, 1.0)) - (-3.0)) < 0.1


def test_two_sentences_apart_are_two_stretches_with_padding():
    signal = np.concatenate([silence(1), burst(1.5), silence(2), burst(1), silence(1)])
    (a, b) = run([(0, signal)])
    assert abs(a[0] - 0.75) < 0.05 and abs(a[1] - 2.75) < 0.05
    assert abs(b[0] - 4.25) < 0.05 and abs(b[1] - 5.75) < 0.05


def test_a_short_pause_stays_inside_one_stretch():
    signal = np.concatenate([burst(1), silence(0.3), burst(1), silence(1)])
    assert len(run([(0, signal)])) == 1


def test_silence_and_clicks_give_nothing():
    assert run([(0, silence(3))]) == []
    click = np.concatenate([silence(1), burst(0.05), silence(1)])
    assert run([(0, click)]) == []


def test_a_steady_hum_stops_counting_as_speech_but_syllables_go_on():
    found = run([(0, silence(1)), (RATE, burst(40)), (41 * RATE, syllables(3))])
    *hum, words = found
    assert hum[-1][1] < 30  # the floor rose to the hum (3 dB/s from silence)
    assert abs(words[0] - 41.0) < 0.3 and abs(words[1] - 44.0) < 0.3


def test_steady_noise_is_not_speech_but_speech_over_it_is():
    rng = np.random.default_rng(1)
    noise = (rng.normal(0, 0.03, 8 * RATE) * 32767).astype(np.int16)  # about -30 dBFS
    signal = noise.copy()
    signal[4 * RATE : 5 * RATE] += burst(1, 0.5)
    (only,) = run([(0, signal)])
    assert 3.6 < only[0] < 4.1 and 4.9 < only[1] < 5.4


def test_a_long_gap_in_the_track_ends_a_stretch_and_places_the_next_on_the_timeline():
    first, second = burst(1), burst(1)
    found = run([(0, first), (60 * RATE, second)])
    assert len(found) == 2
    # Nothing was decoded before it (no padding to take): it starts at its sound.
    assert abs(found[1][0] - 60.0) < 0.05 and abs(found[1][1] - 61.0) < 0.05


def test_overlapping_input_is_cut_not_doubled():
    signal = burst(1)
    segmenter = SpeechSegmenter(RATE)
    segmenter.push(0, signal)
    segmenter.push(RATE - 100, burst(0.5))  # starts 100 samples early
    (stretch,) = segmenter.finish()
    assert stretch.samples.size <= round(1.5 * RATE) + 100


def test_a_long_monologue_is_cut_into_bounded_stretches():
    options = VadOptions(max_seconds=5.0)
    found = run([(0, syllables(12))], options)
    assert len(found) == 3 and all(b - a <= 5.01 for a, b in found)
    assert abs(found[-1][1] - 12.0) < 0.05
