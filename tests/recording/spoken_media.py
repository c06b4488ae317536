"""Spoken test media: sentences synthesized by espeak-ng (tests/spoken_words.py)
written as Opus track files the way the recorder writes them, and whole
recordings of them (for tests without a network)."""

from __future__ import annotations

import fractions
from pathlib import Path
from typing import Any

import av
import numpy as np
from spoken_words import (  # noqa: F401 (the names the recording tests import from here)
    ALICE_VOICE,
    BOB_VOICE,
    ESPEAK,
    FRAME,
    RATE,
    Voice,
    needs_espeak,
    synthesize,
    words_of,
)

from recording.track_writer import TrackWriter


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
