"""Socket.IO: a client emitting an event named like a lifecycle event
("connect", "disconnect") gets unknown_event and stays what it was."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

MakeMember = Callable[..., Awaitable[Any]]


@pytest.mark.parametrize("event", ["disconnect", "connect"])
async def test_reserved_event_names_are_unknown_events(make_member: MakeMember, event: str) -> None:
    ada = await make_member("Ada", room="reserved")
    bob = await make_member("Bob", room="reserved")
    for payload in ({}, "client disconnect", "transport close"):
        ack = await bob.sio.call(event, payload, timeout=5)
        assert ack["ok"] is False and ack["error"]["code"] == "unknown_event"
    # Bob is still a member: nobody was told he left, and he still acts as one.
    await bob.call("raise_hand")
    hands = await ada.wait_event("hands_changed", lambda d: len(d["hands"]) == 1)
    assert hands["hands"][0]["participant_id"] == bob.participant_id
    assert not ada.of("participant_left")
