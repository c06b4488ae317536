"""Finding the speech in a track: an energy-based voice-activity detector.

Fed a participant's audio in order (16-bit mono, with each piece's place on
the recording's timeline), :class:`SpeechSegmenter` hands back the stretches
that hold speech, each with a little silence either side, so the recognizer
never spends time on silence, pauses or a muted microphone.

A 30 ms frame is speech when its level is above both an absolute floor
(:attr:`VadOptions.min_level_dbfs`) and the track's own noise floor plus
:attr:`VadOptions.over_noise_db`. The noise floor starts as the quietest
frame of the first second (at most :attr:`VadOptions.initial_floor_dbfs`,
so someone who talks from the first moment is still heard: speech dips
between words, a fan does not), then follows the quietest frames at once and
rises only slowly, so a fan or a hiss raises the bar but a long sentence
does not. A stretch ends after :attr:`VadOptions.hangover_seconds`
without speech (shorter pauses stay inside, so a sentence is one stretch),
is cut at :attr:`VadOptions.max_seconds` (bounded memory and recognizer
work per call), and is dropped if it holds less than
:attr:`VadOptions.min_speech_seconds` of speech (a click, a cough).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

PcmArray = np.ndarray[Any, np.dtype[np.int16]]
SILENT_DB = -100.0


@dataclass(frozen=True)
class VadOptions:
    frame_seconds: float = 0.03
    min_level_dbfs: float = -45.0
    over_noise_db: float = 12.0
    #: How fast the noise floor may rise (dB per second).
    noise_rise_db_per_second: float = 3.0
    #: The first second sets the noise floor, never above this.
    warmup_seconds: float = 1.0
    initial_floor_dbfs: float = -35.0
    hangover_seconds: float = 0.6
    pad_seconds: float = 0.25
    min_speech_seconds: float = 0.2
    max_seconds: float = 20.0


@dataclass(frozen=True)
class SpeechStretch:
    """Speech from timeline sample ``start`` on (``samples`` at the segmenter's rate)."""

    start: int
    samples: PcmArray


def level_dbfs(frame: PcmArray) -> float:
    """The RMS level of ``frame`` in dB below full scale."""
    if frame.size == 0:
        return SILENT_DB
    rms = math.sqrt(float(np.mean(np.square(frame, dtype=np.float64))))
    return max(SILENT_DB, 20 * math.log10(rms / 32768.0)) if rms > 0 else SILENT_DB


class SpeechSegmenter:
    """Cuts one track's audio into speech stretches (see the module's docstring)."""

    def __init__(self, rate: int, options: VadOptions | None = None) -> None:
        self.options = options = options or VadOptions()
        self.rate = rate
        self._frame = max(1, round(rate * options.frame_seconds))
        seconds_per_frame = self._frame / rate
        self._pad = round(options.pad_seconds / seconds_per_frame)
        self._hangover = round(options.hangover_seconds / seconds_per_frame)
        self._min_speech = max(1, round(options.min_speech_seconds / seconds_per_frame))
        self._max = round(options.max_seconds / seconds_per_frame)
        self._rise = options.noise_rise_db_per_second * seconds_per_frame
        self._warmup_frames = max(1, round(options.warmup_seconds / seconds_per_frame))
        self._warmup: list[tuple[PcmArray, int, float]] = []  # until the floor is known
        self._noise: float | None = None
        self._next: int | None = None  # timeline sample the next input should start at
        self._carry = np.zeros(0, dtype=np.int16)
        self._carry_at = 0  # timeline sample of the carry's first sample
        self._preroll: deque[PcmArray] = deque(maxlen=max(1, self._pad))
        self._frames: list[PcmArray] = []  # the stretch being collected
        self._start = 0  # its first sample on the timeline
        self._loud = 0  # frames of speech in it
        self._quiet_run = 0  # frames since its last speech frame

    @property
    def in_speech(self) -> bool:
        return bool(self._frames)

    @property
    def open_start(self) -> int | None:
        """The timeline sample the open stretch starts at (None outside speech)."""
        return self._start if self._frames else None

    def open_samples(self, since: int = 0) -> PcmArray:
        """The open stretch's samples so far, from its ``since``-th on (empty
        outside speech): for a live recognizer that takes a stretch as it
        grows, before :meth:`push` hands it back whole."""
        pieces: list[PcmArray] = []
        offset = 0
        for frame in self._frames:
            end = offset + frame.size
            if end > since:
                pieces.append(frame[max(0, since - offset) :])
            offset = end
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)

    def push(self, at: int, samples: PcmArray) -> list[SpeechStretch]:
        """Add ``samples`` starting at timeline sample ``at``; returns the
        stretches that ended. Input that overlaps what came before is cut; a
        gap is silence (a long one ends the current stretch)."""
        out: list[SpeechStretch] = []
        samples = samples.astype(np.int16, copy=False)
        if self._next is None:
            self._carry_at = self._next = at
        if at < self._next:
            samples = samples[self._next - at :]  # overlap (timestamps jitter)
        elif at > self._next:
            gap = at - self._next
            if gap <= (self._hangover + self._pad) * self._frame:
                samples = np.concatenate([np.zeros(gap, dtype=np.int16), samples])
            else:  # a long gap (a muted microphone): the stretch ends here
                out += self._flush_carry()
                out += self._end_warmup()
                out += self._end()
                self._preroll.clear()
                self._carry_at = at
        self._carry = np.concatenate([self._carry, samples])
        self._next = self._carry_at + self._carry.size
        out += self._run_frames()
        return out

    def finish(self) -> list[SpeechStretch]:
        """The end of the track: the last stretch, if one is open."""
        out = self._flush_carry()
        out += self._end_warmup()
        out += self._end()
        return out

    # -- frames -------------------------------------------------------------------------

    def _flush_carry(self) -> list[SpeechStretch]:
        """Treat a partial frame left over as a frame of its own."""
        out: list[SpeechStretch] = []
        if self._carry.size:
            out += self._feed(self._carry, self._carry_at)
            self._carry_at += self._carry.size
            self._carry = np.zeros(0, dtype=np.int16)
        return out

    def _run_frames(self) -> list[SpeechStretch]:
        out: list[SpeechStretch] = []
        count = self._carry.size // self._frame
        for index in range(count):
            frame = self._carry[index * self._frame : (index + 1) * self._frame]
            out += self._feed(frame, self._carry_at + index * self._frame)
        used = count * self._frame
        self._carry = self._carry[used:].copy()
        self._carry_at += used
        return out

    def _feed(self, frame: PcmArray, at: int) -> list[SpeechStretch]:
        if self._noise is not None:
            return self._frame_in(frame, at)
        self._warmup.append((frame, at, level_dbfs(frame)))
        return self._end_warmup() if len(self._warmup) >= self._warmup_frames else []

    def _end_warmup(self) -> list[SpeechStretch]:
        """Set the noise floor from the frames seen so far, then judge them."""
        if self._noise is not None or not self._warmup:
            return []
        quietest = min(level for _, _, level in self._warmup)
        self._noise = min(quietest, self.options.initial_floor_dbfs)
        out: list[SpeechStretch] = []
        frames, self._warmup = self._warmup, []
        for frame, at, _ in frames:
            out += self._frame_in(frame, at)
        return out

    def _is_speech(self, frame: PcmArray) -> bool:
        level = level_dbfs(frame)
        if self._noise is None or level < self._noise:
            self._noise = level
        else:
            self._noise = min(level, self._noise + self._rise)
        floor = max(self.options.min_level_dbfs, self._noise + self.options.over_noise_db)
        return level > floor

    def _frame_in(self, frame: PcmArray, at: int) -> list[SpeechStretch]:
        speech = self._is_speech(frame)
        if not self._frames:
            if not speech:
                self._preroll.append(frame)
                return []
            self._frames = [*self._preroll, frame]
            self._start = at - sum(f.size for f in self._preroll)
            self._preroll.clear()
            self._loud, self._quiet_run = 1, 0
            return []
        self._frames.append(frame)
        if speech:
            self._loud += 1
            self._quiet_run = 0
        else:
            self._quiet_run += 1
        if self._quiet_run > self._hangover:
            return self._end()
        if len(self._frames) >= self._max:
            return self._end(cut=True)
        return []

    def _end(self, cut: bool = False) -> list[SpeechStretch]:
        """Close the current stretch (keeping ``pad`` frames of its trailing
        silence); none if it held too little speech."""
        if not self._frames:
            return []
        frames = self._frames
        if not cut:
            trailing = max(0, self._quiet_run - self._pad)
            if trailing:
                frames = frames[: len(frames) - trailing]
        self._preroll.clear()
        for frame in self._frames[len(frames) :][-self._pad :] if self._pad else []:
            self._preroll.append(frame)
        enough = self._loud >= self._min_speech
        start = self._start
        self._frames, self._loud, self._quiet_run = [], 0, 0
        if not enough or not frames:
            return []
        return [SpeechStretch(start, np.concatenate(frames))]
