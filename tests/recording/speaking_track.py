"""An aiortc microphone that speaks given sentences at given moments (on the
monotonic clock, shared with the server in the same process), silence
between: a participant of a test meeting reading a script."""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass

import av
import numpy as np
from aiortc import MediaStreamTrack
from spoken_media import FRAME, RATE


@dataclass(frozen=True)
class Line:
    """``samples`` (48 kHz mono int16) starting at monotonic time ``at``."""

    at: float
    samples: np.ndarray
    text: str

    @property
    def end(self) -> float:
        return self.at + self.samples.size / RATE


class SpeakingTrack(MediaStreamTrack):
    """20 ms frames in real time; each line is spoken when its moment comes."""

    kind = "audio"

    def __init__(self, lines: list[Line]) -> None:
        super().__init__()
        self.lines = lines
        self._sent = 0
        self._start: float | None = None

    def _content(self, moment: float) -> np.ndarray:
        out = np.zeros(FRAME, dtype=np.int16)
        stop = moment + FRAME / RATE
        for line in self.lines:
            if line.at < stop and line.end > moment:
                first = round((moment - line.at) * RATE)
                lo, hi = max(0, first), min(line.samples.size, first + FRAME)
                out[lo - first : hi - first] = line.samples[lo:hi]
        return out

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        moment = self._start + self._sent / RATE
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        frame = av.AudioFrame.from_ndarray(
            self._content(moment).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = RATE, self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += FRAME
        return frame
