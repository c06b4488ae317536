"""Participation points: the setting, the counts and the scores (pure, no I/O)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conf_server.domain import PollKind, PollSpec
from conf_server.domain.errors import InvalidParticipation
from conf_server.domain.meeting_state import MeetingState, Member
from conf_server.domain.participation import Participation, Visibility, Weights
from conf_server.domain.participation_export import participation_csv, participation_report
from conf_server.domain.participation_scores import scores

T0 = 1_000_020.0  # 20 s into a clock minute


def _join(state: MeetingState, pid: str, name: str, identity: str, at: float, **kw: Any) -> None:
    state.members[pid] = Member(pid, name, identity, at, **kw)


def _row(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(row for row in rows if row["name"] == name)


def _counts(row: dict[str, Any]) -> dict[str, int]:
    return {category: item["count"] for category, item in row["breakdown"].items()}


def _launched(state: MeetingState, spec: PollSpec) -> str:
    poll = state.polls.create(spec)
    state.polls.launch(poll.id, T0)
    return poll.id


def test_default_weights_are_the_documented_ones() -> None:
    assert Weights().to_dict() == {
        "attendance": 1,
        "votes": 2,
        "quiz": 5,
        "called_on": 3,
        "chat": 1,
        "chat_per_minute": 3,
    }


def test_points_are_counts_times_weights() -> None:
    state = MeetingState("r")
    _join(state, "a", "Ada", "client:a", T0)
    _join(state, "b", "Bob", "client:b", T0, left_at=T0 + 90)
    named = _launched(state, PollSpec("Lunch?", ["yes", "no"]))
    quiz = _launched(state, PollSpec("2+2?", ["4", "5"], PollKind.QUIZ, correct_option_ids=["o1"]))
    state.polls.vote(named, "a", ["o1"], True)
    state.polls.vote(named, "b", ["o2"], True)
    state.polls.vote(quiz, "a", ["o1"], True)  # right
    state.polls.vote(quiz, "b", ["o2"], True)  # wrong
    state.participation.note_call("client:b")
    state.participation.note_call("client:b")
    state.participation.note_chat("client:a", T0)
    rows = scores(state, T0 + 600)
    ada, bob = _row(rows, "Ada"), _row(rows, "Bob")
    assert _counts(ada) == {"attendance": 10, "votes": 2, "quiz": 1, "called_on": 0, "chat": 1}
    assert ada["points"] == 10 * 1 + 2 * 2 + 1 * 5 + 1 * 1
    assert _counts(bob) == {"attendance": 1, "votes": 2, "quiz": 0, "called_on": 2, "chat": 0}
    assert bob["points"] == 1 + 2 * 2 + 2 * 3
    assert [row["rank"] for row in rows] == [1, 2]

    state.participation.configure(True, weights={"attendance": 0, "called_on": 10})
    rows = scores(state, T0 + 600)
    assert _row(rows, "Bob")["points"] == 2 * 2 + 2 * 10
    assert _row(rows, "Bob")["breakdown"]["called_on"] == {"count": 2, "points": 20}


def test_anonymous_polls_never_count() -> None:
    state = MeetingState("r")
    _join(state, "a", "Ada", "client:a", T0)
    secret = _launched(state, PollSpec("Secret?", ["yes", "no"], anonymous=True))
    state.polls.vote(secret, "a", ["o1"], True)
    assert _counts(scores(state, T0)[0])["votes"] == 0
    assert scores(state, T0)[0]["points"] == 0


def test_chat_counts_at_most_the_cap_per_minute() -> None:
    record = Participation()
    for second in range(10):  # ten messages within one clock minute
        record.note_chat("client:a", T0 + second)
    assert record.chat["client:a"].counted == 3
    record.note_chat("client:a", T0 + 60)  # the next minute counts again
    assert record.chat["client:a"].counted == 4
    record.configure(True, weights={"chat_per_minute": 0})
    record.note_chat("client:a", T0 + 120)
    assert record.chat["client:a"].counted == 4


def test_someone_who_rejoins_is_one_person() -> None:
    state = MeetingState("r")
    _join(state, "a1", "Ada", "client:a", T0, left_at=T0 + 120)
    poll = _launched(state, PollSpec("Lunch?", ["yes", "no"]))
    state.polls.vote(poll, "a1", ["o1"], True)
    _join(state, "a2", "Ada L.", "client:a", T0 + 300)
    state.polls.vote(poll, "a2", ["o2"], True)  # the same poll again, new id
    _join(state, "a3", "Ada L.", "client:a", T0 + 330, left_at=T0 + 400)  # a second tab
    rows = scores(state, T0 + 480)
    assert len(rows) == 1
    (ada,) = rows
    assert ada["participant_id"] == "a3" and ada["name"] == "Ada L."
    # 2 minutes, then 3 minutes (the overlapping tab counted once).
    assert _counts(ada)["attendance"] == 5
    assert _counts(ada)["votes"] == 1


def test_room_devices_get_no_row() -> None:
    state = MeetingState("r")
    _join(state, "d", "Room 1", "client:d", T0, mode="room", zone="Room 1")
    _join(state, "a", "Ada", "client:a", T0)
    assert [row["name"] for row in scores(state, T0 + 60)] == ["Ada"]


def test_equal_points_share_a_rank() -> None:
    state = MeetingState("r")
    for pid, name in (("a", "Ada"), ("b", "Bob"), ("c", "Cy")):
        _join(state, pid, name, f"client:{pid}", T0)
    state.participation.note_call("client:c")
    rows = scores(state, T0 + 30)
    assert [(row["name"], row["rank"]) for row in rows] == [("Cy", 1), ("Ada", 2), ("Bob", 2)]


@pytest.mark.parametrize(
    ("visibility", "weights"),
    [
        ("all", None),
        (None, {"attendance": -1}),
        (None, {"attendance": 101}),
        (None, {"chat_per_minute": 61}),
        (None, {"votes": True}),
        (None, {"votes": 1.5}),
        (None, {"bonus": 1}),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    visibility: str | None, weights: dict[str, Any] | None
) -> None:
    record = Participation()
    with pytest.raises(InvalidParticipation) as caught:
        record.configure(True, visibility, weights)
    assert caught.value.code == "invalid_participation"
    assert record == Participation()


def test_the_state_round_trips_through_json() -> None:
    state = MeetingState("r")
    _join(state, "a", "Ada", "client:a", T0)
    state.participation.configure(True, "everyone", {"chat": 2})
    state.participation.note_call("client:a")
    state.participation.note_chat("client:a", T0)
    again = MeetingState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again.participation == state.participation
    assert again.participation.visibility is Visibility.EVERYONE
    assert scores(again, T0 + 60) == scores(state, T0 + 60)
    # A state stored before participation points existed.
    old = state.to_dict()
    del old["participation"]
    assert MeetingState.from_dict(old).participation == Participation()


def test_the_report_has_points_only_when_they_were_on() -> None:
    state = MeetingState("r")
    _join(state, "a", "Ada", "client:a", T0, user_id="u-1")
    assert participation_report(state, T0) == {}
    assert participation_csv({}).splitlines() == [participation_csv({}).splitlines()[0]]
    state.participation.configure(True)
    state.participation.configure(False)  # was on: the report keeps the points
    report = participation_report(state, T0 + 120)
    assert report["participation"]["enabled"] is False
    (ada,) = report["participation"]["people"]
    assert ada["points"] == 2
    lines = participation_csv(report).splitlines()
    assert lines[0].startswith("rank,participant_id,name,user_id,points,attendance_count")
    assert lines[1] == "1,a,Ada,u-1,2,2,2,0,0,0,0,0,0,0,0"
