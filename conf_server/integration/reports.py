"""Meeting reports: attendance, polls with results, chat transcript, recordings.

The recordings (each with its transcript's state and route) are added by the
caller when the report is asked for, since they move on after the meeting;
:func:`recordings_csv` is their CSV table.

:func:`build_report` is pure: it turns a meeting's state and chat transcript
into the JSON of ``GET /api/v1/meetings/{id}/report``. Anonymous polls appear
with their aggregate results only, never with names. :class:`ReportArchive`
keeps the last report of every meeting in the database, so a report outlives
the meeting state (which is dropped ``empty_meeting_ttl_seconds`` after the
room empties). While a meeting runs its report is kept there too, as a *live*
snapshot (:mod:`conf_server.meeting.live_reports`), so a crash does not lose it:
:func:`interrupted_report` turns such a snapshot into the final report.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from conf_server.domain import PollState
from conf_server.domain.meeting_state import MeetingState
from conf_server.domain.participation_export import participation_report
from conf_server.domain.poll_export import export, results_csv, safe_cell
from conf_server.domain.questionnaire_export import export as export_questionnaire
from conf_server.domain.questionnaire_export import results_csv as questionnaire_table

from .database import Database

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
    # Shaped like the polls' entries: results (free texts with names when
    # named), and who answered what only for named questionnaires.
    questionnaires = [export_questionnaire(item, names) for item in state.questionnaires.launched()]
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
        "questionnaires": questionnaires,
        "chat": chat,
        # Marked by the hosts (``mark_decision``); the meeting.summary lists them.
        "decisions": state.decisions.snapshot(),
        "recordings": [],
        # Only for a meeting where a host turned participation points on.
        **participation_report(state, now),
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


RECORDINGS_HEADER = (
    "recording_id",
    "state",
    "started_at",
    "ended_at",
    "duration",
    "composite_state",
    "transcript_state",
    "transcript_progress",
    "transcript_url",
)


def recordings_csv(recordings: list[dict[str, Any]]) -> str:
    """The report's recordings as CSV, one row each, with the transcript's
    state and route (empty cells for a recording without a transcript)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RECORDINGS_HEADER)
    for recording in recordings:
        transcript = recording.get("transcript") or {}
        composite = recording.get("composite") or {}
        row = [
            recording.get("id"),
            recording.get("state"),
            recording.get("started_at"),
            recording.get("ended_at"),
            recording.get("duration"),
            composite.get("state"),
            transcript.get("state"),
            transcript.get("progress"),
            transcript.get("url"),
        ]
        writer.writerow(
            ["" if v is None else safe_cell(v) if isinstance(v, str) else v for v in row]
        )
    return out.getvalue()


def questionnaires_csv(report: dict[str, Any]) -> str:
    """The report's questionnaire results as CSV (one row per option, rating
    value and free-text answer; never a name). Built from the report, so a
    live and an archived meeting give the same table."""
    return questionnaire_table(entry["results"] for entry in report.get("questionnaires", []))


def polls_csv(state: MeetingState) -> str:
    """Aggregate poll results as CSV (anonymous polls included: no names in it)."""
    return results_csv([p for p in state.polls.polls() if p.state is not PollState.DRAFT])


def interrupted_report(
    report: dict[str, Any], ended_at: float, reason: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A live snapshot made final: the meeting ended at ``ended_at`` for
    ``reason`` (its node died). Returns the report and the attendance rows of
    those who were still in the meeting (now left at ``ended_at``)."""
    final = {**report, "ended": True, "ended_at": ended_at, "end_reason": reason}
    final["attendance"], cut_short = [], []
    for row in report["attendance"]:
        if row["left_at"] is None:
            left_at = max(ended_at, row["joined_at"])
            row = {**row, "left_at": left_at, "seconds": round(left_at - row["joined_at"], 3)}
            cut_short.append(row)
        final["attendance"].append(row)
    return final, cut_short


@dataclass(frozen=True)
class LiveSnapshot:
    """The report of a meeting as it ran, saved by a node that hosted it."""

    meeting_id: str
    report: dict[str, Any]
    polls_csv: str
    #: When the snapshot was saved.
    saved_at: float
    #: The last time a node was known to host the meeting (its end, if that
    #: node died); never before ``saved_at``.
    alive_at: float


@contextmanager
def _transaction(db: Database) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class ReportArchive:
    """The last report of each meeting, kept in the database: final once the
    meeting ended or emptied, or a *live* snapshot while it runs.

    A live snapshot is a ``meeting_reports`` row with a ``live_reports`` row
    beside it (when it was saved, when its node last said the meeting still
    ran). Its chat is kept apart, in ``live_report_chat``, one row per
    message, so that a snapshot writes only the messages that are new rather
    than the whole transcript again."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, report: dict[str, Any], polls_table: str) -> None:
        """Keep the report of a meeting that ended or emptied."""
        meeting_id = report["meeting_id"]
        with _transaction(self._db):
            self._upsert(report, polls_table)
            self._db.execute("DELETE FROM live_reports WHERE meeting_id = ?", (meeting_id,))
            self._db.execute("DELETE FROM live_report_chat WHERE meeting_id = ?", (meeting_id,))

    def save_live(
        self,
        report: dict[str, Any],
        polls_table: str,
        new_chat: list[dict[str, Any]],
        keep_chat: int,
    ) -> None:
        """Keep a snapshot of a running meeting's report (whose ``chat`` is not
        saved: ``new_chat`` are the messages not saved before; the newest
        ``keep_chat`` messages are kept)."""
        meeting_id, now = report["meeting_id"], time.time()
        with _transaction(self._db):
            self._upsert({**report, "chat": []}, polls_table)
            self._db.execute(
                "INSERT INTO live_reports (meeting_id, saved_at, alive_at) VALUES (?, ?, ?)"
                " ON CONFLICT (meeting_id) DO UPDATE SET"
                " saved_at = excluded.saved_at, alive_at = excluded.alive_at",
                (meeting_id, now, now),
            )
            for message in new_chat:
                self._db.execute(
                    "INSERT OR IGNORE INTO live_report_chat (meeting_id, id, message)"
                    " VALUES (?, ?, ?)",
                    (meeting_id, message["id"], json.dumps(message)),
                )
            if new_chat:
                self._db.execute(
                    "DELETE FROM live_report_chat WHERE meeting_id = ? AND id <= ?",
                    (meeting_id, max(m["id"] for m in new_chat) - keep_chat),
                )

    def _upsert(self, report: dict[str, Any], polls_table: str) -> None:
        body = json.dumps({"report": report, "polls_csv": polls_table})
        self._db.execute(
            "INSERT INTO meeting_reports (meeting_id, room, updated_at, report)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (meeting_id) DO UPDATE SET"
            " updated_at = excluded.updated_at, report = excluded.report",
            (report["meeting_id"], report["room"], time.time(), body),
        )

    def touch_live(self, meeting_ids: list[str], now: float) -> None:
        """These meetings still run on this node at ``now``."""
        with _transaction(self._db):
            for meeting_id in meeting_ids:
                self._db.execute(
                    "UPDATE live_reports SET alive_at = ? WHERE meeting_id = ?", (now, meeting_id)
                )

    def live_snapshots(self) -> Iterator[LiveSnapshot]:
        """Every snapshot still live (after a crash: those of the meetings it
        cut off), loaded one at a time (each holds a whole transcript)."""
        rows = self._db.all(
            "SELECT meeting_id, saved_at, alive_at FROM live_reports ORDER BY saved_at"
        )
        for row in rows:
            meeting_id, saved_at = row["meeting_id"], float(row["saved_at"])
            found = self.get(meeting_id)
            if found is None:
                continue
            report, polls_table = found
            alive_at = max(saved_at, float(row["alive_at"]))
            yield LiveSnapshot(meeting_id, report, polls_table, saved_at, alive_at)

    def _live_chat(self, meeting_id: str) -> list[dict[str, Any]]:
        rows = self._db.all(
            "SELECT message FROM live_report_chat WHERE meeting_id = ? ORDER BY id", (meeting_id,)
        )
        return [json.loads(row["message"]) for row in rows]

    def finish(self, snapshot: LiveSnapshot, report: dict[str, Any]) -> bool:
        """Replace ``snapshot`` by the final ``report``, unless another process
        (sharing this database) did so first or the meeting was saved again
        meanwhile; True if this call made it final."""
        meeting_id = snapshot.meeting_id
        with _transaction(self._db):
            claimed = self._db.execute(
                "DELETE FROM live_reports WHERE meeting_id = ? AND saved_at = ?",
                (meeting_id, snapshot.saved_at),
            )
            if claimed.rowcount != 1:
                return False
            self._upsert(report, snapshot.polls_csv)
            self._db.execute("DELETE FROM live_report_chat WHERE meeting_id = ?", (meeting_id,))
        return True

    def get(self, meeting_id: str) -> tuple[dict[str, Any], str] | None:
        """``(report, polls CSV)`` of a meeting, or None."""
        row = self._db.one("SELECT report FROM meeting_reports WHERE meeting_id = ?", (meeting_id,))
        if row is None:
            return None
        body = json.loads(row["report"])
        report = body["report"]
        if self._db.one("SELECT 1 FROM live_reports WHERE meeting_id = ?", (meeting_id,)):
            report["chat"] = self._live_chat(meeting_id)
        return report, body["polls_csv"]
