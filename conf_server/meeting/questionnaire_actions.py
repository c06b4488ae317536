"""Questionnaire actions (docs/protocol.md, "Questionnaires"): hosts and
co-hosts prepare, launch, close and share them; members answer.

As in :mod:`conf_server.meeting.interaction`, every handler checks permissions
in the meeting state inside a store transaction and sends events only after the
change is saved, so one node and several nodes sharing Redis behave alike.
Live results reach hosts and co-hosts coalesced (at most one update per
questionnaire per RESULTS_INTERVAL), and everyone once a host shares them.
"""

from __future__ import annotations

import json
from typing import Any

from conf_server.domain import Action, Role, authorize
from conf_server.domain.errors import InvalidAction
from conf_server.domain.meeting_state import MeetingState
from conf_server.domain.questionnaire_export import answers_csv, export, results_csv
from conf_server.domain.questionnaires import Questionnaire, QuestionnaireSpec

from .coalesced_sends import CoalescedSends
from .interaction import RESULTS_INTERVAL
from .meeting_context import ActionHandler, MeetingContext, RoomView
from .meeting_views import meeting_summary
from .questionnaire_views import (
    member_names,
    personal_questionnaire_fields,
    questionnaire_view,
    questionnaire_visible_to,
)
from .rooms import Participant
from .viewer_sends import send_to_viewers

Result = dict[str, Any] | None


def publish_questionnaire_closed(
    service: RoomView, state: MeetingState, item: Questionnaire
) -> None:
    """``questionnaire.closed`` with the aggregates only: counts, percentages,
    means and how many answered each free-text question (never the texts nor
    who answered what; those are in the report)."""
    results = item.results(texts=False)
    service.publisher.publish(
        "questionnaire.closed", {**meeting_summary(state), "questionnaire": results}
    )
    service.note_timeline(state.room, "questionnaire.closed", {"questionnaire": results})


class QuestionnaireActions:
    """The questionnaires of every room on this node."""

    def __init__(self, service: MeetingContext) -> None:
        self._service = service
        self._coalesced = CoalescedSends(service, RESULTS_INTERVAL)

    def handlers(self) -> dict[str, ActionHandler]:
        return {
            "questionnaire_create": self.create,
            "questionnaire_edit": self.edit,
            "questionnaire_delete": self.delete,
            "questionnaire_launch": self.launch,
            "questionnaire_close": self.close,
            "questionnaire_share": self.share,
            "questionnaire_answer": self.answer,
            "questionnaire_export": self.export,
        }

    async def _changed(
        self, state: MeetingState, item: Questionnaire, everyone: bool = True
    ) -> None:
        """Send ``questionnaire_changed`` to each viewer as they see it (the
        role's view built once; only the personal fields differ). With
        ``everyone`` False only hosts and co-hosts get it (results moved but
        nobody else sees results)."""
        names = member_names(state)
        by_role = {
            role: questionnaire_view(item, role, names)
            for role in Role
            if questionnaire_visible_to(item, role) and (everyone or role is not Role.PARTICIPANT)
        }
        await send_to_viewers(
            self._service,
            state,
            "questionnaire_changed",
            "questionnaire",
            by_role,
            lambda viewer: personal_questionnaire_fields(item, viewer),
        )

    def _results_moved(self, room: str, questionnaire_id: str) -> None:
        self._coalesced.send_later(
            (room, questionnaire_id), lambda: self._send_results(room, questionnaire_id)
        )

    async def _send_results(self, room: str, questionnaire_id: str) -> None:
        state = await self._service.store.get(room)
        if state is None:
            return
        item = next((q for q in state.questionnaires.items() if q.id == questionnaire_id), None)
        if item is not None:
            await self._changed(state, item, everyone=item.results_shared)

    def _own_view(
        self, state: MeetingState, item: Questionnaire, actor: Participant
    ) -> dict[str, Any]:
        role = state.roles.role_of(actor.id)
        return questionnaire_view(item, role, member_names(state), actor.id)

    async def create(self, actor: Participant, **content: Any) -> Result:
        """``content``: title, anonymous, questions (signaling/questionnaire_messages.py)."""
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            item = state.questionnaires.create(QuestionnaireSpec.from_dict(content))
        await self._changed(state, item)
        return {"questionnaire": self._own_view(state, item, actor)}

    async def edit(self, actor: Participant, questionnaire_id: str, **content: Any) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            item = state.questionnaires.get(questionnaire_id)
            item.edit(QuestionnaireSpec.from_dict(content))
        await self._changed(state, item)
        return {"questionnaire": self._own_view(state, item, actor)}

    async def delete(self, actor: Participant, questionnaire_id: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            state.questionnaires.delete(questionnaire_id)
        await self._service.to_moderators(
            state, "questionnaire_deleted", {"questionnaire_id": questionnaire_id}
        )
        return None

    async def launch(self, actor: Participant, questionnaire_id: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            item = state.questionnaires.get(questionnaire_id)
            item.launch(self._service.clock())
        await self._changed(state, item)
        form = item.describe()
        self._service.publisher.publish(
            "questionnaire.launched", {**meeting_summary(state), "questionnaire": form}
        )
        self._service.note_timeline(actor.room, "questionnaire.launched", {"questionnaire": form})
        return None

    async def close(self, actor: Participant, questionnaire_id: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            item = state.questionnaires.get(questionnaire_id)
            changed = item.close(self._service.clock())
        if changed:
            await self._changed(state, item)
            publish_questionnaire_closed(self._service, state, item)
        return None

    async def share(self, actor: Participant, questionnaire_id: str) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.MANAGE_POLLS)
            item = state.questionnaires.get(questionnaire_id)
            item.share_results()
        await self._changed(state, item)
        return None

    async def answer(
        self,
        actor: Participant,
        questionnaire_id: str,
        answers: dict[str, Any],
        handle: str | None,
    ) -> Result:
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.VOTE)
            item, handle = state.questionnaires.answer(
                questionnaire_id, actor.id, answers, state.is_member(actor.id), handle
            )
        if self._service.moderator_sids(state) or item.results_shared:
            self._results_moved(actor.room, questionnaire_id)
        reply: dict[str, Any] = {"questionnaire": self._own_view(state, item, actor)}
        if handle is not None:
            reply["handle"] = handle
        return reply

    async def export(self, actor: Participant, format: str, answers: bool) -> Result:
        state = await self._service.store.get(actor.room)
        if state is None:
            raise InvalidAction("this meeting has no questionnaires")
        authorize(state.roles, actor.id, Action.MANAGE_POLLS)
        names = member_names(state)
        launched = state.questionnaires.launched()
        stem = f"questionnaires-{state.room}"
        if format == "json":
            content = json.dumps(
                {"questionnaires": [export(item, names) for item in launched]},
                ensure_ascii=False,
                indent=2,
            )
            return {
                "filename": f"{stem}.json",
                "content_type": "application/json",
                "content": content,
            }
        if answers:
            content, stem = answers_csv(launched, names), f"{stem}-answers"
        else:
            content = results_csv(item.results() for item in launched)
        return {
            "filename": f"{stem}.csv",
            "content_type": "text/csv; charset=utf-8",
            "content": content,
        }
