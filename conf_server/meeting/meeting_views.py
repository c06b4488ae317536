"""What one person sees of a meeting: the Meeting and Poll objects of
docs/protocol.md, filtered by the viewer's role. Pure functions, no I/O."""

from __future__ import annotations

from typing import Any

from conf_server.domain import Poll, PollKind, PollState, Role
from conf_server.domain.meeting_state import MeetingState

from .questionnaire_views import questionnaires_for


def is_moderator(role: Role) -> bool:
    """Hosts and co-hosts run the meeting (see conf_server.domain.permissions)."""
    return role is not Role.PARTICIPANT


def visible_to(poll: Poll, role: Role) -> bool:
    """Drafts are for hosts and co-hosts only."""
    return is_moderator(role) or poll.state is not PollState.DRAFT


def poll_view(poll: Poll, role: Role, viewer_id: str | None = None) -> dict[str, Any]:
    """The Poll object for a viewer with ``role``; ``viewer_id`` None leaves
    out the personal fields (:func:`personal_poll_fields`)."""
    moderator = is_moderator(role)
    view = poll.describe()
    one = poll.kind is PollKind.SINGLE or (
        poll.kind is PollKind.QUIZ and len(poll.correct_option_ids) == 1
    )
    view["choose"] = "one" if one else "several"
    if moderator:
        view["correct_option_ids"] = sorted(poll.correct_option_ids)
    if viewer_id is not None:
        view.update(personal_poll_fields(poll, viewer_id))
    results: dict[str, Any] | None = None
    if poll.state is not PollState.DRAFT and (moderator or poll.results_shared):
        full = poll.results()
        results = {"voters": full["voters"], "options": full["options"]}
        if moderator and poll.kind is PollKind.QUIZ:
            results["scores"] = poll.scores()
    view["results"] = results
    return view


def personal_poll_fields(poll: Poll, viewer_id: str) -> dict[str, Any]:
    """``voted`` and ``my_choice`` of one viewer (an anonymous poll does not
    know the choice, only the "has voted" mark)."""
    return {
        "voted": poll.has_voted(viewer_id),
        "my_choice": None if poll.anonymous else poll.ballot_of(viewer_id),
    }


def meeting_view(
    state: MeetingState,
    viewer_id: str,
    chat: list[dict[str, Any]],
    recording: dict[str, Any] | None = None,
    default_language: str = "en-US",
) -> dict[str, Any]:
    """The Meeting object of the join acknowledgement and ``meeting_state``;
    ``chat`` is the history from the store's chat log, ``recording`` the
    room's recording status (None: not recording), ``default_language`` the
    deployment's (a meeting without its own is in it)."""
    role = state.roles.role_of(viewer_id)
    moderator = is_moderator(role)
    return {
        "meeting_id": state.meeting_id,
        "title": state.title,
        "role": role.value,
        "locked": state.access.locked,
        "lobby_enabled": state.access.lobby_enabled,
        "has_passcode": state.access.has_passcode,
        "passcode": state.access.passcode if moderator else None,
        "host_key": state.host_key if role is Role.HOST else None,
        "hands": state.hands.snapshot(),
        "chat": chat,
        "polls": [
            poll_view(poll, role, viewer_id)
            for poll in state.polls.polls()
            if visible_to(poll, role)
        ],
        "questionnaires": questionnaires_for(state, viewer_id),
        "lobby": [entry.to_wire() for entry in state.access.lobby.waiting()] if moderator else [],
        "mic_locked": mic_locked(state, viewer_id),
        "spotlight": state.spotlight,
        "checkin": checkin_of(state, viewer_id),
        "recording": recording,
        "captions": state.captions,
        "decisions": state.decisions.snapshot(),
        "participation": state.participation.setting(),
        "language": state.language or default_language,
    }


def checkin_of(state: MeetingState, viewer_id: str) -> dict[str, str] | None:
    """The check-in code of the viewer's physical room, if it has one (room
    devices show it so that people in the room can check in)."""
    member = state.members.get(viewer_id)
    if member is None or member.zone is None:
        return None
    for code, zone in state.checkins.items():
        if zone == member.zone:
            return {"zone": zone, "code": code}
    return None


def mic_locked(state: MeetingState, participant_id: str) -> bool:
    """True if this person may not unmute themselves."""
    role = state.roles.role_of(participant_id)
    return not state.mic_locks.may_unmute_self(participant_id, role)


def meeting_settings(state: MeetingState, moderator: bool = False) -> dict[str, Any]:
    """The payload of ``meeting_updated`` (with the passcode for hosts and
    co-hosts)."""
    settings: dict[str, Any] = {
        "locked": state.access.locked,
        "lobby_enabled": state.access.lobby_enabled,
        "has_passcode": state.access.has_passcode,
        "captions": state.captions,
        "participation": state.participation.setting(),
    }
    if moderator:
        settings["passcode"] = state.access.passcode
    return settings


def lobby_payload(state: MeetingState) -> dict[str, Any]:
    """The payload of ``lobby_changed``."""
    return {"lobby": [entry.to_wire() for entry in state.access.lobby.waiting()]}


def meeting_summary(state: MeetingState) -> dict[str, Any]:
    """Who the meeting is, in webhook payloads."""
    return {
        "meeting_id": state.meeting_id,
        "room": state.room,
        "title": state.title,
        "chat_id": state.chat_id,
    }


def member_summary(state: MeetingState, participant_id: str) -> dict[str, Any]:
    member = state.members.get(participant_id)
    if member is None:
        return {"id": participant_id}
    return {
        "id": participant_id,
        "name": member.name,
        "user_id": member.user_id,
        "mode": member.mode,
        "zone": member.zone,
    }
