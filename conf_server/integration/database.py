"""The deployment's small durable database: one SQLite file under the data dir.

It holds what must survive a restart and is not meeting state: API keys (hashed),
webhook endpoints and the webhook delivery queue, meeting reports (final, and
live snapshots of running meetings). SQLite comes with Python, needs
no server and survives ``kill -9`` (WAL journal, each write committed). Calls are
short and synchronous; they run on the event loop on purpose (a few hundred
microseconds, fewer moving parts than a thread pool).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from conf_server.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    created_at REAL NOT NULL,
    deleted_at REAL
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    last_status INTEGER,
    attempt_log TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    last_attempt_at REAL,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_endpoint_due
    ON webhook_deliveries (endpoint_id, status, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_endpoint_log ON webhook_deliveries (endpoint_id, id);
CREATE TABLE IF NOT EXISTS meeting_reports (
    meeting_id TEXT PRIMARY KEY,
    room TEXT NOT NULL,
    updated_at REAL NOT NULL,
    report TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS live_reports (
    meeting_id TEXT PRIMARY KEY,
    saved_at REAL NOT NULL,
    alive_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS live_report_chat (
    meeting_id TEXT NOT NULL,
    id INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (meeting_id, id)
);
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


#: How long opening keeps trying while another process sets the database up.
OPEN_RETRY_SECONDS = 5.0


class DatabaseUnusable(ConfigError):
    """The database file cannot be opened or is not an SQLite database: the
    server cannot start (``conf-server`` prints the message, no traceback)."""

    code = "database_unusable"


def _unusable(path: Path, exc: BaseException) -> str:
    if isinstance(exc, (OSError, sqlite3.OperationalError)):
        return f"cannot open the database {path}: {exc}"
    return (
        f"the database {path} is damaged or not an SQLite file ({exc}); restore it from "
        "a backup, or move it away to start with an empty one (API keys, webhook "
        "endpoints and archived reports made through the server are then lost)"
    )


class Database:
    """One SQLite connection for the process (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        try:
            self._open(path)
        except (sqlite3.DatabaseError, OSError) as exc:
            if getattr(self, "_db", None) is not None:
                self._db.close()
            raise DatabaseUnusable(_unusable(path, exc)) from exc

    def _open(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        # Several worker processes open one new database at once: switching
        # it to WAL answers "locked" at once (SQLite's busy timeout does not
        # cover it), so the set-up is tried again for a few seconds.
        deadline = time.monotonic() + OPEN_RETRY_SECONDS
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, params)

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self._db.execute(sql, params).fetchall())

    def setting(self, name: str, make: Any) -> str:
        """A value kept across restarts, made by ``make()`` the first time."""
        row = self.one("SELECT value FROM settings WHERE name = ?", (name,))
        if row is not None:
            return str(row["value"])
        value = str(make())
        self.execute("INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)", (name, value))
        row = self.one("SELECT value FROM settings WHERE name = ?", (name,))
        assert row is not None
        return str(row["value"])

    def close(self) -> None:
        self._db.close()
