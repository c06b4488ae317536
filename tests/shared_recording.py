"""A real finished recording to share: synthetic camera and microphone tracks
(tests/recording/synthetic_recording.py) rendered into the composite by the
composite worker's own code, and a transcript written as the transcript worker
writes it. Rendered once per test process, then copied into each test's
recordings directory (a few seconds of rendering, not one per test)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from conf_server.domain.layout import best_grid
from recording.composite import COMPOSITE_FILE, CompositeOptions
from recording.composite_worker import run as render_in_worker_code
from recording.library import RecordingLibrary
from recording.transcript_files import Segment, write_transcript

sys.path.insert(0, str(Path(__file__).parent / "recording"))
from synthetic_recording import Person, Span, make_recording

TITLE = "Quarterly budget review"
SEGMENTS = [
    Segment("alice", "Alice", 0.2, 1.8, "welcome to the quarterly budget review", 0.9),
    Segment("bob", "Bob", 2.0, 3.8, "the travel costs went down this quarter", 0.9),
]
END = 4.0
_template: Path | None = None


def _render_template() -> Path:
    root = Path(tempfile.mkdtemp(prefix="shared-recording-")) / "recordings"
    library = RecordingLibrary(root)
    people = [
        Person("alice", "Alice", (Span(0.0, END, moving=True),)),
        Person("bob", "Bob", (Span(0.0, END, (41, 240, 110), 880),)),
    ]
    record = make_recording(library, people, END)
    render_in_worker_code(str(root), record["id"], best_grid, CompositeOptions())
    record = library.get(record["id"]) or record
    assert record["state"] == "ready" and record["composite"]["file"] == COMPOSITE_FILE
    directory = library.directory(record["id"])
    assert directory is not None
    files = write_transcript(directory, record["id"], "pocketsphinx", "en-US", SEGMENTS)
    record.update(
        title=TITLE,
        meeting_id="m-shared",
        transcript={
            "state": "ready",
            "progress": 1.0,
            "engine": "pocketsphinx",
            "language": "en-US",
            "files": files,
            "segments": len(SEGMENTS),
            "error": None,
        },
    )
    library.save(record)
    return directory


def shared_recording(recordings_dir: Path) -> str:
    """Copy the rendered recording into ``recordings_dir``; returns its id."""
    global _template
    if _template is None:
        _template = _render_template()
    recordings_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(_template, recordings_dir / _template.name)
    return _template.name
