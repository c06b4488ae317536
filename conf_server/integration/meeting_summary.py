"""The ``meeting.summary`` webhook: what a chat app posts back into its chat.

:func:`build_summary` is pure: it turns a meeting's report (the one
``GET /api/v1/meetings/{id}/report`` answers), its recordings and the end
of the meeting into the event's ``data``. It is bounded whatever the
meeting's size: attendance gives counts and the first ``MAX_NAMES`` people,
polls only their aggregates (never who voted what), at most ``MAX_POLLS``
polls and ``MAX_RECORDINGS`` recordings.

:class:`SummaryQueue` keeps the meetings whose summary is still to be sent in
the data dir's SQLite file (``meeting_summaries``), so a restart (even
``kill -9``) finds them again, and makes "sent" and "queued for the
endpoints" one transaction, so a summary is queued once per database even
when several processes share it (the rule of when it is sent is in
conf_server/meeting/summary_sender.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .database import Database

#: People named in ``attendance.people`` (the first to join); the counts cover everyone.
MAX_NAMES = 100
MAX_POLLS = 50
MAX_RECORDINGS = 20

#: A recording is done when its state is one of these...
FINAL_RECORDING_STATES = frozenset({"ready", "failed", "incomplete"})
#: ...and its transcript is not still to come.
WAITING_TRANSCRIPT_STATES = frozenset({"pending", "transcribing"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS meeting_summaries (
    meeting_id TEXT PRIMARY KEY,
    meeting TEXT NOT NULL,
    ended_at REAL NOT NULL,
    due_at REAL NOT NULL,
    sent_at REAL,
    event_id TEXT
);
CREATE INDEX IF NOT EXISTS meeting_summaries_pending ON meeting_summaries (sent_at, due_at);
"""


def processing(record: dict[str, Any]) -> bool:
    """Is this recording (a Recording as the REST API shows it) still being
    made, rendered or transcribed?"""
    if record.get("state") not in FINAL_RECORDING_STATES:
        return True
    if record.get("state") != "ready":
        return False  # a failed recording gets no transcript worth waiting for
    transcript = record.get("transcript")
    return isinstance(transcript, dict) and transcript.get("state") in WAITING_TRANSCRIPT_STATES


def _attendance(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One entry per person (visits merged: by chat user id, else by name),
    in the order they first joined; counts over everyone."""
    people: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r.get("joined_at") or 0.0):
        key = f"u:{row['user_id']}" if row.get("user_id") else f"n:{row.get('name')}"
        person = people.get(key)
        if person is None:
            people[key] = {
                "name": row.get("name"),
                "user_id": row.get("user_id"),
                "presence": row.get("presence"),
                "joined_at": row.get("joined_at"),
                "left_at": row.get("left_at"),
                "seconds": float(row.get("seconds") or 0.0),
                "visits": 1,
            }
            continue
        person["visits"] += 1
        person["seconds"] = round(person["seconds"] + float(row.get("seconds") or 0.0), 3)
        left = row.get("left_at")
        if left is not None and (person["left_at"] is None or left > person["left_at"]):
            person["left_at"] = left
    listed = list(people.values())
    return {
        "people": len(listed),
        "visits": len(rows),
        "in_room": sum(1 for p in listed if p["presence"] == "in-room"),
        "remote": sum(1 for p in listed if p["presence"] != "in-room"),
        "listed": min(len(listed), MAX_NAMES),
        "truncated": len(listed) > MAX_NAMES,
        "participants": listed[:MAX_NAMES],
    }


Signer = Callable[[dict[str, Any]], dict[str, Any]]


def _recording(record: dict[str, Any], signed: Signer | None) -> dict[str, Any]:
    transcript = record.get("transcript")
    recording_id = str(record["id"])
    links: dict[str, Any] = {
        "recording": f"/api/v1/recordings/{recording_id}",
        "files": [
            f"/api/v1/recordings/{recording_id}/files/{f['name']}"
            for f in record.get("files", [])
            if isinstance(f, dict) and "name" in f
        ],
        "transcript": transcript.get("url") if isinstance(transcript, dict) else None,
    }
    if signed is not None:
        links["signed"] = signed(record)
    return {
        "id": recording_id,
        "state": record.get("state"),
        "processing": processing(record),
        "started_at": record.get("started_at"),
        "ended_at": record.get("ended_at"),
        "duration": record.get("duration"),
        "composite": (record.get("composite") or {}).get("state"),
        "transcript": None
        if not isinstance(transcript, dict)
        else {
            "state": transcript.get("state"),
            "segments": transcript.get("segments"),
            "language": transcript.get("language"),
        },
        "links": links,
    }


def build_summary(
    report: dict[str, Any],
    recordings: list[dict[str, Any]],
    meeting: dict[str, Any],
    ended_at: float,
    signed: Signer | None = None,
    base_url: str | None = None,
) -> dict[str, Any]:
    """The ``data`` of ``meeting.summary``. ``meeting`` is what ``meeting.ended``
    said (meeting_id, room, title, chat_id, reason); ``signed`` gives a
    recording's signed links where the deployment allows them."""
    attendance = report.get("attendance") or []
    joins = [row["joined_at"] for row in attendance if row.get("joined_at") is not None]
    started_at = min(joins) if joins else report.get("created_at")
    ended = report.get("ended_at") or ended_at
    polls = [p["results"] for p in report.get("polls") or [] if "results" in p]
    still = [r for r in recordings if processing(r)]
    data: dict[str, Any] = {
        "meeting_id": meeting.get("meeting_id") or report.get("meeting_id"),
        "room": meeting.get("room") or report.get("room"),
        "title": meeting.get("title", report.get("title")),
        "chat_id": meeting.get("chat_id", report.get("chat_id")),
        "end_reason": meeting.get("reason") or report.get("end_reason"),
        "started_at": started_at,
        "ended_at": ended,
        "duration": None if started_at is None else round(max(0.0, ended - started_at), 3),
        "attendance": _attendance(attendance),
        "polls": polls[:MAX_POLLS],
        "polls_total": len(polls),
        "decisions": [
            {k: d.get(k) for k in ("id", "text", "by_name", "at")}
            for d in report.get("decisions") or []
        ],
        "recordings": [_recording(r, signed) for r in recordings[:MAX_RECORDINGS]],
        "recordings_total": len(recordings),
        "complete": not still,
        "still_processing": [str(r["id"]) for r in still],
        "base_url": base_url,
        "report_url": f"/api/v1/meetings/{meeting.get('meeting_id')}/report",
    }
    if "questionnaires" in report:
        # Another part of the report (its own aggregates, already free of names
        # where anonymous): passed on as the report has it.
        data["questionnaires"] = report["questionnaires"]
    return data


@dataclass(frozen=True)
class PendingSummary:
    """A meeting that ended and whose summary is not sent yet."""

    meeting_id: str
    #: What ``meeting.ended`` said: meeting_id, room, title, chat_id, reason.
    meeting: dict[str, Any]
    ended_at: float
    #: Sent then at the latest, recordings done or not.
    due_at: float


class SummaryQueue:
    """The ``meeting_summaries`` table (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)

    def add(self, meeting: dict[str, Any], ended_at: float, wait_max: float) -> bool:
        """A meeting ended: its summary is due at ``ended_at + wait_max`` at the
        latest. False if it was known already (a second end changes nothing)."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO meeting_summaries (meeting_id, meeting, ended_at, due_at)"
            " VALUES (?, ?, ?, ?)",
            (meeting["meeting_id"], json.dumps(meeting), ended_at, ended_at + wait_max),
        )
        return cursor.rowcount == 1

    def pending(self, limit: int = 100) -> list[PendingSummary]:
        """Summaries not sent yet, the most overdue first."""
        rows = self._db.all(
            "SELECT meeting_id, meeting, ended_at, due_at FROM meeting_summaries"
            " WHERE sent_at IS NULL ORDER BY due_at LIMIT ?",
            (limit,),
        )
        return [
            PendingSummary(
                row["meeting_id"], json.loads(row["meeting"]), row["ended_at"], row["due_at"]
            )
            for row in rows
        ]

    def claim(self, meeting_id: str, event_id: str) -> bool:
        """Mark the summary sent as ``event_id`` (inside the caller's transaction,
        with its queueing); False if it was sent already."""
        cursor = self._db.execute(
            "UPDATE meeting_summaries SET sent_at = ?, event_id = ?"
            " WHERE meeting_id = ? AND sent_at IS NULL",
            (time.time(), event_id, meeting_id),
        )
        return cursor.rowcount == 1

    def sent(self, meeting_id: str) -> str | None:
        """The event id of the meeting's summary, once sent."""
        row = self._db.one(
            "SELECT event_id FROM meeting_summaries WHERE meeting_id = ? AND sent_at IS NOT NULL",
            (meeting_id,),
        )
        return None if row is None else str(row["event_id"])

    def prune(self, older_than: float) -> int:
        """Forget sent summaries of meetings that ended before ``older_than``."""
        cursor = self._db.execute(
            "DELETE FROM meeting_summaries WHERE sent_at IS NOT NULL AND ended_at < ?",
            (older_than,),
        )
        return int(cursor.rowcount)
