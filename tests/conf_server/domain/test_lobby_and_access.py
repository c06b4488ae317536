"""Entering a meeting: passcode, lock, lobby (admit / deny / all), bans, the end."""

from __future__ import annotations

import json

import pytest

from conf_server.domain import (
    Admission,
    Banned,
    InvalidAction,
    Lobby,
    MeetingAccess,
    MeetingEnded,
    MeetingLocked,
    UnknownParticipant,
    WrongPasscode,
)


def test_open_meeting_admits_anyone():
    assert MeetingAccess().request_entry("p1", "id-1", "Ann", now=0.0) is Admission.ADMITTED


def test_passcode_is_required_and_checked():
    access = MeetingAccess(passcode="4711")
    with pytest.raises(WrongPasscode, match="needed"):
        access.request_entry("p1", "id-1", "Ann", now=0.0)
    with pytest.raises(WrongPasscode, match="wrong") as info:
        access.request_entry("p1", "id-1", "Ann", now=0.0, passcode="1234")
    assert info.value.code == "wrong_passcode"
    assert (
        access.request_entry("p1", "id-1", "Ann", now=0.0, passcode=" 4711 ") is Admission.ADMITTED
    )


def test_blank_passcode_means_none_and_overlong_is_refused():
    access = MeetingAccess(passcode="  ")
    assert not access.has_passcode
    assert access.check_passcode(None)
    with pytest.raises(InvalidAction):
        access.set_passcode("x" * 65)
    with pytest.raises(InvalidAction):
        access.set_passcode("ab\x00")


def test_locked_meeting_refuses_newcomers_but_not_hosts():
    access = MeetingAccess()
    access.lock()
    with pytest.raises(MeetingLocked) as info:
        access.request_entry("p1", "id-1", "Ann", now=0.0)
    assert info.value.code == "meeting_locked"
    assert access.request_entry("h", "host", "Host", now=0.0, privileged=True) is Admission.ADMITTED
    access.unlock()
    assert access.request_entry("p1", "id-1", "Ann", now=0.0) is Admission.ADMITTED


def test_wrong_passcode_is_reported_before_the_lock():
    access = MeetingAccess(passcode="4711", locked=True)
    with pytest.raises(WrongPasscode):
        access.request_entry("p1", "id-1", "Ann", now=0.0, passcode="0000")


def test_with_the_lobby_on_people_wait_in_arrival_order():
    access = MeetingAccess(lobby_enabled=True)
    assert access.request_entry("p2", "id-2", "Bob", now=2.0) is Admission.WAITING
    assert access.request_entry("p1", "id-1", "Ann", now=1.0) is Admission.WAITING
    assert access.request_entry("p3", "id-3", "Cat", now=2.0) is Admission.WAITING
    assert [e.id for e in access.lobby.waiting()] == ["p1", "p2", "p3"]
    assert access.lobby.waiting()[0].to_wire() == {"id": "p1", "name": "Ann", "since": 1.0}


def test_hosts_skip_the_lobby():
    access = MeetingAccess(lobby_enabled=True)
    assert access.request_entry("h", "host", "Host", now=0.0, privileged=True) is Admission.ADMITTED
    assert len(access.lobby) == 0


def test_knocking_again_keeps_the_place_in_the_lobby():
    lobby = Lobby()
    lobby.add("p1", "Ann", "id-1", now=1.0)
    lobby.add("p2", "Bob", "id-2", now=2.0)
    again = lobby.add("p1", "Ann", "id-1", now=3.0)
    assert again.since == 1.0
    assert [e.id for e in lobby.waiting()] == ["p1", "p2"]


def test_admit_and_deny_take_one_person_out_of_the_lobby():
    lobby = Lobby()
    lobby.add("p1", "Ann", "id-1", now=1.0)
    lobby.add("p2", "Bob", "id-2", now=2.0)
    assert lobby.admit("p1").name == "Ann"
    assert lobby.deny("p2").name == "Bob"
    assert len(lobby) == 0
    with pytest.raises(UnknownParticipant):
        lobby.admit("p1")


def test_admit_all_lets_everyone_in_in_arrival_order():
    lobby = Lobby()
    for i in range(3):
        lobby.add(f"p{i}", f"N{i}", f"id-{i}", now=float(i))
    assert [e.id for e in lobby.admit_all()] == ["p0", "p1", "p2"]
    assert len(lobby) == 0


def test_leaving_the_lobby_and_the_lobby_bound():
    lobby = Lobby(max_waiting=1)
    lobby.add("p1", "Ann", "id-1", now=0.0)
    with pytest.raises(InvalidAction):
        lobby.add("p2", "Bob", "id-2", now=0.0)
    assert lobby.leave("p1") is True
    assert lobby.leave("p1") is False


def test_turning_the_lobby_off_admits_those_waiting():
    access = MeetingAccess(lobby_enabled=True)
    access.request_entry("p1", "id-1", "Ann", now=0.0)
    assert [e.id for e in access.set_lobby_enabled(False)] == ["p1"]
    assert access.request_entry("p2", "id-2", "Bob", now=1.0) is Admission.ADMITTED


def test_removed_identity_cannot_come_back_with_the_same_invite():
    access = MeetingAccess()
    access.request_entry("p1", "invite-ann", "Ann", now=0.0)
    access.ban("invite-ann")
    with pytest.raises(Banned) as info:
        access.request_entry("p7", "invite-ann", "Ann again", now=1.0)
    assert info.value.code == "banned"
    assert access.request_entry("p8", "invite-bob", "Bob", now=1.0) is Admission.ADMITTED
    access.unban("invite-ann")
    assert access.request_entry("p9", "invite-ann", "Ann", now=2.0) is Admission.ADMITTED


def test_banning_drops_that_identity_from_the_lobby():
    access = MeetingAccess(lobby_enabled=True)
    access.request_entry("p1", "invite-ann", "Ann", now=0.0)
    access.request_entry("p2", "invite-bob", "Bob", now=0.0)
    assert [e.id for e in access.ban("invite-ann")] == ["p1"]
    assert [e.id for e in access.lobby.waiting()] == ["p2"]


def test_denied_person_may_knock_again():
    access = MeetingAccess(lobby_enabled=True)
    access.request_entry("p1", "id-1", "Ann", now=0.0)
    access.lobby.deny("p1")
    assert access.request_entry("p1", "id-1", "Ann", now=1.0) is Admission.WAITING


def test_ended_meeting_lets_nobody_in_and_empties_the_lobby():
    access = MeetingAccess(lobby_enabled=True)
    access.request_entry("p1", "id-1", "Ann", now=0.0)
    assert [e.id for e in access.end()] == ["p1"]
    assert len(access.lobby) == 0
    with pytest.raises(MeetingEnded):
        access.request_entry("h", "host", "Host", now=1.0, privileged=True)


def test_access_survives_a_json_round_trip():
    access = MeetingAccess(passcode="4711", lobby_enabled=True)
    access.request_entry("p1", "id-1", "Ann", now=1.0, passcode="4711")
    access.ban("id-x")
    access.lock()
    again = MeetingAccess.from_dict(json.loads(json.dumps(access.to_dict())))
    assert again.to_dict() == access.to_dict()
    assert again.is_banned("id-x") and again.locked and again.check_passcode("4711")
    assert [e.id for e in again.lobby.waiting()] == ["p1"]


def test_invite_only_admits_invitees_and_sends_everyone_else_to_the_lobby():
    access = MeetingAccess(invited=["user:ada"])
    assert access.invite_only and not MeetingAccess().invite_only
    assert access.request_entry("p1", "user:ada", "Ada", now=0.0) is Admission.ADMITTED
    # Not invited: waits although the lobby setting is off.
    assert not access.lobby_enabled
    assert access.request_entry("p2", "client:x", "Mallory", now=1.0) is Admission.WAITING
    # Invitees added later walk in; a removed invitee stays out.
    access.invite(["user:bob"])
    assert access.request_entry("p3", "user:bob", "Bob", now=2.0) is Admission.ADMITTED
    access.ban("user:bob")
    with pytest.raises(Banned):
        access.request_entry("p4", "user:bob", "Bob", now=3.0)
    with pytest.raises(InvalidAction):
        MeetingAccess().invite(["user:x"])
    again = MeetingAccess.from_dict(json.loads(json.dumps(access.to_dict())))
    assert again.is_invited("user:ada") and again.invite_only
