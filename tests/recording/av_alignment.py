"""Where a recording put video and audio against the clock they were captured on.

Used by tests/recording/test_room_recorder.py (a bound) and by
scripts/bench_av_alignment.py (the figures).
"""

from __future__ import annotations

import statistics

import numpy as np
from recorded_media import beep_onsets, unwrap

VIDEO_FPS = 30


def av_errors(
    frames: list[tuple[float, int]], audio_start: float, samples: np.ndarray, origin: float
) -> tuple[float, float]:
    """``(video, audio)``: how much later (median, seconds) each track sits in the
    recording than where its capture clock puts it.

    ``frames`` are a recorded CounterVideoTrack's ``(time, counter)``, frame n
    captured at ``origin + n / 30``; ``samples`` a recorded BeepAudioTrack
    starting at ``audio_start``, a beep captured at ``origin`` + every whole
    second; both on the recording's timeline, ``origin`` too. The counters wrap
    at 256, so video errors up to about ±4 s are measured right; beeps are 1 s
    apart, so the audio error is the one nearest the video error (within
    ±0.5 s of it): their difference is the A/V misalignment.
    """
    times = [t for t, _ in frames]
    elapsed = times[0] - origin
    first = frames[0][1] + 256 * round((elapsed * VIDEO_FPS - frames[0][1]) / 256)
    unwrapped = unwrap([c for _, c in frames])
    numbers = [first + n - unwrapped[0] for n in unwrapped]
    video = statistics.median(
        t - (origin + n / VIDEO_FPS) for t, n in zip(times, numbers, strict=True)
    )
    onsets = beep_onsets(audio_start, samples)
    if len(onsets) < 3:
        raise ValueError(f"only {len(onsets)} beeps in the recorded audio")
    audio = statistics.median(t - (origin + round(t - origin - video)) for t in onsets)
    return video, audio
