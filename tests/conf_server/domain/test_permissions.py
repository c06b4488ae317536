"""Roles, the permission table, target rules, role changes and mute locks."""

from __future__ import annotations

import pytest

from conf_server.domain import (
    PERMISSIONS,
    Action,
    Forbidden,
    InvalidAction,
    MuteLocks,
    Role,
    RoleBook,
    authorize,
    check,
    check_target,
    demote,
    promote,
)

H, C, P = "host", "co_host", "participant"

# Written out independently of the code: the table the product wants.
EXPECTED = {
    "raise_hand": {H, C, P},
    "lower_own_hand": {H, C, P},
    "send_chat": {H, C, P},
    "send_reaction": {H, C, P},
    "vote": {H, C, P},
    "mute_one": {H, C},
    "mute_all": {H, C},
    "lock_mute": {H, C},
    "stop_video": {H, C},
    "stop_screen": {H, C},
    "remove": {H, C},
    "lock_meeting": {H, C},
    "configure_meeting": {H, C},
    "end_meeting": {H, C},
    "admit": {H, C},
    "deny": {H, C},
    "manage_polls": {H, C},
    "view_live_results": {H, C},
    "lower_any_hand": {H, C},
    "hand_next": {H, C},
    "spotlight": {H, C},
    "record": {H, C},
    "mark_decision": {H, C},
    "promote": {H},
    "demote": {H},
}


def test_expected_table_names_every_action():
    assert set(EXPECTED) == {action.value for action in Action}
    assert set(PERMISSIONS) == set(Action)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_permission_table_for_every_role_and_action(role, action):
    if role.value in EXPECTED[action.value]:
        check(role, action)
    else:
        with pytest.raises(Forbidden) as info:
            check(role, action)
        assert info.value.code == "forbidden"
        assert role.label in info.value.message


def test_forbidden_message_says_who_may_not_do_what():
    with pytest.raises(Forbidden, match="a participant may not mute other people"):
        check(Role.PARTICIPANT, Action.MUTE_ONE)


def test_co_host_cannot_remove_the_host():
    with pytest.raises(Forbidden):
        check_target("c", Role.CO_HOST, Action.REMOVE, "h", Role.HOST)


def test_co_host_cannot_remove_another_co_host():
    with pytest.raises(Forbidden):
        check_target("c1", Role.CO_HOST, Action.REMOVE, "c2", Role.CO_HOST)


def test_co_host_may_remove_a_participant():
    check_target("c", Role.CO_HOST, Action.REMOVE, "p", Role.PARTICIPANT)


def test_host_may_remove_a_co_host():
    check_target("h", Role.HOST, Action.REMOVE, "c", Role.CO_HOST)


@pytest.mark.parametrize("role", [Role.HOST, Role.CO_HOST])
def test_nobody_removes_themselves(role):
    with pytest.raises(InvalidAction, match="leave"):
        check_target("me", role, Action.REMOVE, "me", role)


def test_participant_cannot_remove_anyone_even_themselves():
    with pytest.raises(Forbidden):
        check_target("p", Role.PARTICIPANT, Action.REMOVE, "p", Role.PARTICIPANT)


def test_co_host_cannot_demote_the_host():
    with pytest.raises(Forbidden):
        check_target("c", Role.CO_HOST, Action.DEMOTE, "h", Role.HOST)


def test_nobody_demotes_the_host_not_even_a_host():
    with pytest.raises(Forbidden, match="host cannot be demoted"):
        check_target("h1", Role.HOST, Action.DEMOTE, "h2", Role.HOST)


def test_co_host_cannot_promote_or_demote():
    with pytest.raises(Forbidden):
        check_target("c", Role.CO_HOST, Action.PROMOTE, "p", Role.PARTICIPANT)
    with pytest.raises(Forbidden):
        check_target("c1", Role.CO_HOST, Action.DEMOTE, "c2", Role.CO_HOST)


def test_promoting_a_co_host_or_demoting_a_participant_is_invalid():
    with pytest.raises(InvalidAction):
        check_target("h", Role.HOST, Action.PROMOTE, "c", Role.CO_HOST)
    with pytest.raises(InvalidAction):
        check_target("h", Role.HOST, Action.DEMOTE, "p", Role.PARTICIPANT)


@pytest.mark.parametrize(
    "action", [Action.MUTE_ONE, Action.LOCK_MUTE, Action.STOP_VIDEO, Action.STOP_SCREEN]
)
def test_co_host_cannot_mute_or_stop_the_host_but_may_a_co_host(action):
    with pytest.raises(Forbidden):
        check_target("c", Role.CO_HOST, action, "h", Role.HOST)
    check_target("c1", Role.CO_HOST, action, "c2", Role.CO_HOST)
    check_target("c", Role.CO_HOST, action, "p", Role.PARTICIPANT)
    check_target("h", Role.HOST, action, "c", Role.CO_HOST)


def test_authorize_reads_roles_from_the_book_not_from_the_caller():
    roles = RoleBook({"h": Role.HOST, "c": Role.CO_HOST})
    assert authorize(roles, "c", Action.MUTE_ALL) is Role.CO_HOST
    assert authorize(roles, "h", Action.REMOVE, "c") is Role.HOST
    with pytest.raises(Forbidden):
        authorize(roles, "stranger", Action.MUTE_ALL)
    with pytest.raises(Forbidden):
        authorize(roles, "c", Action.REMOVE, "h")


def test_unknown_people_are_participants():
    assert RoleBook().role_of("anyone") is Role.PARTICIPANT


def test_host_promotes_and_demotes_a_co_host():
    roles = RoleBook({"h": Role.HOST})
    promote(roles, "h", "p")
    assert roles.role_of("p") is Role.CO_HOST
    assert roles.with_role(Role.CO_HOST) == ["p"]
    demote(roles, "h", "p")
    assert roles.role_of("p") is Role.PARTICIPANT
    assert roles.to_dict() == {"roles": {"h": "host"}}


def test_forbidden_role_change_changes_nothing():
    roles = RoleBook({"h": Role.HOST, "c": Role.CO_HOST})
    before = roles.to_dict()
    with pytest.raises(Forbidden):
        promote(roles, "c", "p")
    with pytest.raises(Forbidden):
        demote(roles, "c", "h")
    with pytest.raises(Forbidden):
        promote(roles, "p", "p")
    assert roles.to_dict() == before


def test_co_host_role_is_forgotten_when_they_leave():
    roles = RoleBook({"c": Role.CO_HOST})
    roles.forget("c")
    assert roles.role_of("c") is Role.PARTICIPANT


def test_muted_participant_may_unmute_unless_locked():
    locks = MuteLocks()
    assert locks.may_unmute_self("p", Role.PARTICIPANT)
    locks.lock("p")
    assert not locks.may_unmute_self("p", Role.PARTICIPANT)
    locks.unlock("p")
    assert locks.may_unmute_self("p", Role.PARTICIPANT)


def test_lock_all_holds_participants_but_not_hosts_or_co_hosts():
    locks = MuteLocks()
    locks.lock_all()
    assert not locks.may_unmute_self("p", Role.PARTICIPANT)
    assert locks.may_unmute_self("c", Role.CO_HOST)
    assert locks.may_unmute_self("h", Role.HOST)
    locks.unlock_all()
    assert locks.may_unmute_self("p", Role.PARTICIPANT)


def test_unlock_all_lifts_personal_locks_too():
    locks = MuteLocks()
    locks.lock("p")
    locks.unlock_all()
    assert not locks.is_locked("p")


def test_one_person_can_be_allowed_to_talk_while_everyone_is_locked():
    locks = MuteLocks()
    locks.lock_all()
    locks.unlock("speaker")
    assert locks.may_unmute_self("speaker", Role.PARTICIPANT)
    assert not locks.may_unmute_self("other", Role.PARTICIPANT)
    locks.lock_all()
    assert not locks.may_unmute_self("speaker", Role.PARTICIPANT)


def test_mute_locks_survive_a_round_trip():
    locks = MuteLocks()
    locks.lock("a")
    locks.lock_all()
    locks.unlock("b")
    again = MuteLocks.from_dict(locks.to_dict())
    assert again.to_dict() == locks.to_dict()
    assert again.is_locked("a") and not again.is_locked("b") and again.is_locked("c")
