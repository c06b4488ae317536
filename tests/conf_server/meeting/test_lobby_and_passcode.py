"""Entering a meeting: passcode, lobby (admit / deny, one or all), waiting."""

from __future__ import annotations

JOIN = {"protocol": 1, "name": "Guest"}


async def test_passcode_needed_wrong_and_right(make_member):
    host = await make_member("Hana", room="pc")
    ack = await host.call("configure_meeting", {"passcode": " 4711 "})
    assert ack["passcode"] == "4711" and ack["has_passcode"] is True
    assert (await host.wait_event("meeting_updated"))["has_passcode"] is True
    guest = await make_member("Guest")
    error = await guest.error_of("join", {**JOIN, "room": "pc"})
    assert error["code"] == "wrong_passcode" and "needed" in error["message"]
    error = await guest.error_of("join", {**JOIN, "room": "pc", "passcode": "0000"})
    assert error["code"] == "wrong_passcode" and "wrong" in error["message"]
    await guest.join("pc", passcode="4711")
    assert guest.meeting["has_passcode"] is True and guest.meeting["passcode"] is None
    # Hosts see it; the host key needs no passcode.
    assert host.meeting["passcode"] is None  # the join ack was before it was set
    other_host = await make_member("Otto", room="pc", host_key=host.meeting["host_key"])
    assert other_host.meeting["passcode"] == "4711"
    # Clearing it lets anyone in.
    await host.call("configure_meeting", {"passcode": None})
    await make_member("Free", room="pc")


async def test_lobby_admit_one_deny_one(make_member):
    host = await make_member("Hana", room="lob")
    await host.call("configure_meeting", {"lobby_enabled": True})
    ada = await make_member("Ada")
    ack = await ada.join("lob")
    assert ack["waiting"] is True and ack["lobby_id"]
    assert ada.participant_id is None
    changed = await host.wait_event("lobby_changed", lambda d: len(d["lobby"]) == 1)
    assert changed["lobby"][0]["name"] == "Ada" and changed["lobby"][0]["id"] == ack["lobby_id"]
    # Nobody in the meeting saw Ada yet; while waiting she can do nothing but leave.
    assert set(host.participants) == {host.participant_id}
    assert (await ada.error_of("chat_send", {"text": "hi"}))["code"] == "in_lobby"
    assert (await ada.error_of("raise_hand"))["code"] == "in_lobby"
    assert (await ada.error_of("join", {**JOIN, "room": "lob"}))["code"] == "already_joined"

    bob = await make_member("Bob")
    bob_ack = await bob.join("lob")
    await host.wait_event("lobby_changed", lambda d: len(d["lobby"]) == 2)

    await host.call("admit", {"lobby_id": ack["lobby_id"]})
    admitted = await ada.wait_event("lobby_admitted")
    assert admitted["ok"] is True and admitted["participant_id"] == ack["lobby_id"]
    assert admitted["meeting"]["role"] == "participant"
    await host.wait_for(lambda: ack["lobby_id"] in host.participants)
    await ada.call("chat_send", {"text": "thanks"})

    await host.call("deny", {"lobby_id": bob_ack["lobby_id"]})
    denied = await bob.wait_event("lobby_denied")
    assert denied["code"] == "denied"
    assert bob.sio.connected
    # Denied: no longer waiting; may ask again.
    assert (await bob.error_of("chat_send", {"text": "hi"}))["code"] == "not_joined"
    again = await bob.join("lob")
    assert again["waiting"] is True
    await host.wait_event("lobby_changed", lambda d: [e["name"] for e in d["lobby"]] == ["Bob"])
    error = await host.error_of("admit", {"lobby_id": "p_nobody"})
    assert error["code"] == "unknown_participant"


async def test_admit_all_and_lobby_off_let_everyone_in_in_order(make_member):
    host = await make_member("Hana", room="all")
    await host.call("configure_meeting", {"lobby_enabled": True})
    waiting = [await make_member(name) for name in ("A", "B", "C")]
    for client in waiting:
        assert (await client.join("all"))["waiting"] is True
    await host.wait_event("lobby_changed", lambda d: [e["name"] for e in d["lobby"]] == list("ABC"))
    await host.call("admit", {})
    for client in waiting:
        await client.wait_event("lobby_admitted")
    await host.wait_for(lambda: len(host.participants) == 4)
    # Switching the lobby off admits whoever waits.
    late = await make_member("Late")
    assert (await late.join("all"))["waiting"] is True
    await host.call("configure_meeting", {"lobby_enabled": False})
    await late.wait_event("lobby_admitted")
    assert host.meeting["role"] == "host"


async def test_a_waiting_person_who_leaves_or_closes_the_page_leaves_the_lobby(make_member):
    host = await make_member("Hana", room="gone")
    await host.call("configure_meeting", {"lobby_enabled": True})
    ada, bob = await make_member("Ada"), await make_member("Bob")
    await ada.join("gone")
    await bob.join("gone")
    await host.wait_event("lobby_changed", lambda d: len(d["lobby"]) == 2)
    await ada.call("leave")
    await bob.close()
    await host.wait_event("lobby_changed", lambda d: d["lobby"] == [])
    # A host admitting everyone now admits nobody, and nothing breaks.
    await host.call("admit", {})


async def test_ending_the_meeting_turns_the_lobby_away(make_member):
    host = await make_member("Hana", room="endlob")
    await host.call("configure_meeting", {"lobby_enabled": True})
    ada = await make_member("Ada")
    await ada.join("endlob")
    await host.wait_event("lobby_changed", lambda d: len(d["lobby"]) == 1)
    await host.call("end_meeting")
    assert (await ada.wait_event("lobby_denied"))["code"] == "meeting_ended"


async def test_hosts_skip_the_lobby_and_a_promoted_co_host_sees_it(make_member):
    host = await make_member("Hana", room="skip")
    part = await make_member("Pat", room="skip")
    await host.call("configure_meeting", {"lobby_enabled": True})
    other_host = await make_member("Otto", room="skip", host_key=host.meeting["host_key"])
    assert other_host.participant_id and other_host.meeting["role"] == "host"
    guest = await make_member("Guest")
    await guest.join("skip")
    await host.wait_event("lobby_changed", lambda d: len(d["lobby"]) == 1)
    assert not part.of("lobby_changed")  # participants do not see the lobby
    await host.call("set_role", {"participant_id": part.participant_id, "role": "co_host"})
    state = await part.wait_event("meeting_state")
    assert [e["name"] for e in state["meeting"]["lobby"]] == ["Guest"]
    await part.call("admit", {})
    await guest.wait_event("lobby_admitted")


async def test_only_hosts_and_co_hosts_learn_a_new_passcode(make_member):
    host = await make_member("Hana", room="pcu")
    other_host = await make_member("Otto", room="pcu", host_key=host.meeting["host_key"])
    guest = await make_member("Guest", room="pcu")
    await host.call("configure_meeting", {"passcode": "9876"})
    assert (await other_host.wait_event("meeting_updated"))["passcode"] == "9876"
    update = await guest.wait_event("meeting_updated")
    assert update["has_passcode"] is True and "passcode" not in update
