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
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from .errors import QuotaExceeded

logger = logging.getLogger(__name__)

METADATA = "recording.json"
STATES = ("recording", "processing", "ready", "incomplete", "failed")
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
FILE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")


def new_recording_id() -> str:
    """An unguessable id (128 random bits)."""
    return secrets.token_urlsafe(16)


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

    # -- paths (the only place that builds them) ---------------------------------------

    def directory(self, recording_id: str) -> Path | None:
        """The directory of a recording, or None for an id that cannot be one."""
        if not ID_PATTERN.fullmatch(recording_id):
            return None
        return self.root / recording_id

    def file_path(self, recording_id: str, name: str) -> Path | None:
        """One file of a recording, if the id and name are valid and it is listed."""
        meta = self.get(recording_id)
        if meta is None or not FILE_PATTERN.fullmatch(name) or name == METADATA:
            return None
        if name not in {f["name"] for f in meta["files"]}:
            return None
        directory = self.directory(recording_id)
        assert directory is not None
        path = directory / name
        return path if path.is_file() else None

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
        directory = self.directory(record["id"])
        assert directory is not None
        stored = {k: v for k, v in record.items() if k not in ("files", "size")}
        write_json_atomically(directory / METADATA, stored)

    def _load(self, directory: Path) -> dict[str, Any] | None:
        try:
            with open(directory / METADATA, encoding="utf-8") as fh:
                record: dict[str, Any] = json.load(fh)
        except (OSError, ValueError):
            return None
        files = []
        for path in sorted(directory.iterdir()):
            if path.name != METADATA and not path.name.startswith(".") and path.is_file():
                files.append({"name": path.name, "size": path.stat().st_size})
        record["files"] = files
        record["size"] = sum(f["size"] for f in files)
        return record

    def get(self, recording_id: str) -> dict[str, Any] | None:
        """The metadata of one recording with its files and size, or None."""
        directory = self.directory(recording_id)
        if directory is None or not directory.is_dir():
            return None
        return self._load(directory)

    def recordings(self) -> list[dict[str, Any]]:
        """Every recording, newest first."""
        if not self.root.is_dir():
            return []
        records = []
        for directory in self.root.iterdir():
            if directory.is_dir() and ID_PATTERN.fullmatch(directory.name):
                record = self._load(directory)
                if record is not None:
                    records.append(record)
        records.sort(key=lambda r: r.get("started_at") or 0, reverse=True)
        return records

    def delete(self, recording_id: str) -> bool:
        directory = self.directory(recording_id)
        if directory is None or not directory.is_dir():
            return False
        shutil.rmtree(directory)
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
    times = [p.stat().st_mtime for p in directory.iterdir() if p.is_file()]
    return max(times, default=record.get("started_at") or time.time())
