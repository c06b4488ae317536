"""MeetingState's JSON form keeps everything the features read back."""

from __future__ import annotations

import json

from conf_server.domain.meeting_state import MeetingState, Member


def test_every_member_field_survives_a_save_and_load() -> None:
    state = MeetingState(room="r")
    state.members["p_1"] = Member("p_1", "Ada", "client:x", 1.0)
    state.members["p_2"] = Member(
        "p_2", "Bo", "user:7", 2.0, left_at=9.5, mode="in-room", zone="Room 1", user_id="u7"
    )
    again = MeetingState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again.members == state.members
    assert list(again.members) == ["p_1", "p_2"]  # join order: the attendance report's order


def test_a_saved_member_is_a_copy_not_the_live_object() -> None:
    member = Member("p_1", "Ada", "client:x", 1.0)
    saved = member.to_dict()
    member.left_at = 5.0
    assert saved["left_at"] is None
