"""Socket.IO room membership: a socket hears a room's events only while its
participant is in the room (issue 13, point 1, "invisible listener").

Every path that takes a participant out (leave, disconnect, host removal,
ban, grace expiry, end of meeting, lobby denial, resume on a new socket, a
room move) must also take its socket out of the room's broadcast group, so a
socket that stays connected hears nothing more: not in this meeting, and not
in a later meeting of the same room. Each test checks both what the client
receives and the server's broadcast group itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from server_keys import ADMIN_KEY
from signaling_client import SignalingClient, barrier

from conf_server import Settings
from conf_server.cluster.cluster import NodeInfo
from signaling.server import room_group

MakeMember = Callable[..., Awaitable[SignalingClient]]

#: What a room tells its members (the leaks this file looks for).
ROOM_EVENTS = frozenset(
    {
        "participant_joined",
        "participant_left",
        "participant_updated",
        "chat_message",
        "hands_changed",
        "reaction",
        "poll_changed",
        "meeting_updated",
        "spotlight_changed",
        "active_speaker",
        "lobby_changed",
        "meeting_ended",
    }
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Short grace and a short life for ended meetings, so a later meeting of
    # the same room can start within the test.
    return Settings(
        data_dir=tmp_path / "data",
        ice_addresses=("127.0.0.1",),
        reconnect_grace_seconds=1.0,
        empty_meeting_ttl_seconds=0.5,
        admin_api_key=ADMIN_KEY,
    )


def group(server: Any, room: str) -> set[str]:
    """Socket ids in the room's Socket.IO broadcast group on the server."""
    sio = server.service.events._server
    return {sid for sid, _ in sio.manager.get_participants("/", room_group(room))}


def roster_sids(server: Any, room: str) -> set[str]:
    return {p.sid for p in server.service.participants(room) if p.sid is not None}


def assert_group_is_the_roster(server: Any, room: str) -> None:
    assert group(server, room) == roster_sids(server, room)


async def room_activity(actor: SignalingClient, witness: SignalingClient | None = None) -> None:
    """Chat, hands, a poll, lock and passcode changes, a spotlight: each one
    broadcast to the room. ``witness`` (a member) has heard all of it after."""
    await actor.call("chat_send", {"text": "only for members"})
    await actor.call("raise_hand")
    await actor.call("react", {"emoji": "👍"})
    poll = await actor.call("poll_create", {"question": "Lunch?", "options": ["yes", "no"]})
    await actor.call("poll_launch", {"poll_id": poll["poll"]["poll_id"]})
    await actor.call("lock_meeting", {"locked": True})
    await actor.call("lock_meeting", {"locked": False})
    await actor.call("configure_meeting", {"passcode": "4711"})
    await actor.call("configure_meeting", {"passcode": None})
    await actor.call("spotlight", {"participant_id": actor.participant_id})
    await actor.call("spotlight", {"participant_id": None})
    if witness is not None:
        await witness.wait_event("spotlight_changed", lambda d: d["participant_id"] is None)


async def heard_after(listener: SignalingClient, mark: int) -> list[str]:
    """Room events the listener received since ``mark`` (every event the
    server sent it before now has arrived: one socket delivers in order)."""
    if listener.sio.connected:
        await barrier(listener)
    return [name for name, _ in listener.events[mark:] if name in ROOM_EVENTS]


async def later_meeting(make_member: MakeMember, room: str) -> SignalingClient:
    """Open a new meeting in ``room`` once the old one's state has expired."""
    host = await make_member("Next host")
    for _ in range(50):
        ack = await host.sio.call(
            "join", {"protocol": 1, "room": room, "name": "Next host", "receive": False}, timeout=15
        )
        if ack["ok"]:
            host._joined(ack)
            return host
        assert ack["error"]["code"] in ("meeting_ended", "rate_limited"), ack
        await asyncio.sleep(0.2)
    raise AssertionError("the ended meeting never made way for a new one")


async def meeting(make_member: MakeMember, room: str) -> tuple[SignalingClient, ...]:
    """A host, a witness and the listener-to-be, all in ``room``."""
    host = await make_member("Hana", room=room, client_id=f"{room}-hana")
    witness = await make_member("Wit", room=room, client_id=f"{room}-wit")
    listener = await make_member("Lis", room=room, client_id=f"{room}-lis")
    await host.wait_for(lambda: len(host.participants) == 3)
    return host, witness, listener


async def test_a_socket_that_left_hears_nothing_more(server: Any, make_member: MakeMember) -> None:
    host, witness, listener = await meeting(make_member, "m-leave")
    await listener.call("leave")
    assert listener.sio.connected  # leave keeps the socket open
    mark = len(listener.events)
    assert_group_is_the_roster(server, "m-leave")
    await room_activity(host, witness)
    assert await heard_after(listener, mark) == []


async def test_a_socket_whose_disconnect_removed_it_hears_nothing_more(
    server: Any, make_member: MakeMember
) -> None:
    # The service hears "disconnected" (a clean disconnect: leave at once)
    # while the socket is, in fact, still there.
    host, witness, listener = await meeting(make_member, "m-disc")
    await server.service.disconnected(listener.sio.get_sid(), network_loss=False)
    await witness.wait_event("participant_left")
    mark = len(listener.events)
    assert_group_is_the_roster(server, "m-disc")
    await room_activity(host, witness)
    assert await heard_after(listener, mark) == []


async def test_a_socket_past_its_grace_period_hears_nothing_more(
    server: Any, make_member: MakeMember
) -> None:
    # The service takes the socket for lost (a ping timeout) but the socket
    # lives on: from the moment it is detached it is out of the room.
    host, witness, listener = await meeting(make_member, "m-grace")
    await server.service.disconnected(listener.sio.get_sid(), network_loss=True)
    await witness.wait_event(
        "participant_updated", lambda d: d["participant"]["connected"] is False
    )
    mark = len(listener.events)
    assert_group_is_the_roster(server, "m-grace")
    await room_activity(host, witness)
    await witness.wait_event("participant_left", lambda d: d["reason"] == "timeout")
    assert_group_is_the_roster(server, "m-grace")
    await room_activity(host, witness)
    assert await heard_after(listener, mark) == []


async def test_a_removed_and_banned_socket_hears_nothing_more(
    server: Any, make_member: MakeMember
) -> None:
    host, witness, listener = await meeting(make_member, "m-ban")
    await host.call("remove_participant", {"participant_id": listener.participant_id})
    await listener.wait_event("removed")
    await listener.disconnected.wait()
    mark = len(listener.events)
    assert_group_is_the_roster(server, "m-ban")
    await room_activity(host, witness)
    assert await heard_after(listener, mark) == []
    # Banned: the same device on a new socket is refused and hears nothing.
    again = await make_member("Lis", client_id="m-ban-lis")
    error = await again.error_of(
        "join", {"protocol": 1, "room": "m-ban", "name": "Lis", "client_id": "m-ban-lis"}
    )
    assert error["code"] == "banned"
    mark = len(again.events)
    await room_activity(host, witness)
    assert await heard_after(again, mark) == []


async def test_after_end_meeting_no_socket_hears_this_or_the_next_meeting(
    server: Any, make_member: MakeMember
) -> None:
    host, witness, listener = await meeting(make_member, "m-end")
    await host.call("configure_meeting", {"lobby_enabled": True})
    guest = await make_member("Guest")
    assert (await guest.join("m-end"))["waiting"] is True
    await host.call("end_meeting")
    for client in (host, witness, listener):
        await client.wait_event("meeting_ended")
        await client.disconnected.wait()
    assert (await guest.wait_event("lobby_denied"))["code"] == "meeting_ended"
    assert group(server, "m-end") == set()
    marks = {client: len(client.events) for client in (host, witness, listener, guest)}
    # The same room, a new meeting: nobody of the old one hears it.
    new_host = await later_meeting(make_member, "m-end")
    new_member = await make_member("New", room="m-end")
    await new_host.wait_for(lambda: len(new_host.participants) == 2)
    await room_activity(new_host, new_member)
    for client, mark in marks.items():
        assert await heard_after(client, mark) == [], client.name
    assert_group_is_the_roster(server, "m-end")


async def test_a_denied_lobby_guest_hears_nothing(server: Any, make_member: MakeMember) -> None:
    host, witness, _listener = await meeting(make_member, "m-deny")
    await host.call("configure_meeting", {"lobby_enabled": True})
    guest = await make_member("Guest")
    assert (await guest.join("m-deny"))["waiting"] is True
    await host.call("deny", {})
    assert (await guest.wait_event("lobby_denied"))["code"] == "denied"
    assert guest.sio.connected
    mark = len(guest.events)
    await host.call("configure_meeting", {"lobby_enabled": False})
    await room_activity(host, witness)
    assert await heard_after(guest, mark) == []
    assert_group_is_the_roster(server, "m-deny")


async def test_the_old_socket_of_a_resumed_participant_hears_nothing(
    server: Any, make_member: MakeMember
) -> None:
    host, witness, listener = await meeting(make_member, "m-resume")
    # The listener's resume token (its join acknowledgement carried it).
    participant = server.service.participant("m-resume", listener.participant_id)
    again = await make_member("Lis again")
    result = await again.join("m-resume", resume_token=participant.resume_token)
    assert result["resumed"] is True
    await listener.disconnected.wait()
    mark = len(listener.events)
    assert_group_is_the_roster(server, "m-resume")
    await room_activity(host, witness)
    assert await heard_after(listener, mark) == []


async def test_sockets_of_a_room_that_moved_hear_nothing_more(
    server: Any, make_member: MakeMember
) -> None:
    host, witness, listener = await meeting(make_member, "m-move")
    elsewhere = NodeInfo(name="elsewhere", url="http://127.0.0.1:9")
    await server.service.moves.hand_over("m-move", elsewhere)
    for client in (host, witness, listener):
        await client.wait_event("room_moved")
    # The old node keeps the sockets open a moment for the notice; they are
    # out of the room's group at once.
    assert group(server, "m-move") == set()
    mark = len(listener.events)
    await server.service.events.to_room("m-move", "chat_message", {"message": {"text": "x"}})
    assert await heard_after(listener, mark) == []
    await server.service.moves.moves_done()
