"""Several worker processes (``--workers``) open one new SQLite database at
the same moment: every one of them opens it (switching a new database to WAL
answers "locked" at once to all but one; the opening tries again)."""

from __future__ import annotations

import threading
from pathlib import Path

from conf_server.integration.database import Database


def test_many_opening_one_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    for round_ in range(30):
        path = tmp_path / f"round-{round_}" / "conf.sqlite3"
        path.parent.mkdir()
        errors: list[Exception] = []
        start = threading.Barrier(4)

        def open_it(
            path: Path = path,
            start: threading.Barrier = start,
            errors: list[Exception] = errors,
        ) -> None:
            start.wait()
            try:
                Database(path).close()
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [], f"round {round_}: {errors}"
