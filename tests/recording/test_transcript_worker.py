"""The transcript worker: a recording's transcript made in a process of its
own, progress and failures in its ``transcript`` field, the recording itself
never lost or left ``processing``; deleted recordings stay deleted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from spoken_media import ALICE_VOICE, make_spoken_recording, needs_espeak, synthesize

import recording.transcript_worker as transcript_worker
from recording.library import RecordingLibrary
from recording.transcript_files import TRANSCRIPT_FILES
from recording.transcript_worker import TranscriptOptions, TranscriptWorkers, initial_status

PENDING = initial_status(True, "pocketsphinx", "en-US")


@pytest.fixture(scope="module")
def sentence(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    return synthesize(
        "Thank you for joining the meeting today.", ALICE_VOICE, tmp_path_factory.mktemp("voice")
    )


def spoken(library: RecordingLibrary, sentence: np.ndarray, **transcript: Any) -> dict[str, Any]:
    return make_spoken_recording(
        library, [("a", "Ada <&> Lovelace", [(1.0, sentence)])], 5.0, {**PENDING, **transcript}
    )


async def until_done(workers: TranscriptWorkers, done: list[Any], seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.05)):
        if done:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not finish")


@needs_espeak
async def test_worker_writes_the_three_files_and_leaves_the_recording_ready(tmp_path, sentence):
    library = RecordingLibrary(tmp_path)
    record = spoken(library, sentence)
    done: list[dict[str, Any]] = []
    workers = TranscriptWorkers(library, TranscriptOptions(), done.append)
    workers.start(record["id"])
    await until_done(workers, done)

    (finished,) = done
    status = finished["transcript"]
    assert finished["state"] == "ready"
    assert status["state"] == "ready" and status["progress"] == 1.0
    assert status["files"] == list(TRANSCRIPT_FILES) and status["segments"] == 1
    assert set(TRANSCRIPT_FILES) <= {f["name"] for f in finished["files"]}
    directory = library.directory(record["id"])
    (segment,) = json.loads((directory / "transcript.json").read_text())["segments"]
    assert segment["speaker_id"] == "a" and segment["speaker_name"] == "Ada <&> Lovelace"
    assert 0.9 <= segment["start"] < segment["end"] <= 4.2
    assert "meeting today" in segment["text"]
    vtt = (directory / "transcript.vtt").read_text()
    assert "Ada &lt;&amp;&gt; Lovelace: " in vtt and "-->" in vtt
    assert (directory / "transcript.txt").read_text().startswith("[00:00:01] Ada <&> Lovelace: ")
    assert not workers.busy(record["id"])


@needs_espeak
def test_progress_is_written_into_the_metadata(tmp_path, monkeypatch, sentence):
    library = RecordingLibrary(tmp_path)
    record = spoken(library, sentence)
    seen: list[dict[str, Any]] = []
    save = library.save

    def spy(saved: dict[str, Any]) -> None:
        assert saved["state"] == "ready"  # the recording's own state is never touched
        seen.append(dict(saved["transcript"]))
        save(saved)

    monkeypatch.setattr(transcript_worker, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(transcript_worker, "RecordingLibrary", lambda _root: library)
    monkeypatch.setattr(library, "save", spy)
    transcript_worker.run(str(tmp_path), record["id"], TranscriptOptions())
    progress = [s["progress"] for s in seen if s["state"] == "transcribing"]
    assert progress == sorted(progress) and any(0 < p < 1 for p in progress)
    assert seen[-1]["state"] == "ready" and seen[-1]["cpu_seconds"] > 0


def test_a_language_the_engine_does_not_speak_fails_the_transcript_only(tmp_path):
    library = RecordingLibrary(tmp_path)
    record = make_spoken_recording(
        library, [("a", "Ada", [])], 1.0, {**PENDING, "language": "de-DE"}
    )
    transcript_worker.run(str(tmp_path), record["id"], TranscriptOptions())
    after = library.get(record["id"])
    assert after is not None and after["state"] == "ready"
    status = after["transcript"]
    assert status["state"] == "failed"
    assert status["error_code"] == "transcript_language_unsupported"
    assert "'de-DE'" in status["error"] and "en-US" in status["error"]
    assert not set(TRANSCRIPT_FILES) & {f["name"] for f in after["files"]}


def test_a_missing_engine_fails_the_transcript_with_what_to_install(tmp_path):
    library = RecordingLibrary(tmp_path)
    record = make_spoken_recording(library, [("a", "Ada", [])], 1.0, PENDING)
    options = TranscriptOptions(engine="vosk", model=str(tmp_path / "no-model"))
    transcript_worker.run(str(tmp_path), record["id"], options)
    after = library.get(record["id"])
    assert after is not None and after["state"] == "ready"
    assert after["transcript"]["error_code"] == "transcript_engine_unavailable"
    assert "pip install vosk" in after["transcript"]["error"]


def test_silence_gives_an_empty_transcript_without_loading_a_model(tmp_path, monkeypatch):
    library = RecordingLibrary(tmp_path)
    record = make_spoken_recording(library, [("a", "Ada", [])], 3.0, PENDING)

    def no_model(_choice: Any) -> Any:
        raise AssertionError("a model was loaded for silence")

    monkeypatch.setattr(transcript_worker, "load_recognizer", no_model)
    transcript_worker.run(str(tmp_path), record["id"], TranscriptOptions())
    after = library.get(record["id"])
    assert after is not None and after["transcript"]["state"] == "ready"
    assert after["transcript"]["segments"] == 0
    document = json.loads((Path(tmp_path) / record["id"] / "transcript.json").read_text())
    assert document["segments"] == []


def test_a_disabled_transcript_is_not_made(tmp_path):
    library = RecordingLibrary(tmp_path)
    record = make_spoken_recording(
        library, [("a", "Ada", [])], 1.0, initial_status(False, "pocketsphinx", "en-US")
    )
    transcript_worker.run(str(tmp_path), record["id"], TranscriptOptions())
    after = library.get(record["id"])
    assert after is not None and after["transcript"]["state"] == "disabled"
    assert library.untranscribed() == []


@needs_espeak
async def test_a_killed_worker_leaves_the_recording_ready_and_says_why(tmp_path, sentence):
    library = RecordingLibrary(tmp_path)
    record = spoken(library, sentence)
    done: list[dict[str, Any]] = []
    workers = TranscriptWorkers(library, TranscriptOptions(), done.append)
    workers.start(record["id"])
    process, _task = workers._running[record["id"]]
    os.kill(process.pid, signal.SIGKILL)
    await until_done(workers, done)
    (finished,) = done
    assert finished["state"] == "ready"
    assert finished["transcript"]["state"] == "failed"
    assert finished["transcript"]["error_code"] == "transcript_worker_died"
    assert "exited with code -9" in finished["transcript"]["error"]


@needs_espeak
async def test_cancelling_for_a_deletion_writes_nothing_back(tmp_path, sentence):
    library = RecordingLibrary(tmp_path)
    record = spoken(library, sentence)
    done: list[dict[str, Any]] = []
    workers = TranscriptWorkers(library, TranscriptOptions(), done.append)
    workers.start(record["id"])
    await workers.cancel(record["id"])
    assert library.delete(record["id"])
    await asyncio.sleep(0.2)
    assert done == [] and not workers.busy(record["id"])
    assert not (tmp_path / record["id"]).exists()


@needs_espeak
async def test_one_worker_at_a_time_the_others_wait(tmp_path, sentence):
    library = RecordingLibrary(tmp_path)
    first, second = spoken(library, sentence), spoken(library, sentence)
    done: list[dict[str, Any]] = []
    workers = TranscriptWorkers(library, TranscriptOptions(workers=1), done.append)
    workers.start(first["id"])
    workers.start(second["id"])
    assert len(workers._running) == 1 and workers.busy(second["id"])
    for _ in range(1200):
        if len(done) == 2:
            break
        await asyncio.sleep(0.05)
    assert [d["transcript"]["state"] for d in done] == ["ready", "ready"]


def test_untranscribed_lists_what_a_stopped_server_left(tmp_path):
    library = RecordingLibrary(tmp_path)
    waiting = make_spoken_recording(library, [], 1.0, {**PENDING, "state": "transcribing"})
    make_spoken_recording(library, [], 1.0, {**PENDING, "state": "ready"})
    make_spoken_recording(library, [], 1.0, PENDING, state="processing")  # composite first
    make_spoken_recording(library, [], 1.0, None)  # made before transcripts existed
    assert library.untranscribed() == [waiting["id"]]
