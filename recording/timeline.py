"""The event timeline of a recording: what happened in the meeting, on the
recording's own clock, beside the media files.

``timeline.jsonl`` holds one JSON object per line, written and flushed as each
event happens (so a ``kill -9`` loses nothing already written):
``{"t": 12.345, "type": "participant.joined", ...}`` where ``t`` is seconds on
the recording's timeline (the same clock as the track files: 0 is the start,
pauses stay in as gaps). Types: ``recording.started``, ``recording.paused``,
``recording.resumed``, ``recording.stopped``, ``participant.present`` (there
when recording started), ``participant.joined``, ``participant.left``,
``hands`` (the whole queue after a change), ``poll.launched``, ``poll.closed``
(with aggregate results only), ``chat.message``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

TIMELINE_FILE = "timeline.jsonl"


class Timeline:
    """Appends events to ``timeline.jsonl`` in a recording's directory."""

    def __init__(self, directory: Path, now: Callable[[], float]) -> None:
        self._now = now
        self._file = open(directory / TIMELINE_FILE, "a", encoding="utf-8")  # noqa: SIM115
        self.closed = False

    def add(self, kind: str, data: dict[str, Any] | None = None) -> None:
        """Write one event at the current timeline position."""
        if self.closed:
            return
        event = {"t": round(self._now(), 3), "type": kind, **(data or {})}
        try:
            self._file.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
            self._file.flush()
        except (OSError, ValueError):
            logger.exception("cannot write the recording timeline")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._file.close()


def read_timeline(path: Path) -> list[dict[str, Any]]:
    """The events of a ``timeline.jsonl`` (a torn last line is skipped)."""
    events = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events
