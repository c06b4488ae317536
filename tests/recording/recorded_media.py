"""Helpers for recording tests: a beeping audio track and readers of recorded files."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import av
import numpy as np
from media_peers import AUDIO_RATE, AUDIO_SAMPLES, ToneAudioTrack, read_counter


class BeepAudioTrack(ToneAudioTrack):
    """A tone during the first 100 ms of every second of its own clock, silence otherwise."""

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        start = frame.pts
        t = (np.arange(AUDIO_SAMPLES) + start) / AUDIO_RATE
        on = (t % 1.0) < 0.1
        wave = self.amplitude * 32767 * np.sin(2 * math.pi * self.frequency * t) * on
        out = av.AudioFrame.from_ndarray(
            wave.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        out.sample_rate, out.pts, out.time_base = frame.sample_rate, frame.pts, frame.time_base
        return out


def video_frames(path: Path) -> list[tuple[float, int]]:
    """``(time, counter)`` of every frame of a recorded video file."""
    with av.open(str(path)) as container:
        return [(float(f.time), read_counter(f)) for f in container.decode(video=0)]


def audio_samples(path: Path) -> tuple[float, np.ndarray]:
    """The first sample's time and every sample (first channel) of an audio file.

    Gaps in the timeline (a pause) are filled with silence.
    """
    chunks: list[np.ndarray] = []
    start: float | None = None
    position = 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            samples = frame.to_ndarray()[0]
            at = round(float(frame.time) * AUDIO_RATE)
            if start is None:
                start = float(frame.time)
                position = at
            if at > position:
                chunks.append(np.zeros(at - position))
                position = at
            chunks.append(samples)
            position += samples.size
    assert start is not None, "no audio in the file"
    return start, np.concatenate(chunks)


def beep_onsets(start: float, samples: np.ndarray) -> list[float]:
    """Times where the beep starts (energy in 5 ms windows rises above half its peak)."""
    window = AUDIO_RATE // 200
    energy = np.abs(samples[: samples.size // window * window]).reshape(-1, window).mean(axis=1)
    loud = energy > energy.max() / 2
    rises = [i for i in range(1, loud.size) if loud[i] and not loud[i - 1]]
    return [start + i * window / AUDIO_RATE for i in rises]


def unwrap(counters: list[int]) -> list[int]:
    """Counters (mod 256) as increasing frame numbers from the first one."""
    out = [counters[0]]
    for a, b in itertools.pairwise(counters):
        out.append(out[-1] + (b - a) % 256)
    return out
