"""The composite in a worker process, so rendering never slows the server.

After a recording stops it is in state ``processing``; :class:`CompositeWorkers`
starts one process (multiprocessing, ``spawn``) per recording that renders
:data:`~recording.composite.COMPOSITE_FILE` beside the track files. The worker
owns the recording's metadata while it runs and writes its progress into the
``composite`` field about once a second::

    "composite": {"state": "pending" | "rendering" | "ready" | "failed",
                  "progress": 0.0 .. 1.0, "file": "composite.mp4" | null,
                  "error": null | "why it failed"}

At the end the recording becomes ``ready`` (or ``failed``, with the error).
A recording without any media is ``ready`` at once, with ``composite: null``.
A worker that dies without saying so (killed, out of memory) is noticed by
the server, which marks the recording ``failed``. Recordings still
``processing`` when the server stopped are rendered again at its next start.

One render per recording, whatever happens to the server:

- a worker dies with the server that started it (``PR_SET_PDEATHSIG`` on
  Linux, else it notices within a second that its parent is gone), so a
  server killed with ``kill -9`` leaves no worker behind to race the next one;
- a worker renders only while holding the recording's lock (``flock`` on
  ``.render.lock``, released by the kernel when its holder dies), and only a
  recording that is still ``processing`` once it holds it;
- each render writes a temporary file of its own (pid and random part in the
  name) and renames it into place atomically; temporaries a dead render left
  are removed under the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .composite import COMPOSITE_FILE, CompositeOptions, Layout, render_composite
from .library import RecordingLibrary, is_real_directory

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1.0  # seconds between progress writes
PARENT_POLL_SECONDS = 1.0  # where PR_SET_PDEATHSIG is missing
LOCK_FILE = ".render.lock"
PR_SET_PDEATHSIG = 1

Finished = Callable[[dict[str, Any]], None]


def composite_status(state: str, progress: float, error: str | None = None) -> dict[str, Any]:
    return {
        "state": state,
        "progress": round(progress, 3),
        "file": COMPOSITE_FILE if state == "ready" else None,
        "error": error,
    }


def die_with_parent(parent_pid: int) -> None:
    """Bind this process's life to its parent's: killed (SIGKILL) when it dies,
    even by ``kill -9``. Must run first thing in the child."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the poll below
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # it died before we asked
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)


async def process_ended(process: Any) -> None:
    """Wait, without a thread, until a worker ``process`` has ended, and reap it."""
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()
    loop.add_reader(process.sentinel, ended.set)  # readable once the process is gone
    try:
        await ended.wait()
    finally:
        loop.remove_reader(process.sentinel)
    process.join()


@contextlib.contextmanager
def render_lock(directory: Path) -> Iterator[None]:
    """Hold the recording's render lock, waiting while another process holds it.
    The lock file names its holder's pid (for operators)."""
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            logger.warning("%s: process %s renders it; waiting for it", directory.name, holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def remove_stale_temporaries(directory: Path) -> None:
    """Delete the temporary composites of renders that died (call under the lock)."""
    for path in directory.glob(f".{COMPOSITE_FILE}*.tmp"):
        path.unlink(missing_ok=True)


def run(
    root: str,
    recording_id: str,
    layout: Layout,
    options: CompositeOptions,
    parent_pid: int | None = None,
) -> None:
    """The worker process: render one recording's composite, then mark it.
    With ``parent_pid`` (the server), it dies when that process does."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    library = RecordingLibrary(Path(root))
    directory = library.directory(recording_id)
    if directory is None or not is_real_directory(directory):
        return
    with render_lock(directory):
        record = library.get(recording_id)
        if record is None or record["state"] != "processing":
            return  # rendered, deleted or unreadable meanwhile
        remove_stale_temporaries(directory)
        _render(library, directory, record, layout, options)


def _render(
    library: RecordingLibrary,
    directory: Path,
    record: dict[str, Any],
    layout: Layout,
    options: CompositeOptions,
) -> None:
    recording_id = record["id"]
    last = 0.0

    def progress(fraction: float) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY and fraction < 1.0:
            last = time.monotonic()
            record["composite"] = composite_status("rendering", fraction)
            library.save(record)

    if not any(t.get("frames") for t in record.get("tracks", [])):
        record["state"], record["composite"] = "ready", None  # nothing was recorded
        library.save(record)
        return
    try:
        result = render_composite(directory, record, layout, options, progress)
    except Exception as exc:
        logger.exception("the composite of recording %s failed", recording_id)
        record["state"] = "failed"
        record["composite"] = composite_status("failed", 0.0, f"{type(exc).__name__}: {exc}")
    else:
        record["state"] = "ready"
        record["composite"] = {
            **composite_status("ready", 1.0),
            "render_seconds": round(result.seconds, 3),
        }
    library.save(record)


class CompositeWorkers:
    """One worker process per recording being rendered, owned by the server."""

    def __init__(
        self,
        library: RecordingLibrary,
        layout: Layout,
        finished: Finished,
        options: CompositeOptions | None = None,
    ) -> None:
        self.library = library
        self.layout = layout
        self.options = options or CompositeOptions()
        self._finished = finished
        self._context = multiprocessing.get_context("spawn")
        self._running: dict[str, tuple[Any, asyncio.Task[None]]] = {}
        self.closed = False

    def running(self, recording_id: str) -> bool:
        return recording_id in self._running

    def rendering(self, recording_id: str) -> bool:
        """Is the composite of ``recording_id`` still being made? A worker that
        has saved its result is done, even while its process is still exiting
        (a spawned interpreter takes a moment to exit; seconds when loaded)."""
        if recording_id not in self._running:
            return False
        record = self.library.get(recording_id)
        return record is not None and record.get("state") == "processing"

    async def exited(self, recording_id: str, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the worker of ``recording_id`` (if any) to
        exit and its result to be reported; False if it has not by then."""
        entry = self._running.get(recording_id)
        if entry is None:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(entry[1]), timeout)
        return recording_id not in self._running

    def start(self, recording_id: str) -> None:
        """Render ``recording_id`` (state ``processing``) in a new process.
        Needs a running event loop (it watches the process)."""
        if self.closed or recording_id in self._running:
            return
        record = self.library.get(recording_id)
        if record is None:
            return
        if not any(t.get("frames") for t in record.get("tracks", [])):
            record["state"], record["composite"] = "ready", None  # nothing to render
            self.library.save(record)
            self._finished(self.library.get(recording_id) or record)
            return
        record["composite"] = composite_status("pending", 0.0)
        self.library.save(record)
        # The worker dies when the thread that starts it ends (PR_SET_PDEATHSIG
        # follows the creating thread): start it from the event loop's thread.
        process = self._context.Process(
            target=run,
            args=(str(self.library.root), recording_id, self.layout, self.options, os.getpid()),
            name=f"composite-{recording_id}",
            daemon=True,
        )
        process.start()
        task = asyncio.get_running_loop().create_task(self._watch(recording_id, process))
        self._running[recording_id] = (process, task)
        logger.info("composite of recording %s: worker %s started", recording_id, process.pid)

    async def _watch(self, recording_id: str, process: Any) -> None:
        try:
            await process_ended(process)
        finally:
            self._running.pop(recording_id, None)
        record = self.library.get(recording_id)
        if record is None:
            return
        if record["state"] == "processing":  # the worker died without a word
            record["state"] = "failed"
            record["composite"] = composite_status(
                "failed",
                (record.get("composite") or {}).get("progress", 0.0),
                f"the composite worker exited with code {process.exitcode}",
            )
            self.library.save(record)
        logger.info("composite of recording %s: %s", recording_id, record["state"])
        self._finished(self.library.get(recording_id) or record)

    def close(self) -> None:
        """Stop every worker; their recordings stay ``processing`` (rendered again
        at the next start). Safe to call twice."""
        self.closed = True
        for process, task in list(self._running.values()):
            task.cancel()
            process.terminate()
            process.join(5)
        self._running.clear()
