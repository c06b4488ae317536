"""The meeting's poll book, and results export as JSON and CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest

from conf_server.domain import InvalidAction, PollBook, PollKind, PollSpec, PollState, UnknownPoll
from conf_server.domain.poll_export import BALLOTS_HEADER, RESULTS_HEADER, safe_cell


def test_polls_are_prepared_as_drafts_and_launched_by_id():
    book = PollBook()
    first = book.create(PollSpec("Lunch?", ["Pizza", "Salad"]))
    second = book.create(PollSpec("Venue?", ["Here", "There"], PollKind.MULTIPLE))
    assert (first.id, second.id) == ("p1", "p2")
    assert [p.state for p in book.polls()] == [PollState.DRAFT, PollState.DRAFT]
    book.launch("p2", now=10.0)
    assert book.polls(PollState.OPEN) == [second]
    book.close("p2", now=20.0)
    assert second.state is PollState.CLOSED


def test_unknown_poll_id_is_a_clear_error():
    with pytest.raises(UnknownPoll) as info:
        PollBook().launch("p9", now=1.0)
    assert info.value.code == "unknown_poll"
    assert info.value.status == 404


def test_only_drafts_can_be_deleted_and_ids_are_not_reused():
    book = PollBook()
    book.create(PollSpec("A?", ["a", "b"]))
    book.create(PollSpec("B?", ["a", "b"]))
    book.delete("p1")
    book.launch("p2", now=1.0)
    with pytest.raises(InvalidAction):
        book.delete("p2")
    assert book.create(PollSpec("C?", ["a", "b"])).id == "p3"


def test_the_book_is_bounded():
    book = PollBook(max_polls=2)
    book.create(PollSpec("A?", ["a", "b"]))
    book.create(PollSpec("B?", ["a", "b"]))
    with pytest.raises(InvalidAction):
        book.create(PollSpec("C?", ["a", "b"]))


def test_editing_a_draft_through_the_book():
    book = PollBook()
    book.create(PollSpec("A?", ["a", "b"]))
    poll = book.edit(
        "p1", PollSpec("A, really?", ["a", "b", "c"], PollKind.QUIZ, correct_option_ids=["o3"])
    )
    assert poll.kind is PollKind.QUIZ and poll.correct_option_ids == {"o3"}


def test_close_all_closes_only_open_polls():
    book = PollBook()
    book.create(PollSpec("A?", ["a", "b"]))
    book.create(PollSpec("B?", ["a", "b"]))
    book.launch("p2", now=1.0)
    assert [p.id for p in book.close_all(now=2.0)] == ["p2"]
    assert book.get("p1").state is PollState.DRAFT


def test_quiz_scores_add_up_over_quizzes():
    book = PollBook()
    book.create(PollSpec("1+1?", ["1", "2"], PollKind.QUIZ, correct_option_ids=["o2"]))
    book.create(PollSpec("2+2?", ["4", "5"], PollKind.QUIZ, correct_option_ids=["o1"]))
    book.create(PollSpec("Fun?", ["yes", "no"]))
    for poll_id in ("p1", "p2", "p3"):
        book.launch(poll_id, now=1.0)
    book.vote("p1", "ann", ["o2"], is_member=True)
    book.vote("p2", "ann", ["o1"], is_member=True)
    book.vote("p1", "bob", ["o1"], is_member=True)
    book.vote("p2", "bob", ["o1"], is_member=True)
    book.vote("p3", "cat", ["o1"], is_member=True)
    assert book.quiz_scores() == {"ann": 2, "bob": 1}


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_results_csv_has_a_header_and_one_row_per_option():
    book = PollBook()
    book.create(PollSpec("Lunch?", ["Pizza", "Salad, green"]))
    book.create(PollSpec("Draft?", ["a", "b"]))
    book.launch("p1", now=1.0)
    book.vote("p1", "ann", ["o2"], is_member=True)
    book.vote("p1", "bob", ["o2"], is_member=True)
    book.vote("p1", "cat", ["o1"], is_member=True)
    rows = _rows(book.results_csv())
    assert rows[0] == list(RESULTS_HEADER)
    assert rows[1:] == [
        ["p1", "Lunch?", "single", "no", "open", "3", "o1", "Pizza", "1", "33.3", ""],
        ["p1", "Lunch?", "single", "no", "open", "3", "o2", "Salad, green", "2", "66.7", ""],
    ]


def test_results_csv_marks_quiz_answers():
    book = PollBook()
    book.create(PollSpec("2+2?", ["3", "4"], PollKind.QUIZ, correct_option_ids=["o2"]))
    book.launch("p1", now=1.0)
    rows = _rows(book.results_csv())
    assert [row[-1] for row in rows[1:]] == ["no", "yes"]


def test_ballots_csv_lists_named_votes_and_skips_anonymous_polls():
    book = PollBook()
    book.create(PollSpec("2+2?", ["3", "4"], PollKind.QUIZ, correct_option_ids=["o2"]))
    book.create(PollSpec("Secret?", ["yes", "no"], anonymous=True))
    book.launch("p1", now=1.0)
    book.launch("p2", now=1.0)
    book.vote("p1", "ann", ["o2"], is_member=True)
    book.vote("p1", "bob", ["o1"], is_member=True)
    book.vote("p2", "ann", ["o1"], is_member=True)
    rows = _rows(book.ballots_csv(names={"ann": "Ann", "bob": "=HYPERLINK()"}))
    assert rows[0] == list(BALLOTS_HEADER)
    assert rows[1:] == [
        ["p1", "2+2?", "ann", "Ann", "o2", "4", "1"],
        ["p1", "2+2?", "bob", "'=HYPERLINK()", "o1", "3", "0"],
    ]


def test_spreadsheet_formulas_in_typed_text_are_defused():
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("@cmd") == "'@cmd"
    assert safe_cell("Pizza") == "Pizza"


def test_export_is_json_able_and_anonymous_polls_export_only_aggregates():
    book = PollBook()
    book.create(PollSpec("Named?", ["a", "b"]))
    book.create(PollSpec("Secret?", ["a", "b"], anonymous=True))
    book.launch("p1", now=1.0)
    book.launch("p2", now=1.0)
    book.vote("p1", "ann", ["o1"], is_member=True)
    book.vote("p2", "ann", ["o2"], is_member=True)
    exported = json.loads(json.dumps(book.export()))
    named, secret = exported["polls"]
    assert named["ballots"] == {"ann": ["o1"]}
    assert "ballots" not in secret and "ann" not in json.dumps(secret)
    assert secret["results"]["options"][1]["votes"] == 1


def test_poll_book_survives_a_json_round_trip():
    book = PollBook()
    book.create(PollSpec("A?", ["a", "b"]))
    book.create(PollSpec("B?", ["a", "b"], anonymous=True))
    book.delete("p1")
    book.launch("p2", now=1.0)
    book.vote("p2", "ann", ["o1"], is_member=True)
    again = PollBook.from_dict(json.loads(json.dumps(book.to_dict())))
    assert again.to_dict() == book.to_dict()
    assert again.create(PollSpec("C?", ["a", "b"])).id == "p3"
