"""Polls: kinds, life cycle, vote validation, changes, anonymity, quiz scores."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conf_server.domain import (
    AlreadyVoted,
    InvalidAction,
    NotAMember,
    Poll,
    PollClosed,
    PollKind,
    PollNotOpen,
    PollSpec,
    PollState,
    UnknownOption,
)


def open_poll(kind: PollKind = PollKind.SINGLE, anonymous: bool = False, **kw: Any) -> Poll:
    poll = Poll("p1", PollSpec("Lunch?", ["Pizza", "Salad", "Soup"], kind, anonymous, **kw))
    poll.launch(now=1.0)
    return poll


def test_options_get_ids_in_the_given_order():
    poll = Poll("p1", PollSpec("  Lunch?  ", ["Pizza", " Salad "]))
    assert [(o.id, o.text) for o in poll.options] == [("o1", "Pizza"), ("o2", "Salad")]
    assert poll.question == "Lunch?"
    assert poll.state is PollState.DRAFT


@pytest.mark.parametrize(
    "options", [["only one"], [], [f"o{i}" for i in range(21)], ["same", "same"], ["a", " "]]
)
def test_bad_option_lists_are_refused(options):
    with pytest.raises(InvalidAction):
        Poll("p1", PollSpec("Q?", options))


def test_empty_question_is_refused():
    with pytest.raises(InvalidAction):
        Poll("p1", PollSpec("   ", ["a", "b"]))


@pytest.mark.parametrize("invisible", ["\u200d", " \u200c \u200d "])
def test_questions_and_options_of_only_joiners_are_refused(invisible):
    with pytest.raises(InvalidAction):
        Poll("p1", PollSpec(invisible, ["a", "b"]))
    with pytest.raises(InvalidAction):
        Poll("p1", PollSpec("Q?", ["a", invisible]))


def test_control_characters_in_a_question_are_refused():
    with pytest.raises(InvalidAction, match="U\\+202E"):
        Poll("p1", PollSpec("Q\u202e?", ["a", "b"]))


def test_draft_to_open_to_closed():
    poll = Poll("p1", PollSpec("Q?", ["a", "b"]))
    poll.launch(now=5.0)
    assert (poll.state, poll.launched_at) == (PollState.OPEN, 5.0)
    assert poll.close(now=9.0) is True
    assert (poll.state, poll.closed_at) == (PollState.CLOSED, 9.0)
    assert poll.close(now=10.0) is False
    assert poll.closed_at == 9.0


def test_closed_poll_cannot_be_launched_again_and_draft_cannot_be_closed():
    poll = Poll("p1", PollSpec("Q?", ["a", "b"]))
    with pytest.raises(InvalidAction):
        poll.close(now=1.0)
    poll.launch(now=1.0)
    with pytest.raises(InvalidAction):
        poll.launch(now=2.0)
    poll.close(now=3.0)
    with pytest.raises(PollClosed):
        poll.launch(now=4.0)


def test_only_a_draft_can_be_edited():
    poll = Poll("p1", PollSpec("Q?", ["a", "b"]))
    poll.edit(PollSpec("New?", ["x", "y", "z"], PollKind.MULTIPLE))
    assert poll.question == "New?" and poll.kind is PollKind.MULTIPLE and len(poll.options) == 3
    poll.launch(now=1.0)
    with pytest.raises(InvalidAction):
        poll.edit(PollSpec("Again?", ["x", "y"]))


def test_single_choice_counts_one_vote_per_voter():
    poll = open_poll()
    poll.vote("ann", ["o1"], is_member=True)
    poll.vote("bob", ["o2"], is_member=True)
    poll.vote("cat", ["o1"], is_member=True)
    assert poll.tally() == {"o1": 2, "o2": 1, "o3": 0}
    assert poll.voter_count == 3


def test_single_choice_needs_exactly_one_option():
    poll = open_poll()
    for choice in ([], ["o1", "o2"]):
        with pytest.raises(InvalidAction):
            poll.vote("ann", choice, is_member=True)
    assert poll.tally() == {"o1": 0, "o2": 0, "o3": 0}


def test_multiple_choice_needs_at_least_one_option():
    poll = open_poll(PollKind.MULTIPLE)
    with pytest.raises(InvalidAction):
        poll.vote("ann", [], is_member=True)
    poll.vote("ann", ["o1", "o3"], is_member=True)
    poll.vote("bob", ["o3"], is_member=True)
    assert poll.tally() == {"o1": 1, "o2": 0, "o3": 2}
    assert poll.voter_count == 2


def test_choosing_an_option_twice_in_one_ballot_is_refused():
    poll = open_poll(PollKind.MULTIPLE)
    with pytest.raises(InvalidAction):
        poll.vote("ann", ["o1", "o1"], is_member=True)
    assert poll.voter_count == 0


def test_a_bare_string_is_not_a_list_of_options():
    poll = open_poll()
    with pytest.raises(InvalidAction):
        poll.vote("ann", "o1", is_member=True)


def test_changing_a_vote_before_close_replaces_it():
    poll = open_poll(PollKind.MULTIPLE)
    poll.vote("ann", ["o1", "o2"], is_member=True)
    poll.vote("ann", ["o3"], is_member=True)
    assert poll.tally() == {"o1": 0, "o2": 0, "o3": 1}
    assert poll.voter_count == 1
    assert poll.ballot_of("ann") == ["o3"]


def test_vote_before_launch_is_rejected():
    poll = Poll("p1", PollSpec("Q?", ["a", "b"]))
    with pytest.raises(PollNotOpen) as info:
        poll.vote("ann", ["o1"], is_member=True)
    assert info.value.code == "poll_not_open"


def test_vote_after_close_is_rejected_and_tally_unchanged():
    poll = open_poll()
    poll.vote("ann", ["o1"], is_member=True)
    poll.close(now=2.0)
    before = poll.tally()
    with pytest.raises(PollClosed) as info:
        poll.vote("bob", ["o2"], is_member=True)
    with pytest.raises(PollClosed):
        poll.vote("ann", ["o2"], is_member=True)
    assert info.value.code == "poll_closed"
    assert poll.tally() == before
    assert poll.voter_count == 1


def test_vote_for_unknown_option_is_rejected_and_tally_unchanged():
    poll = open_poll(PollKind.MULTIPLE)
    poll.vote("ann", ["o1"], is_member=True)
    before = poll.tally()
    with pytest.raises(UnknownOption) as info:
        poll.vote("ann", ["o2", "o9"], is_member=True)
    assert info.value.code == "unknown_option"
    assert "o9" in info.value.message
    assert poll.tally() == before
    assert poll.ballot_of("ann") == ["o1"]


def test_vote_from_non_member_is_rejected_and_tally_unchanged():
    poll = open_poll()
    with pytest.raises(NotAMember) as info:
        poll.vote("outsider", ["o1"], is_member=False)
    assert info.value.code == "not_a_member"
    assert poll.tally() == {"o1": 0, "o2": 0, "o3": 0}
    assert not poll.has_voted("outsider")


def test_200_voters_tally_equals_unique_voters():
    poll = open_poll()
    for i in range(200):
        poll.vote(f"v{i}", [f"o{i % 3 + 1}"], is_member=True)
    for i in range(0, 200, 2):  # half of them change their mind
        poll.vote(f"v{i}", ["o1"], is_member=True)
    assert poll.voter_count == 200
    assert sum(poll.tally().values()) == 200
    assert poll.results()["voters"] == 200


def test_200_voters_in_an_anonymous_poll_tally_equals_unique_voters():
    poll = open_poll(anonymous=True)
    for i in range(200):
        poll.vote(f"v{i}", [f"o{i % 3 + 1}"], is_member=True)
        with pytest.raises(AlreadyVoted):
            poll.vote(f"v{i}", ["o1"], is_member=True)
    assert poll.voter_count == 200
    assert sum(poll.tally().values()) == 200


def test_second_vote_in_anonymous_poll_is_rejected():
    poll = open_poll(anonymous=True)
    poll.vote("ann", ["o1"], is_member=True)
    with pytest.raises(AlreadyVoted) as info:
        poll.vote("ann", ["o2"], is_member=True)
    assert info.value.code == "already_voted"
    assert poll.tally() == {"o1": 1, "o2": 0, "o3": 0}
    assert poll.has_voted("ann")


def test_anonymous_poll_cannot_say_what_someone_chose():
    poll = open_poll(anonymous=True)
    poll.vote("ann", ["o1"], is_member=True)
    with pytest.raises(InvalidAction):
        poll.ballot_of("ann")


def _walk(obj: Any, seen: set[int]) -> list[Any]:
    """Every object reachable from ``obj`` through containers and instance dicts."""
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    found = [obj]
    children: list[Any] = []
    if isinstance(obj, dict):
        children = [*obj.keys(), *obj.values()]
    elif isinstance(obj, list | tuple | set | frozenset):
        children = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = list(vars(obj).values())
    elif hasattr(obj, "__slots__"):
        children = [getattr(obj, s) for s in obj.__slots__ if hasattr(obj, s)]
    for child in children:
        found += _walk(child, seen)
    return found


def _assert_no_voter_choice_link(root: Any, voters: set[str]) -> None:
    """Voter ids may appear only in collections made of voter ids alone (the "has
    voted" mark): never as dict keys or values, never beside anything else, never
    inside another string."""
    for obj in _walk(root, set()):
        if isinstance(obj, str):
            assert obj in voters or not any(v in obj for v in voters), f"voter inside {obj!r}"
        elif isinstance(obj, dict):
            flat = [*obj.keys(), *obj.values()]
            assert not any(x in voters for x in flat if isinstance(x, str)), f"voter in {obj!r}"
        elif isinstance(obj, list | tuple | set | frozenset):
            strings = [x for x in obj if isinstance(x, str)]
            if voters & set(strings):
                assert all(x in voters for x in obj), f"voter beside other data in {obj!r}"


def test_anonymous_poll_keeps_no_voter_to_choice_mapping_anywhere():
    poll = open_poll(PollKind.MULTIPLE, anonymous=True)
    voters = {f"voter-{i:02d}" for i in range(20)}
    for i, voter in enumerate(sorted(voters)):
        poll.vote(voter, [f"o{i % 3 + 1}"] + (["o3"] if i % 3 == 0 else []), is_member=True)
    state = poll.to_dict()
    _assert_no_voter_choice_link(state, voters)
    _assert_no_voter_choice_link(poll, voters)
    assert state["voted"] == sorted(voters)
    assert "ballots" not in state
    assert poll._ballots == {}
    _assert_no_voter_choice_link(Poll.from_dict(json.loads(json.dumps(state))), voters)


def test_the_anonymity_check_does_find_a_named_poll_mapping():
    poll = open_poll()
    poll.vote("voter-1", ["o1"], is_member=True)
    with pytest.raises(AssertionError):
        _assert_no_voter_choice_link(poll.to_dict(), {"voter-1"})
    with pytest.raises(AssertionError):
        _assert_no_voter_choice_link(poll, {"voter-1"})


def test_anonymous_quiz_is_refused():
    with pytest.raises(InvalidAction, match="anonymous"):
        Poll("p1", PollSpec("2+2?", ["3", "4"], PollKind.QUIZ, True, correct_option_ids=["o2"]))


def test_quiz_needs_known_correct_options_and_only_quizzes_have_them():
    with pytest.raises(InvalidAction):
        Poll("p1", PollSpec("2+2?", ["3", "4"], PollKind.QUIZ))
    with pytest.raises(InvalidAction):
        Poll("p1", PollSpec("2+2?", ["3", "4"], PollKind.QUIZ, correct_option_ids=["o7"]))
    with pytest.raises(InvalidAction):
        Poll("p1", PollSpec("2+2?", ["3", "4"], PollKind.SINGLE, correct_option_ids=["o2"]))


def test_quiz_scores_one_point_for_the_right_answer():
    poll = open_poll(PollKind.QUIZ, correct_option_ids=["o2"])
    poll.vote("ann", ["o2"], is_member=True)
    poll.vote("bob", ["o1"], is_member=True)
    with pytest.raises(InvalidAction):
        poll.vote("cat", ["o1", "o2"], is_member=True)
    assert poll.scores() == {"ann": 1, "bob": 0}


def test_quiz_with_several_correct_options_needs_the_exact_set():
    poll = open_poll(PollKind.QUIZ, correct_option_ids=["o1", "o3"])
    poll.vote("ann", ["o3", "o1"], is_member=True)
    poll.vote("bob", ["o1"], is_member=True)
    poll.vote("cat", ["o1", "o2", "o3"], is_member=True)
    assert poll.scores() == {"ann": 1, "bob": 0, "cat": 0}


def test_only_a_quiz_has_scores():
    with pytest.raises(InvalidAction):
        open_poll().scores()


def test_results_are_aggregate_with_percent_of_voters():
    poll = open_poll(PollKind.MULTIPLE)
    poll.vote("ann", ["o1", "o2"], is_member=True)
    poll.vote("bob", ["o1"], is_member=True)
    results = poll.results()
    assert results["voters"] == 2
    assert results["options"] == [
        {"id": "o1", "text": "Pizza", "votes": 2, "percent": 100.0},
        {"id": "o2", "text": "Salad", "votes": 1, "percent": 50.0},
        {"id": "o3", "text": "Soup", "votes": 0, "percent": 0.0},
    ]
    assert "ann" not in json.dumps(results)


def test_quiz_correct_options_are_hidden_until_close():
    poll = open_poll(PollKind.QUIZ, correct_option_ids=["o2"])
    assert "correct_option_ids" not in poll.describe()
    assert "correct" not in poll.results()["options"][0]
    assert poll.results(reveal_correct=True)["options"][1]["correct"] is True
    poll.close(now=2.0)
    assert poll.describe()["correct_option_ids"] == ["o2"]
    assert [o["correct"] for o in poll.results()["options"]] == [False, True, False]


def test_results_can_be_shared_once_launched():
    poll = Poll("p1", PollSpec("Q?", ["a", "b"]))
    with pytest.raises(InvalidAction):
        poll.share_results()
    poll.launch(now=1.0)
    poll.share_results()
    assert poll.describe()["results_shared"] is True


@pytest.mark.parametrize("anonymous", [False, True])
def test_poll_survives_a_json_round_trip(anonymous):
    poll = open_poll(PollKind.MULTIPLE, anonymous=anonymous)
    poll.vote("ann", ["o1", "o2"], is_member=True)
    poll.vote("bob", ["o2"], is_member=True)
    poll.share_results()
    again = Poll.from_dict(json.loads(json.dumps(poll.to_dict())))
    assert again.to_dict() == poll.to_dict()
    assert again.tally() == {"o1": 1, "o2": 2, "o3": 0}
    assert again.has_voted("bob") and not again.has_voted("cat")
    if anonymous:
        with pytest.raises(AlreadyVoted):
            again.vote("ann", ["o3"], is_member=True)
    else:
        again.vote("ann", ["o3"], is_member=True)
        assert again.tally() == {"o1": 0, "o2": 1, "o3": 1}


def test_anonymous_state_with_ballots_is_refused_on_load():
    poll = open_poll(anonymous=True)
    state = poll.to_dict() | {"ballots": {"ann": ["o1"]}}
    with pytest.raises(ValueError):
        Poll.from_dict(state)
