"""A recording made without a network: per-track WebM files written the way the
recorder writes them (VP8 and Opus packets through ``TrackWriter``, on the
recording's timeline), with known colours and tones, and its metadata.

Used by the composite tests and by ``scripts/bench_composite.py``.
"""

from __future__ import annotations

import fractions
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from recording.library import RecordingLibrary
from recording.track_writer import TrackWriter

RATE = 48000


@dataclass(frozen=True)
class Span:
    """Media of one kind from ``start`` to ``end`` (timeline seconds)."""

    start: float
    end: float
    colour: tuple[int, int, int] = (81, 90, 240)  # Y, U, V (red)
    tone: float = 440.0
    moving: bool = False  # a moving pattern (realistic encoder and decoder work)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    spans: tuple[Span, ...]
    video: bool = True
    audio: bool = True


def _picture(span: Span, index: int, width: int, height: int) -> np.ndarray:
    y_value, u_value, v_value = span.colour
    y = np.full((height, width), y_value, dtype=np.uint8)
    if span.moving:
        x = np.arange(width, dtype=np.int32)
        rows = np.arange(height, dtype=np.int32)[:, None]
        y = ((x[None, :] + rows + index * 4) % 64 + y_value - 32).clip(16, 235).astype(np.uint8)
        y[: height // 8, (index * 8) % width : (index * 8) % width + width // 10] = 235
    u = np.full((height // 4, width), u_value, dtype=np.uint8)
    v = np.full((height // 4, width), v_value, dtype=np.uint8)
    return np.concatenate([y, u, v])


def _vp8_encoder(width: int, height: int, fps: int) -> Any:
    encoder: Any = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 90000)
    encoder.framerate = fractions.Fraction(fps, 1)
    encoder.bit_rate = 1_000_000
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    return encoder


def write_video(
    path: Path, spans: tuple[Span, ...], width: int, height: int, fps: int
) -> dict[str, Any]:
    """One VP8 file; each span starts with a keyframe (as after a pause)."""
    writer = TrackWriter(path, "video", width, height)
    for span in spans:
        encoder = _vp8_encoder(width, height, fps)
        for index in range(round((span.end - span.start) * fps)):
            frame = av.VideoFrame.from_ndarray(_picture(span, index, width, height), "yuv420p")
            frame.pts = round((span.start + index / fps) * 90000)
            frame.time_base = fractions.Fraction(1, 90000)
            for packet in encoder.encode(frame):
                writer.write(bytes(packet), packet.pts, packet.is_keyframe)
        for packet in encoder.encode(None):
            writer.write(bytes(packet), packet.pts, packet.is_keyframe)
    writer.close()
    return {"frames": writer.frames}


def write_audio(path: Path, spans: tuple[Span, ...]) -> dict[str, Any]:
    """One Opus file; each span encoded on its own (nothing leaks across)."""
    writer = TrackWriter(path, "audio")
    for span in spans:
        encoder: Any = av.CodecContext.create("libopus", "w")
        encoder.sample_rate, encoder.layout, encoder.format = RATE, "stereo", "s16"
        encoder.time_base = fractions.Fraction(1, RATE)
        start = round(span.start * RATE)
        packets = []
        for offset in range(0, round((span.end - span.start) * RATE), 960):
            t = (np.arange(960) + offset) / RATE
            wave = (0.3 * 32767 * np.sin(2 * math.pi * span.tone * t)).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(
                np.repeat(wave, 2).reshape(1, -1), format="s16", layout="stereo"
            )
            frame.sample_rate = RATE
            frame.pts, frame.time_base = start + offset, fractions.Fraction(1, RATE)
            packets += encoder.encode(frame)
        packets += encoder.encode(None)
        for packet in packets:
            writer.write(bytes(packet), max(start, packet.pts), True)
    writer.close()
    return {"frames": writer.frames}


def make_recording(
    library: RecordingLibrary,
    people: list[Person],
    end: float,
    pauses: list[list[float]] | None = None,
    size: tuple[int, int] = (320, 240),
    fps: int = 15,
) -> dict[str, Any]:
    """A finished recording (state ``processing``) of ``people``; returns its metadata."""
    record = library.create({"room": "synthetic"})
    directory = library.directory(record["id"])
    assert directory is not None
    tracks = []
    counter = 0
    for person in people:
        for kind in ("video", "audio"):
            if not (person.video if kind == "video" else person.audio):
                continue
            counter += 1
            source = "camera" if kind == "video" else "microphone"
            name = f"track-{counter:03d}-{source}.webm"
            if kind == "video":
                stats = write_video(directory / name, person.spans, *size, fps)
            else:
                stats = write_audio(directory / name, person.spans)
            start = min(s.start for s in person.spans)
            tracks.append(
                {
                    "name": name,
                    "kind": kind,
                    "codec": "VP8" if kind == "video" else "opus",
                    "participant_id": person.id,
                    "source": source,
                    "start": start,
                    "duration": max(s.end for s in person.spans) - start,
                    "frames": stats["frames"],
                    "error": None,
                }
            )
    paused = sum(b - a for a, b in pauses or [])
    record.update(
        state="processing",
        ended_at=record["started_at"] + end,
        duration=round(end - paused, 3),
        participants=[{"id": p.id, "name": p.name} for p in people],
        tracks=tracks,
        pauses=pauses or [],
    )
    library.save(record)
    return library.get(record["id"]) or record
