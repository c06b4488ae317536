"""Test media: aiortc tracks with known content, and checks that read it back.

The video track draws its frame counter as 8 black/white bars; the audio track
is a pure tone. A receiver decodes and checks that counters increase and that
the tone has the right pitch, which proves the SFU forwarded content intact.
"""

from __future__ import annotations

import asyncio
import fractions
import itertools
import math
import time
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

WIDTH, HEIGHT = 320, 240
BITS = 8
VIDEO_CLOCK = 90000
AUDIO_RATE = 48000
AUDIO_SAMPLES = 960  # 20 ms


def counter_frame(counter: int, hue: int = 0) -> np.ndarray:
    """A YUV420 frame whose 8 vertical bars spell ``counter`` (white = 1)."""
    y = np.full((HEIGHT, WIDTH), 16, dtype=np.uint8)
    bar = WIDTH // BITS
    for bit in range(BITS):
        if counter >> (BITS - 1 - bit) & 1:
            y[:, bit * bar : (bit + 1) * bar] = 235
    # yuv420p as one array: the quarter-size U and V planes are stored row-packed.
    u = np.full((HEIGHT // 4, WIDTH), 128 + hue, dtype=np.uint8)
    v = np.full((HEIGHT // 4, WIDTH), 128, dtype=np.uint8)
    return np.concatenate([y, u, v])


def read_counter(frame: av.VideoFrame) -> int:
    """Read back the counter drawn by :func:`counter_frame`."""
    gray = frame.to_ndarray(format="gray")
    height, width = gray.shape
    bar = width // BITS
    value = 0
    for bit in range(BITS):
        mean = gray[
            height // 4 : 3 * height // 4, bit * bar + bar // 4 : (bit + 1) * bar - bar // 4
        ]
        value = (value << 1) | int(mean.mean() > 128)
    return value


class CounterVideoTrack(MediaStreamTrack):
    """30 fps video whose frames carry their own index (mod 256)."""

    kind = "video"

    def __init__(self, fps: int = 30) -> None:
        super().__init__()
        self._fps = fps
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        target = self._start + self._count / self._fps
        await asyncio.sleep(max(0.0, target - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(counter_frame(self._count % 256), format="yuv420p")
        frame.pts = int(self._count * VIDEO_CLOCK / self._fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """A continuous sine tone, 20 ms per frame."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, amplitude: float = 0.5) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._samples = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        target = self._start + self._samples / AUDIO_RATE
        await asyncio.sleep(max(0.0, target - time.monotonic()))
        t = (np.arange(AUDIO_SAMPLES) + self._samples) / AUDIO_RATE
        wave = (self.amplitude * 32767 * np.sin(2 * math.pi * self.frequency * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._samples += AUDIO_SAMPLES
        return frame


async def collect_counters(track: Any, count: int, timeout: float = 10.0) -> list[int]:
    """Decode ``count`` frames from a received video track and read their counters."""
    counters: list[int] = []

    async def run() -> None:
        while len(counters) < count:
            frame = await track.recv()
            counters.append(read_counter(frame))

    await asyncio.wait_for(run(), timeout)
    return counters


async def alice_sends_to_bob(make_client: Any, room: str, frames: int) -> tuple[Any, Any]:
    """Alice publishes a counter camera and a tone in ``room``; returns
    ``(alice, bob)`` once Bob has decoded ``frames`` of her camera."""
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join(room)
    await bob.join(room)
    await alice.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack()})
    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "camera") is not None)
    await collect_counters(bob.track_of(alice.participant_id, "camera"), frames)
    return alice, bob


async def dominant_frequency(track: Any, seconds: float = 1.0, timeout: float = 10.0) -> float:
    """Decode ``seconds`` of a received audio track and return its strongest frequency."""
    chunks: list[np.ndarray] = []
    rate = AUDIO_RATE

    async def run() -> None:
        nonlocal rate
        total = 0
        while total < seconds * rate:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            rate = frame.sample_rate
            data = frame.to_ndarray().astype(np.float64)
            channels = len(frame.layout.channels)
            mono = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.ravel()
            chunks.append(mono)
            total += mono.size

    await asyncio.wait_for(run(), timeout)
    signal = np.concatenate(chunks)[-int(seconds * rate) :]
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    freqs = np.fft.rfftfreq(signal.size, 1 / rate)
    return float(freqs[int(np.argmax(spectrum))])


def is_increasing(counters: list[int]) -> bool:
    """True if counters go up (mod 256), allowing for skipped frames."""
    steps = [(b - a) % 256 for a, b in itertools.pairwise(counters)]
    return bool(steps) and all(0 < s < 64 for s in steps)
