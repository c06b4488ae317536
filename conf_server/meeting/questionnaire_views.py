"""What one person sees of a meeting's questionnaires: the Questionnaire object
of docs/protocol.md, filtered by the viewer's role. Pure functions, no I/O."""

from __future__ import annotations

from typing import Any

from conf_server.domain import Role
from conf_server.domain.meeting_state import MeetingState
from conf_server.domain.questionnaires import Questionnaire, QuestionnaireState


def _moderator(role: Role) -> bool:
    return role is not Role.PARTICIPANT


def questionnaire_visible_to(item: Questionnaire, role: Role) -> bool:
    """Drafts are for hosts and co-hosts only."""
    return _moderator(role) or item.state is not QuestionnaireState.DRAFT


def member_names(state: MeetingState) -> dict[str, str]:
    """Participant id -> display name of everyone who was in the meeting."""
    return {pid: member.name for pid, member in state.members.items()}


def questionnaire_view(
    item: Questionnaire,
    role: Role,
    names: dict[str, str],
    viewer_id: str | None = None,
) -> dict[str, Any]:
    """The Questionnaire object for a viewer with ``role``: the form, the
    viewer's own answers (when ``viewer_id`` is given) and the results for
    hosts and co-hosts (free texts with names when named) or, once shared,
    for everyone (free texts without names)."""
    moderator = _moderator(role)
    view = item.describe()
    if viewer_id is not None:
        view.update(personal_questionnaire_fields(item, viewer_id))
    results: dict[str, Any] | None = None
    if item.state is not QuestionnaireState.DRAFT and (moderator or item.results_shared):
        full = item.results(names=names if moderator else None)
        results = {"respondents": full["respondents"], "questions": full["questions"]}
    view["results"] = results
    return view


def personal_questionnaire_fields(item: Questionnaire, viewer_id: str) -> dict[str, Any]:
    """``answered`` and ``my_answers`` of one viewer (an anonymous
    questionnaire knows only that the viewer answered, not what)."""
    return {
        "answered": item.has_answered(viewer_id),
        "my_answers": None if item.anonymous else item.answers_of(viewer_id),
    }


def questionnaires_for(state: MeetingState, viewer_id: str) -> list[dict[str, Any]]:
    """The questionnaires of the join acknowledgement and ``meeting_state``."""
    role = state.roles.role_of(viewer_id)
    names = member_names(state)
    return [
        questionnaire_view(item, role, names, viewer_id)
        for item in state.questionnaires.items()
        if questionnaire_visible_to(item, role)
    ]
