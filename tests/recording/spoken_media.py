"""Spoken test media: sentences synthesized by Debian's ``espeak-ng`` into WAV
files the test makes, read back as 48 kHz PCM, and written as Opus track
files the way the recorder writes them (for tests without a network).

The voices are the ones PocketSphinx's US English model recognizes best among
espeak-ng's (measured: the male voices come out at 75-90 % word error rate,
``en-us+f5`` and ``en-us+f2`` at 25-40 %).
"""

from __future__ import annotations

import fractions
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from recording.track_writer import TrackWriter

RATE = 48000
FRAME = 960  # 20 ms, as browsers and aiortc send Opus

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(
    ESPEAK is None, reason="espeak-ng is not installed (scripts/setup.sh --test installs it)"
)


@dataclass(frozen=True)
class Voice:
    name: str  # espeak-ng voice
    speed: int  # words per minute


ALICE_VOICE = Voice("en-us+f5", 140)
BOB_VOICE = Voice("en-us+f2", 130)


def words_of(text: str) -> list[str]:
    """The words of a sentence as a recognizer writes them (lower case, no punctuation)."""
    return [w for w in re.sub(r"[^a-z' ]", " ", text.lower()).split() if w]


def synthesize(text: str, voice: Voice, directory: Path) -> np.ndarray:
    """``text`` spoken by ``voice``: mono int16 samples at 48 kHz (a WAV file
    in ``directory`` on the way)."""
    assert ESPEAK is not None
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"speech-{abs(hash((text, voice))):x}.wav"
    subprocess.run(
        [ESPEAK, "-v", voice.name, "-s", str(voice.speed), "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks += [r.to_ndarray().reshape(-1) for r in resampler.resample(frame)]
    chunks += [r.to_ndarray().reshape(-1) for r in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.int16)


def write_speech_track(path: Path, pieces: list[tuple[float, np.ndarray]], end: float) -> int:
    """An Opus track file with each ``(timeline second, samples)`` piece at
    its place and silence between, up to ``end``; returns the frame count."""
    total = round(end * RATE)
    signal = np.zeros(total, dtype=np.int16)
    for start, samples in pieces:
        at = round(start * RATE)
        signal[at : at + samples.size] = samples[: max(0, total - at)]
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = RATE, "stereo", "s16"
    encoder.time_base = fractions.Fraction(1, RATE)
    writer = TrackWriter(path, "audio")
    for offset in range(0, total - FRAME + 1, FRAME):
        frame = av.AudioFrame.from_ndarray(
            np.repeat(signal[offset : offset + FRAME], 2).reshape(1, -1),
            format="s16",
            layout="stereo",
        )
        frame.sample_rate, frame.pts = RATE, offset
        frame.time_base = fractions.Fraction(1, RATE)
        for packet in encoder.encode(frame):
            writer.write(bytes(packet), packet.pts, True)
    for packet in encoder.encode(None):
        writer.write(bytes(packet), packet.pts, True)
    writer.close()
    return writer.frames


def make_spoken_recording(
    library: Any,
    people: list[tuple[str, str, list[tuple[float, np.ndarray]]]],
    end: float,
    transcript: dict[str, Any] | None,
    state: str = "ready",
) -> dict[str, Any]:
    """A finished recording (``state``) with one audio track per person
    ``(id, name, [(timeline second, samples)])`` and the ``transcript`` field
    it would start with; returns its metadata."""
    record = library.create({"room": "spoken", "transcript": transcript})
    directory = library.directory(record["id"])
    tracks = []
    for index, (person_id, _name, pieces) in enumerate(people, 1):
        name = f"track-{index:03d}-microphone.webm"
        frames = write_speech_track(directory / name, pieces, end)
        tracks.append(
            {
                "name": name,
                "kind": "audio",
                "codec": "opus",
                "participant_id": person_id,
                "source": "microphone",
                "start": 0.0,
                "duration": end,
                "frames": frames,
                "error": None,
            }
        )
    record.update(
        state=state,
        ended_at=record["started_at"] + end,
        duration=end,
        participants=[{"id": pid, "name": name} for pid, name, _ in people],
        tracks=tracks,
        composite=None,
    )
    library.save(record)
    return library.get(record["id"]) or record
