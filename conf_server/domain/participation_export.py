"""Participation points in the meeting's report: the JSON part and its CSV table.

:func:`participation_report` is the ``participation`` field of
``GET /api/v1/meetings/{id}/report`` (only for a meeting where a host turned
points on); :func:`participation_csv` builds ``table=participation`` from a
report, so a live and an archived meeting give the same table.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from .participation import CATEGORIES
from .participation_scores import public_row, scores
from .poll_export import safe_cell

if TYPE_CHECKING:
    from .meeting_state import MeetingState

PARTICIPATION_HEADER = (
    "rank",
    "participant_id",
    "name",
    "user_id",
    "points",
    *(f"{category}_{part}" for category in CATEGORIES for part in ("count", "points")),
)


def participation_report(state: MeetingState, now: float) -> dict[str, Any]:
    """``{"participation": {"enabled", "visibility", "weights", "people"}}``
    with every person's points (see :func:`scores`), or ``{}`` when points
    were never on in this meeting."""
    record = state.participation
    if not record.was_enabled:
        return {}
    people = [public_row(row) for row in scores(state, now)]
    return {"participation": {**record.setting(), "people": people}}


def participation_csv(report: dict[str, Any]) -> str:
    """One row per person: rank, points and each category's count and points
    (just the header when the meeting had no points)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PARTICIPATION_HEADER)
    for person in (report.get("participation") or {}).get("people", []):
        row: list[Any] = [
            person["rank"],
            person["participant_id"],
            safe_cell(person["name"]),
            "" if person["user_id"] is None else safe_cell(person["user_id"]),
            person["points"],
        ]
        for category in CATEGORIES:
            item = person["breakdown"][category]
            row += [item["count"], item["points"]]
        writer.writerow(row)
    return out.getvalue()
