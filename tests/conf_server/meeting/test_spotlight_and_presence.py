"""Spotlight for everyone, and how people are present (remote, companion, room
device, checked in) as everyone sees it."""

from __future__ import annotations

import pytest


async def test_a_host_spotlights_someone_for_everyone(make_member):
    host = await make_member("Hana", room="spot")
    ada = await make_member("Ada", room="spot")
    bob = await make_member("Bob", room="spot")
    await host.call("spotlight", {"participant_id": ada.participant_id})
    for client in (host, ada, bob):
        event = await client.wait_event("spotlight_changed")
        assert event == {"participant_id": ada.participant_id}
    late = await make_member("Late", room="spot")
    assert late.meeting["spotlight"] == ada.participant_id
    # Participants cannot; unknown people cannot be spotlighted.
    assert (await bob.error_of("spotlight", {"participant_id": bob.participant_id}))[
        "code"
    ] == "forbidden"
    assert (await host.error_of("spotlight", {"participant_id": "p_x"}))[
        "code"
    ] == "unknown_participant"
    # The spotlight ends when its person leaves, or when a host clears it.
    await ada.call("leave")
    await bob.wait_event("spotlight_changed", lambda d: d["participant_id"] is None)
    await host.call("spotlight", {"participant_id": bob.participant_id})
    await host.call("spotlight", {})
    await late.wait_event("spotlight_changed", lambda d: d["participant_id"] is None)


async def test_everyone_sees_who_is_in_which_room(make_member):
    device = await make_member("Aula", room="pres", mode="room", zone="  Aula   B ")
    assert device.meeting["checkin"]["zone"] == "Aula B"
    code = device.meeting["checkin"]["code"]
    assert len(code) == 6 and code.isalnum() and code.isupper()
    lap = await make_member("Lap", room="pres", mode="companion", zone="Aula B")
    phone = await make_member("Phone", room="pres", checkin=code)
    remote = await make_member("Remo", room="pres")
    roster = remote.participants
    assert (roster[device.participant_id]["mode"], roster[device.participant_id]["zone"]) == (
        "room",
        "Aula B",
    )
    assert roster[lap.participant_id]["mode"] == "companion"
    assert (roster[phone.participant_id]["mode"], roster[phone.participant_id]["zone"]) == (
        "companion",
        "Aula B",
    )
    assert (roster[remote.participant_id]["mode"], roster[remote.participant_id]["zone"]) == (
        "remote",
        None,
    )
    # People in the room see its code too; remote people have none.
    assert phone.meeting["checkin"] == {"zone": "Aula B", "code": code}
    assert remote.meeting["checkin"] is None
    # Checked-in people vote and raise hands like anyone else.
    await phone.call("raise_hand")
    await lap.call("raise_hand")
    hands = await remote.wait_event("hands_changed", lambda d: len(d["hands"]) == 2)
    assert [h["participant_id"] for h in hands["hands"]] == [
        phone.participant_id,
        lap.participant_id,
    ]


@pytest.mark.parametrize(
    "extra",
    [
        {"mode": "kiosk"},
        {"mode": "room"},
        {"zone": ""},
        {"zone": "x" * 65},
        {"zone": "bad\u202ezone"},
        {"checkin": "ab"},
        {"checkin": "has space"},
        {"mode": 1},
    ],
)
async def test_bad_presence_fields_are_refused(make_member, extra):
    client = await make_member("Guest")
    error = await client.error_of("join", {"protocol": 1, "room": "bad", "name": "G", **extra})
    assert error["code"] == "invalid_payload"
