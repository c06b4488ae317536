"""Password-protected share links of one recording, and their audit trail.

A share lives in ``.shares.json`` in the recording's own directory, beside
``recording.json``: deleting the recording (by an admin or the retention
period) deletes its shares with it, and on storage that every node mounts,
any node finds them. It is a file of its own because the composite and
transcript workers own ``recording.json`` while they run (they hold it in
memory for minutes and write it back whole); a share created meanwhile would
be lost. A hidden name keeps it out of the recording's files, so no download
link can ever serve the password hashes.

File::

    {"shares": [{"id", "created_at", "created_by", "expires_at", "note",
                 "revoked_at", "password": {scrypt parameters, salt, key}}],
     "audit": [{"at", "event", "share_id", "address", "detail"}],
     "audit_dropped": <entries dropped to keep the bound>}

Share ids are ``<recording id>.<22 random url-safe characters>`` (128 random
bits): the part before the dot says which recording to look in (one file
read, whichever node holds it), the random part is what nobody can guess.
Writes are read-modify-write under an ``flock`` on ``.shares.lock`` and
land atomically (``recording.library.write_json_atomically``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conf_server.errors import ConfServerError, NotFound
from recording.library import ID_PATTERN, is_real_directory, write_json_atomically

#: The pseudo-file a host's signed token names to manage a recording's shares
#: (conf_server/integration/download_links.py). ``@`` cannot begin a file
#: name, so such a token never opens a file, nor a file's token this.
SHARES_SCOPE = "@shares"
SHARES_FILE = ".shares.json"
LOCK_FILE = ".shares.lock"
SHARE_ID = re.compile(rf"\A({ID_PATTERN.pattern})\.([A-Za-z0-9_-]{{22}})\Z")
#: Audit entries kept per recording; older ones are dropped (and counted).
MAX_AUDIT_ENTRIES = 500
#: Shares per recording, revoked and expired ones included (they are audit too).
MAX_SHARES = 50
#: A note of the creator (whom the link is for) is at most this long.
MAX_NOTE_CHARS = 200
#: A file larger than this is not read (a full one is about 100 KiB).
MAX_FILE_BYTES = 4 * 1024 * 1024
EVENTS = ("created", "revoked", "opened", "wrong_password", "served")


class ShareGone(ConfServerError):
    """``share_expired`` or ``share_revoked``: the link no longer opens anything."""

    code = "share_expired"
    status = 410


class TooManyShares(ConfServerError):
    code = "too_many_shares"
    status = 409


def shares_route(recording_id: str) -> str:
    """The path of a recording's share links."""
    return f"/api/v1/recordings/{recording_id}/shares"


def recording_of(share_id: str) -> str | None:
    """The recording id a share id names, or None if it cannot be a share id."""
    match = SHARE_ID.fullmatch(share_id)
    return match[1] if match else None


def public_share(share: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """What the API says about a share: never its password hash."""
    return {
        "share_id": share["id"],
        "created_at": share["created_at"],
        "created_by": share["created_by"],
        "expires_at": share["expires_at"],
        "note": share.get("note"),
        "revoked_at": share.get("revoked_at"),
        "state": share_state(share, now),
        "url": f"/s/{share['id']}",
    }


def share_state(share: dict[str, Any], now: float | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if share.get("revoked_at") is not None:
        return "revoked"
    if share["expires_at"] <= (time.time() if now is None else now):
        return "expired"
    return "active"


def ensure_active(share: dict[str, Any]) -> None:
    """Raise :class:`ShareGone` unless ``share`` opens its recording now."""
    state = share_state(share)
    if state == "revoked":
        raise ShareGone("this link was revoked", "share_revoked")
    if state == "expired":
        raise ShareGone("this link has expired", "share_expired")


class ShareBook:
    """The shares of one recording (its directory on disk)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.recording_id = directory.name

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if not is_real_directory(self.directory):
            raise NotFound("no recording with that id")
        try:
            fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except FileNotFoundError:
            raise NotFound("no recording with that id") from None  # deleted meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def read(self) -> dict[str, Any]:
        """The file's content; empty if there is none (or it cannot be used)."""
        empty: dict[str, Any] = {"shares": [], "audit": [], "audit_dropped": 0}
        try:
            fd = os.open(self.directory / SHARES_FILE, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return empty
        with os.fdopen(fd, "rb") as fh:
            try:
                data = json.loads(fh.read(MAX_FILE_BYTES + 1))
            except ValueError:
                return empty
        if not isinstance(data, dict) or not isinstance(data.get("shares"), list):
            return empty
        data.setdefault("audit", [])
        data.setdefault("audit_dropped", 0)
        return data

    def _write(self, data: dict[str, Any]) -> None:
        dropped = len(data["audit"]) - MAX_AUDIT_ENTRIES
        if dropped > 0:
            data["audit"] = data["audit"][dropped:]
            data["audit_dropped"] = int(data.get("audit_dropped", 0)) + dropped
        write_json_atomically(self.directory / SHARES_FILE, data)

    @staticmethod
    def _entry(
        event: str, share_id: str, address: str | None, detail: str | None
    ) -> dict[str, Any]:
        return {
            "at": round(time.time(), 3),
            "event": event,
            "share_id": share_id,
            "address": address,
            "detail": detail,
        }

    def create(
        self,
        password_hash: dict[str, Any],
        expires_at: float,
        created_by: str,
        note: str | None,
        address: str | None,
    ) -> dict[str, Any]:
        """A new share (raises :class:`TooManyShares` past :data:`MAX_SHARES`)."""
        with self._locked():
            data = self.read()
            if len(data["shares"]) >= MAX_SHARES:
                raise TooManyShares(
                    f"this recording has {MAX_SHARES} share links already; revoked and "
                    "expired ones stay as its audit trail until the recording is deleted"
                )
            share: dict[str, Any] = {
                "id": f"{self.recording_id}.{secrets.token_urlsafe(16)}",
                "created_at": round(time.time(), 3),
                "created_by": created_by,
                "expires_at": expires_at,
                "note": note,
                "revoked_at": None,
                "password": password_hash,
            }
            data["shares"].append(share)
            data["audit"].append(self._entry("created", share["id"], address, created_by))
            self._write(data)
        return share

    def find(self, share_id: str) -> dict[str, Any]:
        """The share called ``share_id``; :class:`NotFound` (``share_not_found``) if none."""
        for share in self.read()["shares"]:
            if isinstance(share, dict) and share.get("id") == share_id:
                found: dict[str, Any] = share
                return found
        raise NotFound("no share link with that id", "share_not_found")

    def shares(self) -> list[dict[str, Any]]:
        return [s for s in self.read()["shares"] if isinstance(s, dict) and "id" in s]

    def revoke(self, share_id: str, by: str, address: str | None) -> dict[str, Any]:
        """Revoke a share (again: no change); returns it."""
        with self._locked():
            data = self.read()
            share: dict[str, Any] | None = next(
                (s for s in data["shares"] if isinstance(s, dict) and s.get("id") == share_id), None
            )
            if share is None:
                raise NotFound("no share link with that id", "share_not_found")
            if share.get("revoked_at") is None:
                share["revoked_at"] = round(time.time(), 3)
                data["audit"].append(self._entry("revoked", share_id, address, by))
                self._write(data)
        return share

    def audit(
        self, event: str, share_id: str, address: str | None, detail: str | None = None
    ) -> None:
        """Add one entry to the audit trail (the recording may be gone: then nothing)."""
        assert event in EVENTS
        with contextlib.suppress(NotFound), self._locked():
            data = self.read()
            data["audit"].append(self._entry(event, share_id, address, detail))
            self._write(data)
