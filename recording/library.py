"""RecordingLibrary: the recordings directory and each recording's metadata.

Layout: ``<root>/<id>/recording.json`` plus the track files beside it. Ids
are unguessable (``secrets.token_urlsafe``); every id and file name that comes
from outside is checked against a strict pattern (and the file against the
recording's own list) before any path is built from it.

States: ``recording`` (being written), ``processing`` (a later step such as
the composite is pending), ``ready``, ``incomplete`` (found unfinished at
start: the process died; the files play up to about their last second) and
``failed``. Recordings are never deleted for being incomplete; only an admin
or the retention period removes them.

What is on disk is not trusted blindly: symbolic links (a recording
directory, a file in one, ``recording.json``) are never listed, read or
served, and a ``recording.json`` that cannot be read or makes no sense turns
that one recording into a ``failed`` item with a ``metadata_error`` (so an
admin sees it and can delete it) instead of breaking the whole list.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import secrets
import shutil
import stat
import time
from pathlib import Path
from typing import Any

from .errors import QuotaExceeded

logger = logging.getLogger(__name__)

METADATA = "recording.json"
STATES = ("recording", "processing", "ready", "incomplete", "failed")
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
FILE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")
#: A recording.json larger than this is not read (a real one is a few hundred KiB).
MAX_METADATA_BYTES = 16 * 1024 * 1024
_NUMBERS = ("started_at", "ended_at", "duration")


class MetadataError(Exception):
    """A recording's ``recording.json`` cannot be used; the message says why."""


def new_recording_id() -> str:
    """An unguessable id (16 random bytes, URL-safe) that starts with a letter or digit:
    one starting with ``-`` reads as an option on a command line, and the
    report's CSV writes such a cell with a leading ``'`` (its guard against
    formulas), so the id there would not match the API's."""
    while True:
        recording_id = secrets.token_urlsafe(16)
        if recording_id[0].isalnum():
            return recording_id


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except OSError:
        return None


def is_regular_file(path: Path) -> bool:
    """A regular file itself, not a symbolic link to one."""
    st = _lstat(path)
    return st is not None and stat.S_ISREG(st.st_mode)


def is_real_directory(path: Path) -> bool:
    """A directory itself, not a symbolic link to one."""
    st = _lstat(path)
    return st is not None and stat.S_ISDIR(st.st_mode)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def metadata_problem(data: Any, recording_id: str) -> str | None:
    """What makes ``data`` unusable as the metadata of ``recording_id`` (None: nothing).
    Checks what the server computes with, so a bad file cannot break it later."""
    if not isinstance(data, dict):
        return "recording.json does not hold a JSON object"
    if data.get("id") != recording_id:
        return f"recording.json names another recording ({data.get('id')!r})"
    if data.get("state") not in STATES:
        return f"recording.json has an unknown state ({data.get('state')!r})"
    for key in _NUMBERS:
        if data.get(key) is not None and not _number(data[key]):
            return f"recording.json: {key} is not a number"
    for key in ("tracks", "participants"):
        if not isinstance(data.get(key, []), list) or not all(
            isinstance(item, dict) for item in data.get(key, [])
        ):
            return f"recording.json: {key} is not a list of objects"
    pauses = data.get("pauses", [])
    if not isinstance(pauses, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(_number(t) for t in p) for p in pauses
    ):
        return "recording.json: pauses is not a list of [start, end] pairs"
    if data.get("composite") is not None and not isinstance(data["composite"], dict):
        return "recording.json: composite is not an object"
    if data.get("transcript") is not None and not isinstance(data["transcript"], dict):
        return "recording.json: transcript is not an object"
    return None


def read_metadata(directory: Path) -> dict[str, Any] | None:
    """The ``recording.json`` of ``directory``; None if there is none (yet).
    Raises :class:`MetadataError` when it is there but unusable (a symbolic
    link, not JSON, too large, or not a recording's metadata)."""
    try:
        fd = os.open(directory / METADATA, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise MetadataError("recording.json is a symbolic link") from None
        raise MetadataError(f"recording.json cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise MetadataError("recording.json is not a regular file")
        if st.st_size > MAX_METADATA_BYTES:
            raise MetadataError(f"recording.json is too large ({st.st_size} bytes)")
        try:
            data = json.loads(fh.read(MAX_METADATA_BYTES + 1))
        except ValueError as exc:
            raise MetadataError(f"recording.json is not valid JSON ({exc})") from None
    problem = metadata_problem(data, directory.name)
    if problem is not None:
        raise MetadataError(problem)
    result: dict[str, Any] = data
    return result


def regular_files(directory: Path) -> list[tuple[str, int]]:
    """Name and size of each regular file of ``directory`` (symbolic links,
    hidden files and ``recording.json`` left out), sorted by name."""
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name == METADATA or entry.name.startswith("."):
                continue
            if entry.is_file(follow_symlinks=False):
                found.append((entry.name, entry.stat(follow_symlinks=False).st_size))
    return sorted(found)


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` so that a crash leaves the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class RecordingLibrary:
    """Every recording of this deployment, on disk."""

    def __init__(
        self, root: Path, quota_bytes: int | None = None, retention_days: float | None = None
    ) -> None:
        self.root = root
        self.quota_bytes = quota_bytes
        self.retention_days = retention_days
        #: Names already reported in the log as unusable (said once, not per listing).
        self._reported: set[str] = set()

    # -- paths (the only place that builds them) ---------------------------------------

    def directory(self, recording_id: str) -> Path | None:
        """The directory of a recording, or None for an id that cannot be one."""
        if not ID_PATTERN.fullmatch(recording_id):
            return None
        return self.root / recording_id

    def file_path(self, recording_id: str, name: str) -> Path | None:
        """One file of a recording, if the id and name are valid and it is listed
        (a regular file, never a symbolic link)."""
        meta = self.get(recording_id)
        if meta is None or not FILE_PATTERN.fullmatch(name) or name == METADATA:
            return None
        if name not in {f["name"] for f in meta["files"]}:
            return None
        directory = self.directory(recording_id)
        assert directory is not None
        path = directory / name
        return path if is_regular_file(path) else None

    def open_file(self, recording_id: str, name: str) -> int | None:
        """A read-only descriptor of one listed file (see :meth:`file_path`), or
        None. Opened without following a symbolic link, neither for the
        recording's directory nor for the file, so a link put there after the
        check is not followed either. The caller closes it."""
        path = self.file_path(recording_id, name)
        if path is None:
            return None
        flags = os.O_RDONLY | os.O_NOFOLLOW
        try:
            directory = os.open(path.parent, flags | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            # O_NONBLOCK: a FIFO put there must not block the opening.
            fd = os.open(name, flags | os.O_NONBLOCK, dir_fd=directory)
        except OSError:
            return None
        finally:
            os.close(directory)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        return fd

    # -- metadata -------------------------------------------------------------------------

    def create(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Make a new recording (state ``recording``); raises QuotaExceeded when full."""
        self.check_quota()
        recording_id = new_recording_id()
        directory = self.root / recording_id
        directory.mkdir(parents=True)
        record = {
            "id": recording_id,
            "state": "recording",
            "started_at": time.time(),
            "ended_at": None,
            "duration": 0.0,
            "participants": [],
            "tracks": [],
            "pauses": [],
            **meta,
        }
        self.save(record)
        return self.get(recording_id) or record

    def save(self, record: dict[str, Any]) -> None:
        if "metadata_error" in record:
            # It stands for a file we could not read: keep that file as it is.
            raise MetadataError(f"recording {record['id']}: {record['metadata_error']}")
        directory = self.directory(record["id"])
        assert directory is not None
        stored = {k: v for k, v in record.items() if k not in ("files", "size")}
        write_json_atomically(directory / METADATA, stored)

    def _load(self, directory: Path) -> dict[str, Any] | None:
        try:
            try:
                record = read_metadata(directory)
            except MetadataError as exc:
                record = self._unreadable(directory, str(exc))
            if record is None:
                return None  # being created (the metadata comes right after the directory)
            files = regular_files(directory)
        except OSError:
            return None  # deleted meanwhile
        record["files"] = [{"name": name, "size": size} for name, size in files]
        record["size"] = sum(size for _, size in files)
        return record

    def _unreadable(self, directory: Path, reason: str) -> dict[str, Any]:
        """The ``failed`` item that stands for a recording whose metadata is unusable."""
        if directory.name not in self._reported:
            self._reported.add(directory.name)
            logger.warning(
                "recording %s: %s; listed as failed until an admin deletes it",
                directory.name,
                reason,
            )
        st = _lstat(directory)
        return {
            "id": directory.name,
            "state": "failed",
            "started_at": st.st_mtime if st is not None else 0.0,
            "ended_at": None,
            "duration": 0.0,
            "participants": [],
            "tracks": [],
            "pauses": [],
            "composite": None,
            "metadata_error": reason,
        }

    def get(self, recording_id: str) -> dict[str, Any] | None:
        """The metadata of one recording with its files and size, or None."""
        directory = self.directory(recording_id)
        if directory is None or not is_real_directory(directory):
            return None
        return self._load(directory)

    def recordings(self) -> list[dict[str, Any]]:
        """Every recording, newest first (symbolic links in the root are ignored)."""
        if not self.root.is_dir():
            return []
        records = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if not ID_PATTERN.fullmatch(entry.name):
                    continue
                if not entry.is_dir(follow_symlinks=False):
                    if entry.is_symlink() and entry.name not in self._reported:
                        self._reported.add(entry.name)
                        logger.warning("recordings: %s is a symbolic link: ignored", entry.name)
                    continue
                record = self._load(Path(entry.path))
                if record is not None:
                    records.append(record)
        records.sort(key=lambda r: r.get("started_at") or 0, reverse=True)
        return records

    def delete(self, recording_id: str) -> bool:
        directory = self.directory(recording_id)
        if directory is None or not is_real_directory(directory):
            return False
        shutil.rmtree(directory)  # unlinks symbolic links inside, never follows them
        return True

    # -- policy ------------------------------------------------------------------------------

    def used_bytes(self) -> int:
        return sum(r["size"] for r in self.recordings())

    def check_quota(self) -> None:
        if self.quota_bytes is None:
            return
        used = self.used_bytes()
        if used >= self.quota_bytes:
            raise QuotaExceeded(
                f"the recordings storage is full ({used} of {self.quota_bytes} bytes used); "
                "an admin must delete recordings before a new one can start"
            )

    def recover(self, node: str | None = None) -> list[str]:
        """At start: mark recordings a dead process left in ``recording`` as
        ``incomplete``; with ``node``, only those that node wrote (several
        nodes may share one directory). Returns their ids. (Recordings left in
        ``processing`` were stopped cleanly: see :meth:`unrendered`.)"""
        marked = []
        for record in self.recordings():
            if node is not None and record.get("node", node) != node:
                continue
            if record["state"] == "recording":
                record["state"] = "incomplete"
                record["ended_at"] = record.get("ended_at") or _last_write(record, self.root)
                paused = sum(end - start for start, end in record.get("pauses", []))
                span = record["ended_at"] - (record.get("started_at") or record["ended_at"])
                record["duration"] = round(max(0.0, span - paused), 3)
                self.save(record)
                marked.append(record["id"])
                logger.warning("recording %s was left unfinished: marked incomplete", record["id"])
        return marked

    def unrendered(self, node: str | None = None) -> list[str]:
        """Recordings (of ``node``) still ``processing``: their composite was
        not finished when the server stopped."""
        return [
            r["id"]
            for r in self.recordings()
            if r["state"] == "processing" and (node is None or r.get("node", node) == node)
        ]

    def untranscribed(self, node: str | None = None) -> list[str]:
        """Recordings (of ``node``) whose transcript is still to be made
        (``pending`` or ``transcribing`` when the server stopped), except
        those still ``processing`` or ``recording``: their turn comes after."""
        return [
            r["id"]
            for r in self.recordings()
            if r["state"] not in ("recording", "processing")
            and isinstance(r.get("transcript"), dict)
            and r["transcript"].get("state") in ("pending", "transcribing")
            and (node is None or r.get("node", node) == node)
        ]

    def purge_expired(self, now: float | None = None) -> list[str]:
        """Delete finished recordings older than the retention period."""
        if self.retention_days is None:
            return []
        limit = (now if now is not None else time.time()) - self.retention_days * 86400
        purged = []
        for record in self.recordings():
            if record["state"] != "recording" and (record.get("started_at") or 0) < limit:
                self.delete(record["id"])
                purged.append(record["id"])
        return purged


def _last_write(record: dict[str, Any], root: Path) -> float:
    directory = root / record["id"]
    times = [p.lstat().st_mtime for p in directory.iterdir() if is_regular_file(p)]
    return max(times, default=record.get("started_at") or time.time())
