"""The transcript of a recording, made from its per-person audio tracks.

Each audio track belongs to one participant (the recorder writes every
producer to its own file), so every word is attributed to its speaker
without guessing. For each track: decode the Opus file with PyAV, resample
to the recognizer's rate (16 kHz mono), let the voice-activity detector
(:mod:`recording.voice_activity`) cut out the stretches of speech, and
recognize each stretch. Times are on the recording's clock (the track files'
own timestamps), so the transcript lines up with ``timeline.jsonl``.

The recognizer is loaded only when the first stretch of speech turns up: a
recording in which nobody spoke never loads a model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from .library import is_regular_file
from .speech_recognizer import PcmArray, SpeechRecognizer
from .transcript_files import Segment
from .voice_activity import SpeechSegmenter, SpeechStretch, VadOptions

logger = logging.getLogger(__name__)

Progress = Callable[[float], None]


@dataclass(frozen=True)
class SpeakerTrack:
    """One audio file of one participant."""

    path: Path
    speaker_id: str | None
    speaker_name: str | None
    duration: float


def speaker_tracks(directory: Path, record: dict[str, Any]) -> list[SpeakerTrack]:
    """The recording's audio tracks that hold something, with their speakers."""
    names = {p.get("id"): p.get("name") for p in record.get("participants", [])}
    found = []
    for track in record.get("tracks", []):
        path = directory / str(track.get("name", ""))
        if track.get("kind") != "audio" or not track.get("frames") or not is_regular_file(path):
            continue
        speaker = track.get("participant_id")
        found.append(
            SpeakerTrack(
                path,
                None if speaker is None else str(speaker),
                names.get(speaker),
                float(track.get("duration") or 0.0),
            )
        )
    return found


def decoded_audio(path: Path, rate: int) -> Iterator[tuple[int, PcmArray]]:
    """``(timeline sample, samples)`` of one audio file, mono 16-bit at
    ``rate``. A file cut short by a killed process is read up to the damage."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    expected: int | None = None
    with av.open(str(path)) as container:
        frames = container.decode(audio=0)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except av.FFmpegError:
                logger.warning("%s ends with damaged data; read up to there", path.name)
                break
            if frame.time is None:
                continue
            pieces = [r.to_ndarray().reshape(-1) for r in resampler.resample(frame)]
            if not pieces:
                continue
            samples = np.concatenate(pieces).astype(np.int16, copy=False)
            at = round(float(frame.time) * rate)
            if expected is not None and abs(at - expected) <= rate // 100:
                at = expected  # contiguous: timestamps and the resampler jitter a little
            expected = at + samples.size
            yield at, samples


def _segment(track: SpeakerTrack, stretch: SpeechStretch, rate: int, heard: Any) -> Segment:
    offset = stretch.start / rate
    words = tuple(
        {
            "word": w.text,
            "start": round(offset + w.start, 3),
            "end": round(offset + w.end, 3),
            "confidence": w.confidence,
        }
        for w in heard.words
    )
    return Segment(
        track.speaker_id,
        track.speaker_name,
        words[0]["start"],
        words[-1]["end"],
        heard.text,
        heard.confidence,
        words,
    )


class Transcriber:
    """Turns speaker tracks into segments with one (lazily loaded) recognizer."""

    def __init__(
        self,
        load: Callable[[], SpeechRecognizer],
        rate: int = 16000,
        vad: VadOptions | None = None,
    ) -> None:
        self._load = load
        self._recognizer: SpeechRecognizer | None = None
        self.rate = rate
        self.vad = vad or VadOptions()
        #: Seconds of speech given to the recognizer (for the real-time factor).
        self.speech_seconds = 0.0

    @property
    def recognizer(self) -> SpeechRecognizer:
        if self._recognizer is None:
            self._recognizer = self._load()
        return self._recognizer

    def transcribe(self, tracks: list[SpeakerTrack], progress: Progress) -> list[Segment]:
        """Every track's segments, ordered by start time; ``progress`` gets
        the fraction of the tracks' audio done so far."""
        total = sum(max(t.duration, 0.001) for t in tracks) or 1.0
        done = 0.0
        segments: list[Segment] = []
        for track in tracks:
            start: int | None = None
            segmenter = SpeechSegmenter(self.rate, self.vad)
            for at, samples in decoded_audio(track.path, self.rate):
                start = at if start is None else start
                for stretch in segmenter.push(at, samples):
                    segments += self._recognize(track, stretch)
                position = (at + samples.size - start) / self.rate
                progress(min(1.0, (done + min(position, track.duration)) / total))
            for stretch in segmenter.finish():
                segments += self._recognize(track, stretch)
            done += max(track.duration, 0.001)
            progress(min(1.0, done / total))
        return sorted(segments, key=lambda s: (s.start, s.end))

    def _recognize(self, track: SpeakerTrack, stretch: SpeechStretch) -> list[Segment]:
        self.speech_seconds += stretch.samples.size / self.rate
        heard = self.recognizer.recognize(stretch.samples)
        if not heard.words:
            return []
        return [_segment(track, stretch, self.rate, heard)]

    def close(self) -> None:
        if self._recognizer is not None:
            self._recognizer.close()
