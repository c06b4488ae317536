"""kill -9 of a real conf-server while a composite renders: its worker dies with
it (no orphan left to race the next one), the next start renders the composite
again from a clean slate (a valid MP4, no temporary left) and sends
``recording.ready`` once. And a render waits for the recording's lock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest
from synthetic_recording import Person, Span, make_recording
from webhook_receiver import Receiver

from conf_server.domain.layout import best_grid
from recording.composite import COMPOSITE_FILE, CompositeOptions
from recording.composite_worker import LOCK_FILE, render_lock, run
from recording.library import RecordingLibrary

KEY = "composite-crash-admin-key-0123456789"
NODE = "crash-node"
SECONDS = 40.0  # long enough to kill the first render mid-way on a fast machine
FPS = CompositeOptions().fps
PEOPLE = [
    Person("a", "Alice", (Span(0.0, SECONDS, tone=440),)),
    Person("b", "Bob", (Span(0.0, SECONDS, (41, 240, 110), 1000),)),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m conf_server`` on a free port (blocks until it listens)."""
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "conf_server", "--port", str(port)),
            *("--data-dir", str(data_dir), "--node-name", NODE, "--ice-address", "127.0.0.1"),
        ],
        stdout=open(log, "ab"),  # noqa: SIM115 (the child owns it)
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "CONF_ADMIN_API_KEY": KEY,
            # The test's webhook receiver is on loopback: the documented opt-in.
            "CONF_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        },
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    raise AssertionError("conf-server did not start")


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has finished)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def temporaries(directory: Path) -> list[Path]:
    return sorted(directory.glob(f".{COMPOSITE_FILE}*.tmp"))


def metadata(directory: Path) -> dict[str, Any]:
    return dict(json.loads((directory / "recording.json").read_text()))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = await Receiver().start()
    yield hook
    await hook.stop()


def rendering_worker(directory: Path) -> int | None:
    """The pid of the worker once it is past the start of its render."""
    composite = metadata(directory).get("composite") or {}
    assert composite.get("state") != "ready", "rendered before it could be killed"
    lock = directory / LOCK_FILE
    holder = lock.read_text().strip() if lock.exists() else ""
    if composite.get("state") == "rendering" and holder and temporaries(directory):
        return int(holder)
    return None


async def wait_until_rendering(directory: Path) -> int:
    deadline = time.monotonic() + 90
    while (worker := rendering_worker(directory)) is None:
        assert time.monotonic() < deadline, "the composite never started rendering"
        await asyncio.sleep(0.05)
    return worker


@pytest.mark.timeout(300)
async def test_a_server_killed_mid_render_leaves_no_worker_and_the_restart_renders_cleanly(
    tmp_path, receiver
):
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    library = RecordingLibrary(data_dir / "recordings")
    record = make_recording(library, PEOPLE, SECONDS)
    record["node"] = NODE  # this node's: rendered at its start
    library.save(record)
    directory = library.directory(record["id"])
    assert directory is not None

    process, url = start_server(data_dir, log)
    worker = 0
    try:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.post(
                f"{url}/api/v1/admin/webhooks",
                json={"url": receiver.url, "events": ["recording.ready"]},
            ) as response,
        ):
            assert response.status == 201, await response.text()
        worker = await wait_until_rendering(directory)
        assert parent_of(worker) == process.pid
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

        # The worker dies with its server (at once on Linux; within a second elsewhere).
        deadline = time.monotonic() + 5
        while alive(worker):
            assert time.monotonic() < deadline, "the composite worker outlived its server"
            await asyncio.sleep(0.05)
        state = metadata(directory)["state"]
        assert state == "processing", f"a worker outlived its server and left it {state}"
        assert temporaries(directory)  # the killed render's file, left behind
        assert receiver.requests == []

        process, url = start_server(data_dir, log)
        (ready,) = await receiver.wait_for(1, timeout=180)
    finally:
        if worker and alive(worker):
            os.kill(worker, signal.SIGKILL)  # never leave an orphan behind
        process.terminate()
        process.wait(20)

    assert ready.body["type"] == "recording.ready"
    assert ready.body["data"]["recording_id"] == record["id"]
    finished = metadata(directory)
    assert finished["state"] == "ready" and finished["composite"]["state"] == "ready"
    assert temporaries(directory) == []  # the dead render's temporary was removed
    with av.open(str(directory / COMPOSITE_FILE)) as container:
        assert {s.codec_context.name for s in container.streams} == {"h264", "aac"}
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == math.ceil(SECONDS * FPS)
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1  # once


def test_a_render_waits_for_the_lock_and_skips_a_recording_rendered_meanwhile(tmp_path):
    library = RecordingLibrary(tmp_path)
    record = make_recording(library, PEOPLE[:1], 1.0)
    directory = library.directory(record["id"])
    assert directory is not None
    context = multiprocessing.get_context("spawn")
    with render_lock(directory):
        worker = context.Process(
            target=run,
            args=(str(tmp_path), record["id"], best_grid, CompositeOptions(), os.getpid()),
        )
        worker.start()
        try:
            time.sleep(2.0)
            # Still waiting for the lock: nothing rendered, nothing written.
            assert worker.is_alive() and temporaries(directory) == []
            assert metadata(directory).get("composite") is None
            # Meanwhile another render finished it.
            done = library.get(record["id"])
            assert done is not None
            done["state"] = "ready"
            library.save(done)
        except BaseException:
            worker.kill()
            raise
    worker.join(60)
    assert worker.exitcode == 0
    assert not (directory / COMPOSITE_FILE).exists()
    assert metadata(directory)["state"] == "ready"
