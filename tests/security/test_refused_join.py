"""A refused join claims nothing (issue 13, point 17).

Before, ``join`` placed the room on this node before admission, so a join
refused for a wrong passcode or an ended meeting left the room claimed in the
room directory (``GET /api/v1/rooms/{room}`` named a node with nobody in the
room) until the node's sweep gave it up about 30 s later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from api_client import call
from server_keys import ADMIN_KEY
from signaling_client import SignalingClient

MakeMember = Callable[..., Awaitable[SignalingClient]]

JOIN = {"protocol": 1, "name": "Mallory", "receive": False}


async def room_entry(server: Any, room: str) -> dict[str, Any]:
    status, body = await call(server, "GET", f"/rooms/{room}", key=ADMIN_KEY)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


async def test_a_join_with_a_wrong_passcode_claims_nothing(
    server: Any, make_member: MakeMember
) -> None:
    status, created = await call(
        server, "POST", "/meetings", key=ADMIN_KEY, json={"room": "pc-room", "passcode": "4711"}
    )
    assert status == 201, created
    assert (await room_entry(server, "pc-room"))["node"] is None
    mallory = await make_member("Mallory")
    for passcode in (None, "0000", "1234"):
        payload = {**JOIN, "room": "pc-room", **({"passcode": passcode} if passcode else {})}
        assert (await mallory.error_of("join", payload))["code"] == "wrong_passcode"
    entry = await room_entry(server, "pc-room")
    assert entry["node"] is None and entry["participants"] == []
    assert await server.service.cluster.placements() == {}
    # The right passcode still places the room here, as before.
    await mallory.join("pc-room", passcode="4711")
    assert (await room_entry(server, "pc-room"))["node"] == server.service.node.name


async def test_a_join_to_an_ended_meeting_claims_nothing(
    server: Any, make_member: MakeMember
) -> None:
    host = await make_member("Hana", room="ended-room")
    await host.call("end_meeting")
    await host.disconnected.wait()
    await host.wait_for(lambda: not server.service.participants("ended-room"))
    # The last one out released the room.
    for _ in range(50):
        if (await room_entry(server, "ended-room"))["node"] is None:
            break
        await asyncio.sleep(0.1)
    assert (await room_entry(server, "ended-room"))["node"] is None
    late = await make_member("Late")
    error = await late.error_of("join", {**JOIN, "room": "ended-room"})
    assert error["code"] == "meeting_ended"
    entry = await room_entry(server, "ended-room")
    assert entry["node"] is None and entry["participants"] == []
    assert "ended-room" not in await server.service.cluster.placements()


async def test_a_refused_join_keeps_a_room_that_is_in_use(
    server: Any, make_member: MakeMember
) -> None:
    host = await make_member("Hana", room="busy-room")
    await host.call("configure_meeting", {"passcode": "4711"})
    mallory = await make_member("Mallory")
    error = await mallory.error_of("join", {**JOIN, "room": "busy-room", "passcode": "1"})
    assert error["code"] == "wrong_passcode"
    entry = await room_entry(server, "busy-room")
    assert entry["node"] == server.service.node.name
    assert [p["name"] for p in entry["participants"]] == ["Hana"]
