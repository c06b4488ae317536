"""Questionnaires: questions, answering and editing, anonymity, results, storage."""

from __future__ import annotations

import json

import pytest

from conf_server.domain.errors import (
    AlreadyAnswered,
    InvalidAction,
    NotAMember,
    QuestionnaireClosed,
    QuestionnaireNotOpen,
    UnknownOption,
    UnknownQuestionnaire,
)
from conf_server.domain.meeting_state import MeetingState
from conf_server.domain.questionnaire_book import QuestionnaireBook
from conf_server.domain.questionnaire_export import answers_csv, export, results_csv
from conf_server.domain.questionnaires import (
    MAX_QUESTIONS,
    MAX_TEXT_ANSWER,
    Questionnaire,
    QuestionnaireSpec,
    handle_key,
)

QUESTIONS = [
    {"kind": "single", "prompt": "Which day?", "options": ["Mon", "Tue", "Wed"]},
    {"kind": "multiple", "prompt": "Which snacks?", "options": ["Tea", "Cake", "Fruit"]},
    {"kind": "rating", "prompt": "How was it?"},
    {"kind": "text", "prompt": "Anything else?", "max_length": 20},
]


def spec(anonymous: bool = False, **changes: object) -> QuestionnaireSpec:
    return QuestionnaireSpec.from_dict(
        {"title": "Offsite", "questions": QUESTIONS, "anonymous": anonymous, **changes}
    )


def opened(anonymous: bool = False) -> Questionnaire:
    item = Questionnaire("qn1", spec(anonymous))
    item.launch(10.0)
    return item


FULL = {"q1": "o2", "q2": ["o3", "o1"], "q3": 4, "q4": "  more   cake "}


def test_questions_get_ids_and_cleaned_texts() -> None:
    item = Questionnaire("qn1", spec())
    form = item.describe()
    assert [q["id"] for q in form["questions"]] == ["q1", "q2", "q3", "q4"]
    assert form["questions"][0]["options"] == [
        {"id": "o1", "text": "Mon"},
        {"id": "o2", "text": "Tue"},
        {"id": "o3", "text": "Wed"},
    ]
    assert form["questions"][3]["max_length"] == 20
    assert form["state"] == "draft"


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ([], "1 to 20 questions"),
        ([QUESTIONS[2]] * (MAX_QUESTIONS + 1), "1 to 20 questions"),
        ([{"kind": "poll", "prompt": "x"}], "kind must be"),
        ([{"kind": "single", "prompt": "x", "options": ["a"]}], "2 to 20 options"),
        ([{"kind": "single", "prompt": "x", "options": ["a", "a"]}], "same text"),
        ([{"kind": "rating", "prompt": "x", "options": ["a", "b"]}], "only choice"),
        ([{"kind": "text", "prompt": "x", "max_length": MAX_TEXT_ANSWER + 1}], "max_length"),
        ([{"kind": "text", "prompt": "x", "max_length": True}], "max_length"),
        ([{"kind": "rating", "prompt": "x", "max_length": 5}], "only text"),
        ([{"kind": "rating", "prompt": "   "}], "prompt"),
        ([{"kind": "text", "prompt": "x", "max_length": 500}] * 5, "add up"),
        ("q", "must be a list"),
    ],
)
def test_bad_questionnaires_are_refused(questions: object, message: str) -> None:
    with pytest.raises(InvalidAction, match=message):
        Questionnaire("qn1", QuestionnaireSpec("T", questions))  # type: ignore[arg-type]


def test_a_title_is_required() -> None:
    with pytest.raises(InvalidAction, match="title"):
        Questionnaire("qn1", QuestionnaireSpec("", QUESTIONS))


def test_life_cycle_launched_once() -> None:
    item = Questionnaire("qn1", spec())
    with pytest.raises(QuestionnaireNotOpen):
        item.answer("a", FULL, True)
    item.edit(spec(title="Offsite 2"))
    assert item.title == "Offsite 2"
    item.launch(1.0)
    with pytest.raises(InvalidAction, match="only a draft"):
        item.edit(spec())
    with pytest.raises(InvalidAction, match="already open"):
        item.launch(2.0)
    assert item.close(3.0) is True
    assert item.close(4.0) is False
    with pytest.raises(QuestionnaireClosed):
        item.launch(5.0)
    with pytest.raises(QuestionnaireClosed):
        item.answer("a", FULL, True)


def test_named_answers_are_stored_and_edited() -> None:
    item = opened()
    assert item.answer("a", FULL, True) is None
    assert item.answers_of("a") == {"q1": "o2", "q2": ["o1", "o3"], "q3": 4, "q4": "more cake"}
    item.answer("a", {"q3": 2}, True)  # the edit replaces the whole sheet
    assert item.answers_of("a") == {"q3": 2}
    assert item.respondents == 1
    assert item.has_answered("a") and not item.has_answered("b")


@pytest.mark.parametrize(
    ("answers", "error", "message"),
    [
        ({}, InvalidAction, "at least one"),
        ({"q9": 1}, InvalidAction, "no question q9"),
        ({"q1": "o9"}, UnknownOption, "no option o9"),
        ({"q1": ["o1"]}, InvalidAction, "one option id"),
        ({"q2": []}, InvalidAction, "at least one"),
        ({"q2": ["o1", "o1"]}, InvalidAction, "at most once"),
        ({"q2": ["o1", "o7"]}, UnknownOption, "o7"),
        ({"q3": 6}, InvalidAction, "1 to 5"),
        ({"q3": 0}, InvalidAction, "1 to 5"),
        ({"q3": True}, InvalidAction, "1 to 5"),
        ({"q3": 2.5}, InvalidAction, "1 to 5"),
        ({"q4": "x" * 21}, InvalidAction, "1 to 20 characters"),
        ({"q4": "   "}, InvalidAction, "1 to 20 characters"),
        ({"q4": "bad\u202echar"}, InvalidAction, "character"),
        ({"q4": 5}, InvalidAction, "must be text"),
        ([], InvalidAction, "object"),
    ],
)
def test_bad_answers_change_nothing(answers: object, error: type, message: str) -> None:
    item = opened()
    item.answer("a", {"q3": 3}, True)
    with pytest.raises(error, match=message):
        item.answer("a", answers, True)  # type: ignore[arg-type]
    assert item.answers_of("a") == {"q3": 3}


def test_only_members_answer() -> None:
    with pytest.raises(NotAMember):
        opened().answer("ghost", FULL, False)


def test_results_per_question() -> None:
    item = opened()
    item.answer("a", FULL, True)
    item.answer("b", {"q1": "o2", "q2": ["o1"], "q3": 5, "q4": "=cmd()"}, True)
    item.answer("c", {"q1": "o1", "q3": 5}, True)
    results = item.results(names={"a": "Ada", "b": "Bob"})
    assert results["respondents"] == 3
    q1, q2, q3, q4 = results["questions"]
    assert q1["answered"] == 3
    assert [(o["id"], o["votes"], o["percent"]) for o in q1["options"]] == [
        ("o1", 1, 33.3),
        ("o2", 2, 66.7),
        ("o3", 0, 0.0),
    ]
    assert [o["votes"] for o in q2["options"]] == [2, 0, 1] and q2["answered"] == 2
    assert q3["mean"] == 4.67
    assert [d["count"] for d in q3["distribution"]] == [0, 0, 0, 1, 2]
    assert q4["answers"] == [
        {"text": "more cake", "participant_id": "a", "name": "Ada"},
        {"text": "=cmd()", "participant_id": "b", "name": "Bob"},
    ]
    assert item.results()["questions"][3]["answers"] == [{"text": "more cake"}, {"text": "=cmd()"}]
    assert "answers" not in item.results(texts=False)["questions"][3]
    assert Questionnaire("qn2", spec()).results()["questions"][2]["mean"] is None


def test_anonymous_sheets_are_not_linked_to_people() -> None:
    item = opened(anonymous=True)
    handle_a = item.answer("alice", FULL, True)
    handle_b = item.answer("bob", {"q4": "zebra", "q3": 1}, True, handle="made-up")
    assert handle_a and handle_b and handle_a != handle_b
    # Editing needs the handle; without it the second answer is refused.
    with pytest.raises(AlreadyAnswered):
        item.answer("alice", {"q3": 5}, True)
    with pytest.raises(AlreadyAnswered):
        item.answer("alice", {"q3": 5}, True, handle="guess")
    assert item.answer("alice", {"q3": 5, "q4": "apple"}, True, handle=handle_a) == handle_a
    assert item.respondents == 2
    results = item.results(names={"alice": "Alice", "bob": "Bob"})
    assert results["questions"][2]["mean"] == 3.0
    # Sorted by text, never with a name.
    assert results["questions"][3]["answers"] == [{"text": "apple"}, {"text": "zebra"}]
    with pytest.raises(InvalidAction):
        item.answers_of("alice")
    stored = json.dumps(item.to_dict())
    assert handle_a not in stored and handle_b not in stored
    data = item.to_dict()
    assert data["answered"] == ["alice", "bob"]
    assert set(data["sheets"]) == {handle_key(handle_a), handle_key(handle_b)}
    assert "alice" not in json.dumps(data["sheets"])
    again = Questionnaire.from_dict(json.loads(stored))
    assert again.results() == item.results()
    assert again.answer("bob", {"q3": 2}, True, handle=handle_b) == handle_b


def test_named_round_trip_and_export() -> None:
    item = opened()
    item.answer("a", FULL, True)
    again = Questionnaire.from_dict(json.loads(json.dumps(item.to_dict())))
    assert again.answers_of("a") == item.answers_of("a")
    assert again.describe() == item.describe()
    data = export(item, {"a": "Ada"})
    assert data["answers"] == [
        {"participant_id": "a", "name": "Ada", "answers": item.answers_of("a")}
    ]
    assert "answers" not in export(opened(anonymous=True), {})


def test_csv_tables() -> None:
    item = opened()
    item.answer("a", FULL, True)
    item.answer("b", {"q4": "=cmd()"}, True)
    lines = results_csv([item.results()]).splitlines()
    assert lines[0].startswith("questionnaire_id,title,anonymous,state,respondents")
    assert "qn1,Offsite,no,open,2,q1,single,Which day?,1,o2,Tue,1,100.0," in lines
    assert "qn1,Offsite,no,open,2,q3,rating,How was it?,1,4,,1,100.0,4.0" in lines
    assert "qn1,Offsite,no,open,2,q4,text,Anything else?,2,answer,'=cmd(),,," in lines
    answers = answers_csv([item, opened(anonymous=True)], {"a": "Ada"}).splitlines()
    assert "qn1,Offsite,a,Ada,q2,o1;o3" in answers
    assert "qn1,Offsite,b,,q4,'=cmd()" in answers
    assert len(answers) == 1 + 4 + 1


def test_book_and_meeting_state_round_trip() -> None:
    book = QuestionnaireBook(max_items=2)
    first = book.create(spec())
    book.create(spec())
    with pytest.raises(InvalidAction, match="at most 2"):
        book.create(spec())
    with pytest.raises(UnknownQuestionnaire):
        book.get("qn9")
    book.delete("qn2")
    assert book.create(spec()).id == "qn3"
    first.launch(1.0)
    with pytest.raises(InvalidAction, match="only a draft"):
        book.delete("qn1")
    item, handle = book.answer("qn1", "a", {"q3": 1}, True)
    assert item is first and handle is None
    assert [q.id for q in book.launched()] == ["qn1"]
    assert [q.id for q in book.close_all(2.0)] == ["qn1"]
    state = MeetingState("room", questionnaires=book)
    again = MeetingState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again.questionnaires.to_dict() == book.to_dict()
    old = state.to_dict()
    del old["questionnaires"]  # a state stored before questionnaires existed
    assert MeetingState.from_dict(old).questionnaires.items() == []
