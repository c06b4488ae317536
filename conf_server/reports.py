"""Meeting reports: attendance, polls with results, chat transcript, recordings.

:func:`build_report` is pure: it turns a meeting's state and chat transcript
into the JSON of ``GET /api/v1/meetings/{id}/report``. Anonymous polls appear
with their aggregate results only, never with names. :class:`ReportArchive`
keeps the last report of every meeting in the database, so a report outlives
the meeting state (which is dropped ``empty_meeting_ttl_seconds`` after the
room empties).
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from .database import Database
from .domain import PollState
from .domain.poll_export import export, results_csv, safe_cell
from .meeting_state import MeetingState

ATTENDANCE_HEADER = (
    "participant_id",
    "name",
    "user_id",
    "presence",
    "mode",
    "zone",
    "joined_at",
    "left_at",
    "seconds",
)


def build_report(
    state: MeetingState, chat: list[dict[str, Any]], now: float | None = None
) -> dict[str, Any]:
    """The report of one meeting (see the module docstring)."""
    now = time.time() if now is None else now
    names = {pid: member.name for pid, member in state.members.items()}
    attendance = []
    for member in state.members.values():
        end = member.left_at if member.left_at is not None else now
        attendance.append(
            {
                "participant_id": member.participant_id,
                "name": member.name,
                "user_id": member.user_id,
                "presence": "in-room" if member.zone else "remote",
                "mode": member.mode,
                "zone": member.zone,
                "joined_at": member.joined_at,
                "left_at": member.left_at,
                "seconds": round(max(0.0, end - member.joined_at), 3),
            }
        )
    polls = []
    for poll in state.polls.polls():
        if poll.state is PollState.DRAFT:
            continue
        item = export(poll)
        entry: dict[str, Any] = {"results": item["results"]}
        if "ballots" in item:
            entry["ballots"] = [
                {"participant_id": pid, "name": names.get(pid, pid), "option_ids": choice}
                for pid, choice in item["ballots"].items()
            ]
        if "scores" in item:
            entry["scores"] = [
                {"participant_id": pid, "name": names.get(pid, pid), "score": score}
                for pid, score in item["scores"].items()
            ]
        polls.append(entry)
    return {
        "meeting_id": state.meeting_id,
        "room": state.room,
        "title": state.title,
        "chat_id": state.chat_id,
        "created_at": state.created_at,
        "ended": state.ended,
        "generated_at": now,
        "attendance": attendance,
        "polls": polls,
        "chat": chat,
        "recordings": [],
    }


def attendance_csv(report: dict[str, Any]) -> str:
    """Attendance as CSV, one row per visit."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ATTENDANCE_HEADER)
    for row in report["attendance"]:
        writer.writerow(
            [
                safe_cell(str(row[column])) if isinstance(row[column], str) else row[column]
                for column in ATTENDANCE_HEADER
            ]
        )
    return out.getvalue()


def polls_csv(state: MeetingState) -> str:
    """Aggregate poll results as CSV (anonymous polls included: no names in it)."""
    return results_csv([p for p in state.polls.polls() if p.state is not PollState.DRAFT])


class ReportArchive:
    """The last report of each meeting, kept in the database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, report: dict[str, Any], polls_table: str) -> None:
        body = json.dumps({"report": report, "polls_csv": polls_table})
        self._db.execute(
            "INSERT INTO meeting_reports (meeting_id, room, updated_at, report)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (meeting_id) DO UPDATE SET"
            " updated_at = excluded.updated_at, report = excluded.report",
            (report["meeting_id"], report["room"], time.time(), body),
        )

    def get(self, meeting_id: str) -> tuple[dict[str, Any], str] | None:
        """``(report, polls CSV)`` of a meeting, or None."""
        row = self._db.one("SELECT report FROM meeting_reports WHERE meeting_id = ?", (meeting_id,))
        if row is None:
            return None
        body = json.loads(row["report"])
        return body["report"], body["polls_csv"]
