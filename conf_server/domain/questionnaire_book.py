"""All questionnaires of one meeting, prepared (as drafts) before or during it.

As for :class:`~conf_server.domain.poll_book.PollBook`, the caller checks
``manage_polls`` (create, edit, delete, launch, close, share) and ``vote``
(answer) before calling in. Several questionnaires may be open at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import InvalidAction, UnknownQuestionnaire
from .questionnaires import Questionnaire, QuestionnaireSpec, QuestionnaireState

#: Most questionnaires one meeting may hold (drafts included): with at most
#: MAX_TEXT_PER_SHEET characters of text per sheet this bounds the state.
MAX_QUESTIONNAIRES = 20


class QuestionnaireBook:
    """The questionnaires of one meeting, in creation order, ids ``qn1``, ``qn2``, ..."""

    def __init__(self, max_items: int = MAX_QUESTIONNAIRES) -> None:
        self.max_items = max_items
        self._items: dict[str, Questionnaire] = {}
        self._next_number = 1

    def create(self, spec: QuestionnaireSpec) -> Questionnaire:
        """Add a draft (see :class:`Questionnaire` for the rules)."""
        if len(self._items) >= self.max_items:
            raise InvalidAction(f"a meeting holds at most {self.max_items} questionnaires")
        item = Questionnaire(f"qn{self._next_number}", spec)
        self._next_number += 1
        self._items[item.id] = item
        return item

    def get(self, questionnaire_id: str) -> Questionnaire:
        """The questionnaire with that id, or :class:`UnknownQuestionnaire`."""
        item = self._items.get(questionnaire_id)
        if item is None:
            raise UnknownQuestionnaire(f"no questionnaire {questionnaire_id!r} in this meeting")
        return item

    def delete(self, questionnaire_id: str) -> None:
        """Delete a draft; launched ones stay so their results are never lost."""
        if self.get(questionnaire_id).state is not QuestionnaireState.DRAFT:
            raise InvalidAction("only a draft questionnaire can be deleted")
        del self._items[questionnaire_id]

    def close_all(self, now: float) -> list[Questionnaire]:
        """Close every open questionnaire (the meeting ends); returns those closed."""
        closed = [q for q in self._items.values() if q.state is QuestionnaireState.OPEN]
        for item in closed:
            item.close(now)
        return closed

    def answer(
        self,
        questionnaire_id: str,
        participant_id: str,
        answers: Mapping[str, Any],
        is_member: bool,
        handle: str | None = None,
    ) -> tuple[Questionnaire, str | None]:
        """Store a sheet (see :meth:`Questionnaire.answer`); returns the
        questionnaire and the anonymous answer handle (else None)."""
        item = self.get(questionnaire_id)
        return item, item.answer(participant_id, answers, is_member, handle)

    def items(self, state: QuestionnaireState | None = None) -> list[Questionnaire]:
        """Questionnaires in creation order, all or only those in ``state``."""
        return [q for q in self._items.values() if state is None or q.state is state]

    def launched(self) -> list[Questionnaire]:
        """Those with results: launched (open or closed)."""
        return [q for q in self._items.values() if q.state is not QuestionnaireState.DRAFT]

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state."""
        return {
            "max_items": self.max_items,
            "next_number": self._next_number,
            "items": [q.to_dict() for q in self._items.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuestionnaireBook:
        """Rebuild from :meth:`to_dict` output."""
        book = cls(int(data["max_items"]))
        book._next_number = int(data["next_number"])
        for raw in data["items"]:
            item = Questionnaire.from_dict(raw)
            book._items[item.id] = item
        return book
