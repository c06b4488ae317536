"""Raised hands over real Socket.IO: the server's order is everyone's order.

docs/protocol.md, "Raised hands": every change sends the full list in order
(``hands_changed``) to everyone, positions are 1, 2, ... in the server's order,
raising a hand that is up keeps its place, lowering and raising again goes to the
back, a burst ends in the state of its last action, and a participant who leaves
has their hand lowered.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from meeting_client import ProtocolError
from signaling_client import barrier
from socketio import packet as socketio_packet

ROOM = "hands"


async def disconnect_cleanly(client: Any) -> None:
    """Close the socket the way a browser does on ``pagehide``: Socket.IO's
    disconnect packet first, then the connection.

    ``SignalingClient.close()`` (python-socketio's ``AsyncClient.disconnect``)
    closes the WebSocket before its write loop has sent the disconnect packet
    ("Cannot write to closing transport"), so the server only sees the transport
    close and keeps the participant for the reconnect grace period. Sending the
    disconnect packet ourselves avoids that race; the connection itself is closed
    by the fixture later.
    """
    goodbye = client.sio.packet_class(socketio_packet.DISCONNECT, namespace="/")
    await client.sio.eio.send(goodbye.encode())


def hands(client: Any) -> list[dict[str, Any]]:
    """The list shown by ``client``: its latest ``hands_changed``."""
    return client.last("hands_changed")["hands"] if client.of("hands_changed") else []


def order(client: Any) -> list[str]:
    return [hand["participant_id"] for hand in hands(client)]


def assert_same_list_everywhere(clients: list[Any], expected: list[str]) -> None:
    for client in clients:
        shown = hands(client)
        assert [h["participant_id"] for h in shown] == expected, client.name
        assert [h["position"] for h in shown] == list(range(1, len(expected) + 1)), client.name
        stamps = [h["raised_at"] for h in shown]
        assert stamps == sorted(stamps), client.name
    # Everyone shows the very same objects (same stamps, same positions).
    first = hands(clients[0])
    for client in clients[1:]:
        assert hands(client) == first, client.name


async def stored_order(server: Any, room: str = ROOM) -> list[str]:
    state = await server.service.store.get(room)
    return [hand["participant_id"] for hand in state.hands.snapshot()]


@pytest.fixture
async def room(make_member):
    """A host and four participants in one room, everyone seeing everyone."""
    host = await make_member("Hana", room=ROOM)
    people = [await make_member(name, room=ROOM) for name in ("Ada", "Bob", "Cy", "Dee")]
    everyone = [host, *people]
    for client in everyone:
        await client.wait_for(lambda c=client: len(c.participants) == len(everyone))
    assert host.meeting["role"] == "host"
    assert all(p.meeting["role"] == "participant" for p in people)
    return host, people


async def test_raised_hands_show_in_the_same_order_with_positions_everywhere(room, server):
    host, (ada, bob, cy, dee) = room
    everyone = [host, ada, bob, cy, dee]
    for expected_position, client in enumerate((bob, dee, ada), start=1):
        ack = await client.call("raise_hand")
        assert ack["position"] == expected_position
    await barrier(*everyone)
    expected = [bob.participant_id, dee.participant_id, ada.participant_id]
    assert_same_list_everywhere(everyone, expected)
    assert await stored_order(server) == expected


async def test_concurrent_raises_get_one_order_that_everyone_shares(room, server):
    host, people = room
    everyone = [host, *people]
    raisers = [*people, host]
    acks = await asyncio.gather(*(client.call("raise_hand") for client in raisers))
    await barrier(*everyone)
    # Positions 1..n, each handed out once ...
    positions = {
        client.participant_id: ack["position"] for client, ack in zip(raisers, acks, strict=False)
    }
    assert sorted(positions.values()) == list(range(1, len(raisers) + 1))
    # ... and the list everyone shows is exactly that order.
    expected = sorted(positions, key=positions.__getitem__)
    assert_same_list_everywhere(everyone, expected)
    assert await stored_order(server) == expected


async def test_raising_twice_keeps_the_place(room):
    host, (ada, bob, cy, _dee) = room
    for client in (ada, bob, cy):
        await client.call("raise_hand")
    again = await ada.call("raise_hand")
    assert again["position"] == 1
    again = await bob.call("raise_hand")
    assert again["position"] == 2
    await barrier(host, ada, bob, cy)
    assert_same_list_everywhere(
        [host, ada, bob, cy], [ada.participant_id, bob.participant_id, cy.participant_id]
    )


async def test_lowering_own_hand_and_raising_again_goes_to_the_back(room):
    host, (ada, bob, cy, dee) = room
    everyone = [host, ada, bob, cy, dee]
    for client in (ada, bob, cy):
        await client.call("raise_hand")
    assert await ada.call("lower_hand") == {"ok": True}
    await barrier(*everyone)
    assert_same_list_everywhere(everyone, [bob.participant_id, cy.participant_id])
    assert (await ada.call("raise_hand"))["position"] == 3
    await barrier(*everyone)
    assert_same_list_everywhere(
        everyone, [bob.participant_id, cy.participant_id, ada.participant_id]
    )
    # Lowering a hand that is not up is not an error.
    assert await dee.call("lower_hand", {}) == {"ok": True}
    # Naming oneself is lowering one's own hand.
    assert await bob.call("lower_hand", {"participant_id": bob.participant_id}) == {"ok": True}
    await barrier(*everyone)
    assert_same_list_everywhere(everyone, [cy.participant_id, ada.participant_id])


async def test_host_lowers_someone_elses_hand(room):
    host, (ada, bob, cy, dee) = room
    everyone = [host, ada, bob, cy, dee]
    for client in (ada, bob, cy):
        await client.call("raise_hand")
    await host.call("lower_hand", {"participant_id": bob.participant_id})
    await barrier(*everyone)
    assert_same_list_everywhere(everyone, [ada.participant_id, cy.participant_id])


async def test_a_participant_cannot_lower_someone_elses_hand(room, server):
    host, (ada, bob, cy, dee) = room
    everyone = [host, ada, bob, cy, dee]
    for client in (ada, bob):
        await client.call("raise_hand")
    await barrier(*everyone)
    seen_before = [len(client.of("hands_changed")) for client in everyone]
    expected = [ada.participant_id, bob.participant_id]

    error = await cy.error_of("lower_hand", {"participant_id": ada.participant_id})
    assert error["code"] == "forbidden"
    error = await bob.error_of("lower_hand", {"participant_id": ada.participant_id})
    assert error["code"] == "forbidden"
    for refused in ("lower_all_hands", "next_hand"):
        error = await dee.error_of(refused, {})
        assert error["code"] == "forbidden", refused

    await barrier(*everyone)
    assert [len(client.of("hands_changed")) for client in everyone] == seen_before
    assert not any(client.of("hand_called") for client in everyone)
    assert_same_list_everywhere(everyone, expected)
    assert await stored_order(server) == expected


async def test_a_co_host_may_lower_hands_and_call_the_next(room, server):
    host, (ada, bob, cy, dee) = room
    everyone = [host, ada, bob, cy, dee]
    await host.call("set_role", {"participant_id": dee.participant_id, "role": "co_host"})
    await dee.wait_event("meeting_state", lambda d: d["meeting"]["role"] == "co_host")
    for client in (ada, bob, cy, host):
        await client.call("raise_hand")
    await dee.call("lower_hand", {"participant_id": host.participant_id})
    assert (await dee.call("next_hand"))["participant_id"] == ada.participant_id
    await barrier(*everyone)
    assert_same_list_everywhere(everyone, [bob.participant_id, cy.participant_id])
    assert all(c.last("hand_called")["participant_id"] == ada.participant_id for c in everyone)
    await dee.call("lower_all_hands")
    await barrier(*everyone)
    assert_same_list_everywhere(everyone, [])
    assert await stored_order(server) == []


async def test_host_lowers_all_hands(room, server):
    host, (ada, bob, cy, dee) = room
    everyone = [host, ada, bob, cy, dee]
    for client in (ada, bob, cy, host):
        await client.call("raise_hand")
    assert await host.call("lower_all_hands") == {"ok": True}
    await barrier(*everyone)
    assert_same_list_everywhere(everyone, [])
    assert await stored_order(server) == []
    # With no hand up it is still fine.
    assert await host.call("lower_all_hands", {}) == {"ok": True}


async def test_next_hand_calls_the_first_and_the_rest_move_up(room, server):
    host, (ada, bob, cy, dee) = room
    everyone = [host, ada, bob, cy, dee]
    for client in (cy, ada, dee):
        await client.call("raise_hand")

    ack = await host.call("next_hand")
    assert ack["participant_id"] == cy.participant_id
    await barrier(*everyone)
    for client in everyone:
        called = client.of("hand_called")
        assert len(called) == 1, client.name
        assert called[0]["participant_id"] == cy.participant_id
        assert called[0]["name"] == "Cy"
    assert_same_list_everywhere(everyone, [ada.participant_id, dee.participant_id])

    assert (await host.call("next_hand"))["participant_id"] == ada.participant_id
    assert (await host.call("next_hand"))["participant_id"] == dee.participant_id
    # Nobody left in line: null, and nobody is called.
    assert (await host.call("next_hand"))["participant_id"] is None
    await barrier(*everyone)
    assert_same_list_everywhere(everyone, [])
    for client in everyone:
        assert [c["participant_id"] for c in client.of("hand_called")] == [
            cy.participant_id,
            ada.participant_id,
            dee.participant_id,
        ]
    assert await stored_order(server) == []


async def test_hand_is_lowered_when_its_owner_leaves(room, server):
    host, (ada, bob, cy, dee) = room
    for client in (ada, bob, cy):
        await client.call("raise_hand")
    await bob.call("leave")
    stayers = [host, ada, cy, dee]
    await host.wait_event("participant_left", lambda d: d["participant_id"] == bob.participant_id)
    await barrier(*stayers)
    assert_same_list_everywhere(stayers, [ada.participant_id, cy.participant_id])
    assert await stored_order(server) == [ada.participant_id, cy.participant_id]


async def test_hand_is_lowered_when_its_owner_disconnects(room, server):
    host, (ada, bob, cy, dee) = room
    for client in (ada, bob, cy):
        await client.call("raise_hand")
    started = asyncio.get_running_loop().time()
    await disconnect_cleanly(ada)
    stayers = [host, bob, cy, dee]
    left = await host.wait_event(
        "participant_left", lambda d: d["participant_id"] == ada.participant_id
    )
    # Gone at once (the tests' reconnect grace period is 2 s), not timed out.
    assert left["reason"] == "disconnected"
    assert asyncio.get_running_loop().time() - started < 1.5
    await barrier(*stayers)
    assert_same_list_everywhere(stayers, [bob.participant_id, cy.participant_id])
    assert await stored_order(server) == [bob.participant_id, cy.participant_id]


async def test_hand_is_lowered_when_a_host_removes_its_owner(room, server):
    host, (ada, bob, cy, dee) = room
    for client in (ada, bob, cy):
        await client.call("raise_hand")
    await host.call("remove_participant", {"participant_id": bob.participant_id})
    stayers = [host, ada, cy, dee]
    await host.wait_event("participant_left", lambda d: d["participant_id"] == bob.participant_id)
    await barrier(*stayers)
    assert_same_list_everywhere(stayers, [ada.participant_id, cy.participant_id])
    assert await stored_order(server) == [ada.participant_id, cy.participant_id]


async def test_hand_is_lowered_when_a_dropped_owner_does_not_come_back(room, server):
    host, (ada, bob, cy, dee) = room
    for client in (ada, bob):
        await client.call("raise_hand")
    await ada.sio.eio.disconnect(abort=True)  # the network goes, no goodbye
    stayers = [host, bob, cy, dee]
    # Within the grace period (2 s in the tests) Ada keeps her place ...
    await host.wait_event(
        "participant_updated",
        lambda d: (
            d["participant"]["id"] == ada.participant_id and d["participant"]["connected"] is False
        ),
    )
    assert await stored_order(server) == [ada.participant_id, bob.participant_id]
    # ... and when it is over her hand goes down for everyone.
    left = await host.wait_event(
        "participant_left", lambda d: d["participant_id"] == ada.participant_id, timeout=10
    )
    assert left["reason"] == "timeout"
    await barrier(*stayers)
    assert_same_list_everywhere(stayers, [bob.participant_id])
    assert await stored_order(server) == [bob.participant_id]


@pytest.mark.parametrize("count", [20, 21])
async def test_a_raise_lower_burst_ends_in_the_state_of_the_last_action(room, server, count):
    host, (ada, bob, cy, dee) = room
    everyone = [host, ada, bob, cy, dee]
    await cy.call("raise_hand")
    # ``count`` alternating messages from each of two people, none waiting for an
    # acknowledgement before the next is sent, both people at the same time.
    burst = ["raise_hand" if i % 2 == 0 else "lower_hand" for i in range(count)]
    acks = await asyncio.gather(
        *(ada.call(event) for event in burst), *(bob.call(event) for event in burst)
    )
    assert all(ack["ok"] for ack in acks)
    await barrier(*everyone)
    last_is_raise = burst[-1] == "raise_hand"
    expected = [cy.participant_id]
    if last_is_raise:
        # Both end with a hand up, behind Cy, in whichever order the server saw
        # their last raises: the order everyone shows is the stored one.
        stored = await stored_order(server)
        assert stored[0] == cy.participant_id
        assert set(stored[1:]) == {ada.participant_id, bob.participant_id}
        expected = stored
    assert_same_list_everywhere(everyone, expected)
    assert await stored_order(server) == expected


async def test_a_burst_sent_without_acknowledgements_ends_in_the_last_state(room, server):
    host, (ada, bob, cy, dee) = room
    everyone = [host, ada, bob, cy, dee]
    # Messages without an acknowledgement callback are processed the same way.
    for i in range(21):
        await ada.sio.emit("raise_hand" if i % 2 == 0 else "lower_hand", {})
    for i in range(20):
        await bob.sio.emit("raise_hand" if i % 2 == 0 else "lower_hand", {})
    await barrier(ada, bob)  # handled after the burst: one client's messages keep order
    await barrier(*everyone)
    assert await stored_order(server) == [ada.participant_id]
    assert_same_list_everywhere(everyone, [ada.participant_id])


async def test_a_burst_sent_with_gather_against_the_host_lowering(room, server):
    host, (ada, bob, cy, dee) = room
    everyone = [host, ada, bob, cy, dee]
    # Everyone hammers raise/lower at once; the last action of each is a raise
    # for Ada and Dee, a lower for Bob and Cy.
    plans = {
        ada: ["raise_hand", "lower_hand"] * 5 + ["raise_hand"],
        bob: ["raise_hand", "lower_hand"] * 6,
        cy: ["lower_hand", "raise_hand"] * 4 + ["lower_hand"],
        dee: ["raise_hand"] * 3 + ["lower_hand", "raise_hand"] * 3,
    }
    await asyncio.gather(
        *(client.call(event) for client, events in plans.items() for event in events)
    )
    await barrier(*everyone)
    stored = await stored_order(server)
    assert set(stored) == {ada.participant_id, dee.participant_id}
    assert_same_list_everywhere(everyone, stored)


async def test_a_late_joiner_sees_the_raised_hands_in_its_join_ack(room, make_member):
    host, (_ada, bob, _cy, dee) = room
    for client in (dee, bob):
        await client.call("raise_hand")
    await barrier(host)
    late = await make_member("Late", room=ROOM)
    assert late.meeting["hands"] == hands(host)
    assert [h["participant_id"] for h in late.meeting["hands"]] == [
        dee.participant_id,
        bob.participant_id,
    ]
    assert [h["position"] for h in late.meeting["hands"]] == [1, 2]
    # And the late joiner's own raise goes to the back of the same line.
    assert (await late.call("raise_hand"))["position"] == 3
    await barrier(host, late, dee)
    assert_same_list_everywhere(
        [host, late, dee], [dee.participant_id, bob.participant_id, late.participant_id]
    )


async def test_hands_of_one_room_are_not_seen_in_another(room, make_member, server):
    host, (ada, *_rest) = room
    elsewhere = await make_member("Eve", room="other-room")
    assert elsewhere.meeting["role"] == "host"  # first in that room
    await ada.call("raise_hand")
    assert (await elsewhere.call("raise_hand"))["position"] == 1
    await barrier(host, ada, elsewhere)
    assert order(elsewhere) == [elsewhere.participant_id]
    assert order(host) == [ada.participant_id]
    # The other room's host calls on its own line only.
    assert (await elsewhere.call("next_hand"))["participant_id"] == elsewhere.participant_id
    assert await stored_order(server) == [ada.participant_id]
    assert await stored_order(server, "other-room") == []


async def test_hand_messages_need_a_joined_room(make_member):
    outsider = await make_member("Outsider")  # connected, never joined
    for event in ("raise_hand", "lower_hand", "lower_all_hands", "next_hand"):
        with pytest.raises(ProtocolError) as refused:
            await outsider.call(event, {})
        assert refused.value.code == "not_joined", event


async def test_hand_messages_with_wrong_payloads_are_refused(room, server):
    host, (ada, *_rest) = room
    await ada.call("raise_hand")
    for event, payload in (
        ("raise_hand", {"participant_id": host.participant_id}),
        ("lower_hand", {"participant_id": 5}),
        ("lower_all_hands", {"everyone": True}),
    ):
        error = await host.error_of(event, payload)
        assert error["code"] == "invalid_payload", (event, payload)
    assert await stored_order(server) == [ada.participant_id]
