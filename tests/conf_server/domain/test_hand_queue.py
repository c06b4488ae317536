"""The raised-hand queue: server order, ties, rapid raise/lower, next, leaving."""

from __future__ import annotations

import json

from conf_server.domain import HandQueue


def test_hands_are_ordered_by_server_timestamp():
    queue = HandQueue()
    queue.raise_hand("b", at=2.0)
    queue.raise_hand("a", at=1.0)
    queue.raise_hand("c", at=3.0)
    assert queue.order() == ["a", "b", "c"]


def test_equal_timestamps_keep_the_order_the_server_saw():
    queue = HandQueue()
    for pid in ["x", "y", "z", "w"]:
        queue.raise_hand(pid, at=10.0)
    assert queue.order() == ["x", "y", "z", "w"]
    assert [queue.position(pid) for pid in ["x", "y", "z", "w"]] == [1, 2, 3, 4]


def test_raise_returns_the_one_based_position():
    queue = HandQueue()
    assert queue.raise_hand("a", at=1.0) == 1
    assert queue.raise_hand("b", at=2.0) == 2


def test_raising_twice_keeps_the_original_position():
    queue = HandQueue()
    queue.raise_hand("a", at=1.0)
    queue.raise_hand("b", at=2.0)
    assert queue.raise_hand("a", at=3.0) == 1
    assert queue.snapshot()[0] == {"participant_id": "a", "position": 1, "raised_at": 1.0}


def test_raise_after_lower_goes_to_the_back():
    queue = HandQueue()
    queue.raise_hand("a", at=1.0)
    queue.raise_hand("b", at=2.0)
    queue.lower("a")
    queue.raise_hand("a", at=3.0)
    assert queue.order() == ["b", "a"]


def test_rapid_raise_lower_ends_in_the_state_of_the_last_action():
    queue = HandQueue()
    queue.raise_hand("other", at=0.0)
    for step in range(100):
        queue.raise_hand("a", at=1.0 + step * 0.001)
        queue.lower("a")
    assert "a" not in queue
    queue.raise_hand("a", at=2.0)
    queue.lower("a")
    queue.raise_hand("a", at=2.0)
    assert queue.order() == ["other", "a"]


def test_rapid_raise_lower_with_the_same_timestamp_still_goes_to_the_back():
    queue = HandQueue()
    queue.raise_hand("a", at=5.0)
    queue.raise_hand("b", at=5.0)
    queue.lower("a")
    queue.raise_hand("a", at=5.0)
    assert queue.order() == ["b", "a"]


def test_a_raise_stamped_earlier_but_inserted_later_gets_its_fair_place():
    queue = HandQueue()
    queue.raise_hand("late_insert", at=100.0)
    queue.raise_hand("early_stamp", at=99.0)
    assert queue.order() == ["early_stamp", "late_insert"]


def test_lower_reports_whether_the_hand_was_up():
    queue = HandQueue()
    queue.raise_hand("a", at=1.0)
    assert queue.lower("a") is True
    assert queue.lower("a") is False
    assert queue.position("a") is None


def test_lower_all_returns_everyone_in_order_and_empties_the_queue():
    queue = HandQueue()
    queue.raise_hand("b", at=2.0)
    queue.raise_hand("a", at=1.0)
    assert queue.lower_all() == ["a", "b"]
    assert len(queue) == 0
    assert queue.snapshot() == []


def test_next_pops_the_first_in_line():
    queue = HandQueue()
    queue.raise_hand("a", at=1.0)
    queue.raise_hand("b", at=2.0)
    assert queue.next() == "a"
    assert queue.order() == ["b"]
    assert queue.position("b") == 1
    assert queue.next() == "b"
    assert queue.next() is None


def test_leaving_lowers_the_hand_and_moves_the_others_up():
    queue = HandQueue()
    queue.raise_hand("a", at=1.0)
    queue.raise_hand("b", at=2.0)
    queue.raise_hand("c", at=3.0)
    assert queue.participant_left("b") is True
    assert queue.snapshot() == [
        {"participant_id": "a", "position": 1, "raised_at": 1.0},
        {"participant_id": "c", "position": 2, "raised_at": 3.0},
    ]


def test_hand_queue_survives_a_json_round_trip_with_ties_and_order():
    queue = HandQueue()
    queue.raise_hand("a", at=1.0)
    queue.raise_hand("b", at=1.0)
    queue.raise_hand("c", at=0.5)
    again = HandQueue.from_dict(json.loads(json.dumps(queue.to_dict())))
    assert again.order() == queue.order() == ["c", "a", "b"]
    again.raise_hand("d", at=1.0)
    assert again.order() == ["c", "a", "b", "d"]


def test_empty_hand_queue_round_trips():
    again = HandQueue.from_dict(json.loads(json.dumps(HandQueue().to_dict())))
    again.raise_hand("a", at=-5.0)
    assert again.order() == ["a"]
