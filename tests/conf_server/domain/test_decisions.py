"""Decisions marked by hosts: text rules as chat, bounded count, rate limit,
ids never reused, and the state survives the store's round trip."""

from __future__ import annotations

import pytest

from conf_server.domain import InvalidMessage, MessageTooLong, RateLimited
from conf_server.domain.decisions import (
    MAX_DECISIONS,
    MAX_LENGTH,
    RATE_CAPACITY,
    DecisionLog,
    TooManyDecisions,
    UnknownDecision,
)
from conf_server.domain.meeting_state import MeetingState


def test_marked_decisions_are_cleaned_numbered_and_kept_in_order() -> None:
    log = DecisionLog()
    first = log.mark("p1", "Hana", "  Ship on Friday\r\nwith the fix  ", 10.0)
    second = log.mark("p1", "Hana", "Rollback plan: keep v1", 11.0)
    assert first.text == "Ship on Friday\nwith the fix" and first.id == 1
    assert [d["id"] for d in log.snapshot()] == [1, 2]
    assert second.by_name == "Hana" and second.at == 11.0


@pytest.mark.parametrize("text", ["", "   ", "a\u202eb", "x\x00y"])
def test_empty_or_invisible_text_is_refused_as_in_chat(text: str) -> None:
    with pytest.raises(InvalidMessage, match="decision"):
        DecisionLog().mark("p1", "Hana", text, 0.0)


def test_too_long_is_refused_never_cut() -> None:
    log = DecisionLog()
    log.mark("p1", "Hana", "x" * MAX_LENGTH, 0.0)
    with pytest.raises(MessageTooLong):
        log.mark("p2", "Hana", "x" * (MAX_LENGTH + 1), 0.0)
    assert len(log) == 1


def test_a_flood_is_rate_limited_and_a_refused_text_costs_nothing() -> None:
    log = DecisionLog()
    for _ in range(3):
        with pytest.raises(InvalidMessage):
            log.mark("p1", "Hana", " ", 0.0)
    for n in range(RATE_CAPACITY):
        log.mark("p1", "Hana", f"d{n}", 0.0)
    with pytest.raises(RateLimited) as caught:
        log.mark("p1", "Hana", "one more", 0.0)
    assert caught.value.retry_after > 0
    log.mark("p2", "Cora", "someone else may", 0.0)


def test_at_most_max_decisions_and_removing_makes_room() -> None:
    log = DecisionLog()
    for n in range(MAX_DECISIONS):
        log.mark(f"p{n}", "Hana", f"d{n}", float(n))
    with pytest.raises(TooManyDecisions) as caught:
        log.mark("late", "Hana", "one too many", 100.0)
    assert caught.value.code == "too_many_decisions"
    log.remove(1)
    assert log.mark("late", "Hana", "fits now", 100.0).id == MAX_DECISIONS + 1


def test_removing_an_unknown_or_removed_id_is_refused() -> None:
    log = DecisionLog()
    decision = log.mark("p1", "Hana", "d", 0.0)
    log.remove(decision.id)
    with pytest.raises(UnknownDecision) as caught:
        log.remove(decision.id)
    assert caught.value.code == "unknown_decision"
    # Ids are not reused: a late remove of 1 never hits the next decision.
    assert log.mark("p1", "Hana", "next", 20.0).id == 2


def test_decisions_survive_the_meeting_state_round_trip() -> None:
    state = MeetingState(room="r")
    state.decisions.mark("p1", "Hana", "Ship it", 5.0)
    for _ in range(RATE_CAPACITY - 1):
        state.decisions.mark("p1", "Hana", "more", 5.0)
    again = MeetingState.from_dict(state.to_dict())
    assert again.decisions.snapshot() == state.decisions.snapshot()
    with pytest.raises(RateLimited):  # the rate limit travels with the state
        again.decisions.mark("p1", "Hana", "flood", 5.0)
    older = state.to_dict()
    del older["decisions"]  # stored before decisions existed
    assert len(MeetingState.from_dict(older).decisions) == 0
