"""Poll results for download: a JSON-able dict and CSV text.

Two CSV tables, each with one header row so several polls concatenate cleanly:

- results (:func:`results_csv`): one row per option of every poll, the aggregate
  only; fine for anonymous polls;
- ballots (:func:`ballots_csv`): one row per voter of every *named* poll, with the
  options chosen and, for a quiz, the score. Anonymous polls contribute no rows:
  there is nothing to write.

Text that people typed (questions, options, names) is written with a leading ``'``
when it starts with ``= + - @``, tab or CR, so a spreadsheet shows it as text
instead of running it as a formula (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from .polls import Poll, PollKind

RESULTS_HEADER = (
    "poll_id",
    "question",
    "kind",
    "anonymous",
    "state",
    "voters",
    "option_id",
    "option",
    "votes",
    "percent",
    "correct",
)
BALLOTS_HEADER = ("poll_id", "question", "voter_id", "name", "option_ids", "options", "score")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """``text`` made harmless for spreadsheets (see the module docstring)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def export(poll: Poll) -> dict[str, Any]:
    """Everything the host may download about one poll, JSON-able: the aggregate
    results (correct options marked), plus ``ballots`` ``{voter_id: [option ids]}``
    for a named poll and ``scores`` for a quiz. An anonymous poll exports only the
    aggregate."""
    data: dict[str, Any] = {"results": poll.results(reveal_correct=True)}
    if not poll.anonymous:
        data["ballots"] = {
            voter: ballot
            for voter in poll.voters()
            if (ballot := poll.ballot_of(voter)) is not None
        }
    if poll.kind is PollKind.QUIZ:
        data["scores"] = poll.scores()
    return data


def results_csv(polls: Iterable[Poll]) -> str:
    """Aggregate results of ``polls`` as CSV text with :data:`RESULTS_HEADER`.
    ``correct`` is ``yes``/``no`` for a quiz and empty otherwise."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULTS_HEADER)
    for poll in polls:
        results = poll.results(reveal_correct=True)
        for option in results["options"]:
            correct = option.get("correct")
            writer.writerow(
                (
                    poll.id,
                    safe_cell(poll.question),
                    poll.kind.value,
                    "yes" if poll.anonymous else "no",
                    poll.state.value,
                    results["voters"],
                    option["id"],
                    safe_cell(option["text"]),
                    option["votes"],
                    option["percent"],
                    "" if correct is None else ("yes" if correct else "no"),
                )
            )
    return out.getvalue()


def ballots_csv(polls: Iterable[Poll], names: Mapping[str, str] | None = None) -> str:
    """Who chose what in the named polls among ``polls``, as CSV text with
    :data:`BALLOTS_HEADER`. ``names`` maps voter ids to display names (empty when
    unknown); several options are joined with ``;``. ``score`` is empty except for
    a quiz."""
    names = names or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BALLOTS_HEADER)
    for poll in polls:
        if poll.anonymous:
            continue
        texts = {option.id: option.text for option in poll.options}
        scores = poll.scores() if poll.kind is PollKind.QUIZ else {}
        for voter in poll.voters():
            ballot = poll.ballot_of(voter) or []
            writer.writerow(
                (
                    poll.id,
                    safe_cell(poll.question),
                    voter,
                    safe_cell(names.get(voter, "")),
                    ";".join(ballot),
                    safe_cell(";".join(texts[o] for o in ballot)),
                    scores.get(voter, ""),
                )
            )
    return out.getvalue()
