"""Questionnaire results for download: JSON-able dicts and CSV text.

Two CSV tables, each with one header row:

- results (:func:`results_csv`): built from result dicts
  (:meth:`Questionnaire.results`, or a report's ``questionnaires`` entries), so
  a live meeting and an archived report give the same table. One row per
  option of a choice question, per rating value (1-5, with the mean), and per
  free-text answer (the text only, never a name);
- answers (:func:`answers_csv`): one row per person and question of every
  *named* questionnaire; anonymous ones contribute nothing.

Typed text goes through :func:`~conf_server.domain.poll_export.safe_cell`
(CSV injection), as in the polls' tables.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from .poll_export import safe_cell
from .questionnaires import Questionnaire

RESULTS_HEADER = (
    "questionnaire_id",
    "title",
    "anonymous",
    "state",
    "respondents",
    "question_id",
    "kind",
    "prompt",
    "answered",
    "item",
    "text",
    "count",
    "percent",
    "mean",
)
ANSWERS_HEADER = ("questionnaire_id", "title", "participant_id", "name", "question_id", "answer")


def export(item: Questionnaire, names: Mapping[str, str]) -> dict[str, Any]:
    """Everything a host may download about one questionnaire: the results
    (free texts with names when named) and, when named, ``answers``
    ``[{participant_id, name, answers}]``; anonymous: the aggregate only."""
    data: dict[str, Any] = {"results": item.results(names=names)}
    if not item.anonymous:
        data["answers"] = [
            {"participant_id": pid, "name": names.get(pid, pid), "answers": sheet}
            for pid, sheet in item.sheets().items()
        ]
    return data


def _question_rows(question: dict[str, Any]) -> list[tuple[Any, ...]]:
    """``(item, text, count, percent, mean)`` rows of one question's results."""
    if "options" in question:
        return [
            (o["id"], safe_cell(o["text"]), o["votes"], o["percent"], "")
            for o in question["options"]
        ]
    if "distribution" in question:
        mean = "" if question["mean"] is None else question["mean"]
        return [(d["value"], "", d["count"], d["percent"], mean) for d in question["distribution"]]
    return [("answer", safe_cell(a["text"]), "", "", "") for a in question.get("answers", [])]


def results_csv(results: Iterable[dict[str, Any]]) -> str:
    """Result dicts as CSV text with :data:`RESULTS_HEADER`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULTS_HEADER)
    for result in results:
        head = (
            result["questionnaire_id"],
            safe_cell(result["title"]),
            "yes" if result["anonymous"] else "no",
            result["state"],
            result["respondents"],
        )
        for question in result["questions"]:
            about = (
                question["question_id"],
                question["kind"],
                safe_cell(question["prompt"]),
                question["answered"],
            )
            for row in _question_rows(question):
                writer.writerow((*head, *about, *row))
    return out.getvalue()


def answers_csv(items: Iterable[Questionnaire], names: Mapping[str, str]) -> str:
    """Who answered what in the named questionnaires among ``items``, with
    :data:`ANSWERS_HEADER`; several options are joined with ``;``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ANSWERS_HEADER)
    for item in items:
        if item.anonymous:
            continue
        for pid, sheet in item.sheets().items():
            for question_id, value in sheet.items():
                text = ";".join(value) if isinstance(value, list) else str(value)
                writer.writerow(
                    (
                        item.id,
                        safe_cell(item.title),
                        pid,
                        safe_cell(names.get(pid, "")),
                        question_id,
                        safe_cell(text),
                    )
                )
    return out.getvalue()
