"""Transcripts in worker processes, like the composite (see
:mod:`recording.composite_worker`), so recognition never slows the server.

A recording whose transcript is wanted carries, from its start, a
``transcript`` field in its metadata; the worker owns that field while it
runs and writes its progress into it about once a second::

    "transcript": {"state": "disabled" | "pending" | "transcribing" | "ready" | "failed",
                   "progress": 0.0 .. 1.0, "engine": "pocketsphinx", "language": "en-US",
                   "files": ["transcript.json", "transcript.vtt", "transcript.txt"] | [],
                   "segments": 12 | null, "error": null | "why",
                   "captions": null | {"state": "added" | "failed", "cues": 12,
                                       "error": null | "why"},
                   "error_code": null | "transcript_language_unsupported" | ...}

The transcript is made after the composite (the two never compete for the
CPU or for the metadata: both hold the recording's render lock). The
recording's own ``state`` is never touched here: a transcript that fails
(an engine missing, a language the engine does not speak, a worker killed)
leaves the recording ``ready`` with ``transcript.state`` ``failed`` and the
reason. Once the transcript files are written, the transcript goes into
the composite MP4 as a subtitle track (:mod:`recording.composite_captions`;
``captions`` says how that went, null without a composite); a failure there
keeps the composite as it was and the transcript ``ready``. At most
``workers`` transcripts run at once (the rest wait in a queue), each at a
lower CPU priority than the server, since live meetings matter more than a
transcript being a minute later. Transcripts still
``pending`` or ``transcribing`` when the server stopped are made at its next
start. A recording deleted meanwhile (by an admin, or its retention period)
stops its worker; nothing is written back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .composite_captions import add_captions
from .composite_worker import die_with_parent, process_ended, render_lock
from .errors import EngineUnavailable, TranscriptError
from .library import RecordingLibrary, is_real_directory
from .speech_engines import EngineChoice, check_language, engine_problem, load_recognizer
from .transcript import Transcriber, speaker_tracks
from .transcript_files import remove_stale_temporaries, write_transcript
from .voice_activity import VadOptions

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1.0  # seconds between progress writes
#: Added to the worker's nice value: the server's media loop comes first.
NICENESS = 10
WAITING = ("pending", "transcribing")

Finished = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TranscriptOptions:
    """The deployment's transcript settings (picklable: sent to the worker)."""

    engine: str = "pocketsphinx"
    model: str | None = None
    language: str = "en-US"
    workers: int = 1
    vad: VadOptions = field(default_factory=VadOptions)


def initial_status(enabled: bool, engine: str, language: str) -> dict[str, Any]:
    """The ``transcript`` field a recording starts with."""
    return {
        "state": "pending" if enabled else "disabled",
        "progress": 0.0,
        "engine": engine,
        "language": language,
        "files": [],
        "segments": None,
        "error": None,
        "error_code": None,
    }


def wants_transcript(record: dict[str, Any]) -> bool:
    status = record.get("transcript")
    return isinstance(status, dict) and status.get("state") in WAITING


def run(
    root: str, recording_id: str, options: TranscriptOptions, parent_pid: int | None = None
) -> None:
    """The worker process: transcribe one recording, then mark its transcript."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    library = RecordingLibrary(Path(root))
    directory = library.directory(recording_id)
    if directory is None or not is_real_directory(directory):
        return
    try:
        with render_lock(directory):
            record = library.get(recording_id)
            if record is None or "metadata_error" in record or not wants_transcript(record):
                return  # transcribed, deleted or unreadable meanwhile
            remove_stale_temporaries(directory)
            _transcribe(library, directory, record, options)
    except FileNotFoundError:
        logger.info("recording %s was deleted while it was transcribed", recording_id)


def _transcribe(
    library: RecordingLibrary, directory: Path, record: dict[str, Any], options: TranscriptOptions
) -> None:
    status: dict[str, Any] = dict(record["transcript"])
    last = 0.0

    def save(**changes: Any) -> None:
        status.update(changes)
        record["transcript"] = dict(status)
        library.save(record)

    def progress(fraction: float) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY and fraction < 1.0:
            last = time.monotonic()
            save(progress=round(fraction, 3))

    choice = EngineChoice(
        options.engine, status.get("language") or options.language, options.model, options.language
    )
    save(state="transcribing", engine=options.engine, error=None, error_code=None)
    transcriber = Transcriber(lambda: load_recognizer(choice), vad=options.vad)
    started = time.process_time()
    try:
        language = check_language(choice)  # before any work: a clear refusal
        problem = engine_problem(choice)  # (the model itself loads at the first speech)
        if problem is not None:
            raise EngineUnavailable(problem)
        segments = transcriber.transcribe(speaker_tracks(directory, record), progress)
        files = write_transcript(directory, record["id"], options.engine, language, segments)
        # Still "transcribing": the recording.transcribed webhook (sent once
        # this process ends) finds captions in the composite already.
        captions = add_captions(directory, record, segments, language)
    except FileNotFoundError as exc:
        if not directory.is_dir():
            raise  # the recording was deleted meanwhile: nothing to mark
        logger.exception("the transcript of recording %s failed", record["id"])
        save(state="failed", error=f"a file went missing: {exc}", error_code="transcript_failed")
    except TranscriptError as exc:
        logger.warning("transcript of recording %s: %s", record["id"], exc.message)
        save(state="failed", error=exc.message, error_code=exc.code)
    except Exception as exc:
        logger.exception("the transcript of recording %s failed", record["id"])
        save(state="failed", error=f"{type(exc).__name__}: {exc}", error_code="transcript_failed")
    else:
        save(
            state="ready",
            progress=1.0,
            language=language,
            files=files,
            segments=len(segments),
            captions=captions,
            speech_seconds=round(transcriber.speech_seconds, 3),
            cpu_seconds=round(time.process_time() - started, 3),
        )
    finally:
        transcriber.close()


class TranscriptWorkers:
    """The transcript worker processes of this server: at most
    ``options.workers`` at once, the others queued."""

    def __init__(
        self, library: RecordingLibrary, options: TranscriptOptions, finished: Finished
    ) -> None:
        self.library = library
        self.options = options
        self._finished = finished
        self._context = multiprocessing.get_context("spawn")
        self._queue: deque[str] = deque()
        self._running: dict[str, tuple[Any, asyncio.Task[None]]] = {}
        self._cancelled: set[str] = set()
        self.closed = False

    def busy(self, recording_id: str) -> bool:
        """Is ``recording_id`` queued or being transcribed?"""
        return recording_id in self._running or recording_id in self._queue

    def start(self, recording_id: str) -> None:
        """Transcribe ``recording_id`` (its transcript ``pending``) when a
        worker is free. Needs a running event loop."""
        if self.closed or self.busy(recording_id):
            return
        self._queue.append(recording_id)
        self._pump()

    def _pump(self) -> None:
        while self._queue and len(self._running) < max(1, self.options.workers):
            recording_id = self._queue.popleft()
            record = self.library.get(recording_id)
            if record is None or "metadata_error" in record or not wants_transcript(record):
                continue
            self._launch(recording_id)

    def _launch(self, recording_id: str) -> None:
        # Started from the event loop's thread: PR_SET_PDEATHSIG follows the
        # creating thread (see composite_worker).
        process = self._context.Process(
            target=run,
            args=(str(self.library.root), recording_id, self.options, os.getpid()),
            name=f"transcript-{recording_id}",
            daemon=True,
        )
        process.start()
        task = asyncio.get_running_loop().create_task(self._watch(recording_id, process))
        self._running[recording_id] = (process, task)
        logger.info("transcript of recording %s: worker %s started", recording_id, process.pid)

    async def _watch(self, recording_id: str, process: Any) -> None:
        try:
            await process_ended(process)
        finally:
            self._running.pop(recording_id, None)
        try:
            if recording_id in self._cancelled:
                self._cancelled.discard(recording_id)
                return
            self._report(recording_id, process.exitcode)
        finally:
            if not self.closed:
                self._pump()

    def _report(self, recording_id: str, exitcode: int | None) -> None:
        record = self.library.get(recording_id)
        if record is None or "metadata_error" in record:
            return  # deleted meanwhile
        if wants_transcript(record):  # the worker died without a word
            status = dict(record["transcript"])
            status.update(
                state="failed",
                error=f"the transcript worker exited with code {exitcode}",
                error_code="transcript_worker_died",
            )
            record["transcript"] = status
            with contextlib.suppress(OSError):
                self.library.save(record)
        state = (record.get("transcript") or {}).get("state")
        logger.info("transcript of recording %s: %s", recording_id, state)
        self._finished(self.library.get(recording_id) or record)

    async def cancel(self, recording_id: str, timeout: float = 10.0) -> None:
        """Stop transcribing ``recording_id`` (it is about to be deleted): the
        worker is killed and nothing is written back."""
        with contextlib.suppress(ValueError):
            self._queue.remove(recording_id)
        entry = self._running.get(recording_id)
        if entry is None:
            return
        process, task = entry
        self._cancelled.add(recording_id)
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout)

    def close(self) -> None:
        """Stop every worker; their transcripts stay ``pending`` or
        ``transcribing`` and are made at the next start. Safe to call twice."""
        self.closed = True
        self._queue.clear()
        for process, task in list(self._running.values()):
            task.cancel()
            process.terminate()
            process.join(5)
        self._running.clear()
