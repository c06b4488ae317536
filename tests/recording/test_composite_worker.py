"""The composite in a worker process: processing -> ready (or failed), progress
in the metadata, the file listed and served, ``recording.ready`` only then."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import aiohttp
import av
import pytest
from aiohttp.test_utils import TestServer
from media_peers import CounterVideoTrack, ToneAudioTrack
from server_keys import ADMIN_KEY
from synthetic_recording import Person, Span, make_recording

import recording.composite_worker as composite_worker
from conf_server import create_app
from conf_server.domain.layout import best_grid
from recording.composite import COMPOSITE_FILE, CompositeOptions
from recording.composite_worker import CompositeWorkers
from recording.library import RecordingLibrary

PEOPLE = [
    Person("a", "Alice", (Span(0.0, 3.0, tone=440),)),
    Person("b", "Bob", (Span(0.5, 3.0, (41, 240, 110), 1000),)),
]


async def _finish(workers: CompositeWorkers, recording_id: str, done: list[Any]) -> None:
    workers.start(recording_id)
    for _ in range(300):
        if done:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not finish")


async def test_worker_process_renders_and_marks_the_recording_ready(tmp_path):
    library = RecordingLibrary(tmp_path)
    record = make_recording(library, PEOPLE, 3.0)
    done: list[dict[str, Any]] = []
    workers = CompositeWorkers(library, best_grid, done.append)
    await _finish(workers, record["id"], done)

    (finished,) = done
    assert finished["state"] == "ready"
    assert finished["composite"]["state"] == "ready"
    assert finished["composite"]["progress"] == 1.0
    assert finished["composite"]["file"] == COMPOSITE_FILE
    assert COMPOSITE_FILE in {f["name"] for f in finished["files"]}
    path = library.file_path(record["id"], COMPOSITE_FILE)
    assert path is not None
    with av.open(str(path)) as container:
        assert {s.codec_context.name for s in container.streams} == {"h264", "aac"}
    assert not workers.running(record["id"])


async def test_a_worker_that_dies_leaves_the_recording_failed_with_the_reason(tmp_path):
    library = RecordingLibrary(tmp_path)
    record = make_recording(library, PEOPLE, 3.0)
    done: list[dict[str, Any]] = []
    workers = CompositeWorkers(library, best_grid, done.append)
    workers.start(record["id"])
    process, _task = workers._running[record["id"]]
    os.kill(process.pid, signal.SIGKILL)
    for _ in range(200):
        if done:
            break
        await asyncio.sleep(0.05)
    (finished,) = done
    assert finished["state"] == "failed"
    assert "exited with code -9" in finished["composite"]["error"]
    assert COMPOSITE_FILE not in {f["name"] for f in finished["files"]}


def test_progress_is_written_into_the_metadata(tmp_path, monkeypatch):
    library = RecordingLibrary(tmp_path)
    record = make_recording(library, PEOPLE, 3.0)
    seen: list[Any] = []
    save = library.save

    def spy(saved: dict[str, Any]) -> None:
        seen.append((saved["state"], dict(saved.get("composite") or {})))
        save(saved)

    monkeypatch.setattr(composite_worker, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(composite_worker, "RecordingLibrary", lambda _root: library)
    monkeypatch.setattr(library, "save", spy)
    composite_worker.run(str(tmp_path), record["id"], best_grid, CompositeOptions(fps=10))
    rendering = [c["progress"] for s, c in seen if c.get("state") == "rendering"]
    assert all(s == "processing" for s, _ in seen[:-1])
    assert rendering and rendering == sorted(rendering) and 0 < rendering[0] < 1
    assert seen[-1] == ("ready", {**seen[-1][1], "state": "ready", "progress": 1.0})


def test_failure_in_the_renderer_is_reported(tmp_path):
    library = RecordingLibrary(tmp_path)
    record = make_recording(library, PEOPLE, 3.0)

    def broken(_count: int, _width: int, _height: int) -> Any:
        raise ValueError("no layout today")

    composite_worker.run(str(tmp_path), record["id"], broken, CompositeOptions())
    failed = library.get(record["id"])
    assert failed is not None and failed["state"] == "failed"
    assert failed["composite"]["error"] == "ValueError: no layout today"
    assert not [p for p in (tmp_path / record["id"]).iterdir() if "composite" in p.name]


def test_unrendered_lists_this_nodes_processing_recordings(tmp_path):
    library = RecordingLibrary(tmp_path)
    mine = make_recording(library, [], 1.0)
    theirs = make_recording(library, [], 1.0)
    theirs["node"] = "other"
    library.save(theirs)
    mine["node"] = "here"
    library.save(mine)
    assert library.unrendered("here") == [mine["id"]]
    assert library.recover("here") == []  # processing is not "left unfinished"


@pytest.mark.timeout(60)
async def test_server_renders_after_stop_and_the_api_shows_it(server, make_client):
    events = _Events()
    server.service.publisher = events
    alice = await make_client("Alice")
    await alice.join("composited")
    await alice.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(440)})
    await alice.call("recording", {"action": "start"})
    await asyncio.sleep(2.0)
    await alice.call("recording", {"action": "stop"})
    assert not events.ready  # not before the composite is ready
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    (listed,) = server.service.recording.library.recordings()
    url = f"{server.url}/api/v1/recordings/{listed['id']}"
    states = []
    async with aiohttp.ClientSession(headers=headers) as http:
        for _ in range(300):
            async with http.get(url) as response:
                body = await response.json()
            states.append((body["state"], (body["composite"] or {}).get("state")))
            if body["state"] != "processing":
                break
            await asyncio.sleep(0.05)
        assert states[0] in {("processing", "pending"), ("processing", "rendering")}
        assert body["state"] == "ready" and body["composite"]["file"] == COMPOSITE_FILE
        assert COMPOSITE_FILE in {f["name"] for f in body["files"]}
        async with http.get(f"{url}/files/{COMPOSITE_FILE}") as response:
            assert response.status == 200 and len(await response.read()) > 1000
    for _ in range(20):
        if events.ready:
            break
        await asyncio.sleep(0.05)
    assert [e["recording_id"] for e in events.ready] == [listed["id"]]
    await alice.close()


class _Events:
    def __init__(self) -> None:
        self.ready: list[dict[str, Any]] = []

    def publish(self, event_type: str, data: dict[str, Any]) -> None:
        if event_type == "recording.ready":
            self.ready.append(data)


async def test_a_recording_left_processing_is_rendered_at_the_next_start(settings):
    library = RecordingLibrary(settings.recordings_dir)
    record = make_recording(library, PEOPLE, 2.0)
    record["node"] = settings.node_name
    library.save(record)
    # Built outside the event loop, as `conf-server` builds it before running.
    app = await asyncio.to_thread(create_app, settings)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        # Nothing asks for it: the server starts the waiting render by itself.
        for _ in range(300):
            current = library.get(record["id"])
            if current and current.get("composite") and current["composite"]["state"] == "ready":
                break
            await asyncio.sleep(0.05)
        assert library.get(record["id"])["composite"]["state"] == "ready"
    finally:
        await test_server.close()
