"""The transcript files of a recording: ``transcript.json``, ``transcript.vtt``
and ``transcript.txt``, beside the media, written atomically (a crash leaves
the old file or none, never half of one).

Times are seconds on the recording's clock (the one of ``timeline.jsonl`` and
the track files: 0 is the start, pauses stay in as gaps)::

    {"recording_id": "...", "engine": "pocketsphinx", "language": "en-US",
     "segments": [{"speaker_id": "...", "speaker_name": "Ada", "start": 1.23,
                   "end": 3.4, "text": "good morning", "confidence": 0.82,
                   "words": [{"word": "good", "start": 1.3, "end": 1.5,
                              "confidence": 0.9}, ...]}, ...]}

The WebVTT cues and the text lines start with the speaker's display name.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRANSCRIPT_JSON = "transcript.json"
TRANSCRIPT_VTT = "transcript.vtt"
TRANSCRIPT_TXT = "transcript.txt"
TRANSCRIPT_FILES = (TRANSCRIPT_JSON, TRANSCRIPT_VTT, TRANSCRIPT_TXT)
UNKNOWN_SPEAKER = "Unknown speaker"


@dataclass(frozen=True)
class Segment:
    """One stretch of one person's speech."""

    speaker_id: str | None
    speaker_name: str | None
    start: float
    end: float
    text: str
    confidence: float | None
    words: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "speaker_id": self.speaker_id,
            "speaker_name": self.speaker_name,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "confidence": self.confidence,
            "words": list(self.words),
        }


def _clock(seconds: float, separator: str = ".") -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def _one_line(text: str) -> str:
    """A display name or text as one line (names come from participants)."""
    return " ".join(text.split())


def _vtt_text(text: str) -> str:
    # WebVTT cue text is markup: escape it; "-->" cannot occur once ">" is escaped.
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def speaker_label(segment: Segment) -> str:
    return _one_line(segment.speaker_name or "") or UNKNOWN_SPEAKER


def vtt_text(segments: list[Segment]) -> str:
    lines = ["WEBVTT", ""]
    for index, segment in enumerate(segments, 1):
        lines += [
            str(index),
            f"{_clock(segment.start)} --> {_clock(max(segment.end, segment.start + 0.001))}",
            f"{_vtt_text(speaker_label(segment))}: {_vtt_text(segment.text)}",
            "",
        ]
    return "\n".join(lines)


def txt_text(segments: list[Segment]) -> str:
    return "".join(
        f"[{_clock(s.start)[:8]}] {speaker_label(s)}: {_one_line(s.text)}\n" for s in segments
    )


def json_document(
    recording_id: str, engine: str, language: str, segments: list[Segment]
) -> dict[str, Any]:
    return {
        "recording_id": recording_id,
        "engine": engine,
        "language": language,
        "segments": [s.to_json() for s in segments],
    }


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_transcript(
    directory: Path, recording_id: str, engine: str, language: str, segments: list[Segment]
) -> list[str]:
    """Write the three files into ``directory``; returns their names."""
    document = json_document(recording_id, engine, language, segments)
    _write_atomically(
        directory / TRANSCRIPT_JSON, json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    )
    _write_atomically(directory / TRANSCRIPT_VTT, vtt_text(segments))
    _write_atomically(directory / TRANSCRIPT_TXT, txt_text(segments))
    return list(TRANSCRIPT_FILES)


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temporaries a killed transcription left (call under the lock)."""
    for name in TRANSCRIPT_FILES:
        for path in directory.glob(f".{name}.*.tmp"):
            path.unlink(missing_ok=True)
