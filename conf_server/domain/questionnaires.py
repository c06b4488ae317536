"""Questionnaires: several questions answered as one form.

A questionnaire has a title and 1 to :data:`MAX_QUESTIONS` questions, each of a
:class:`QuestionKind`: ``single`` or ``multiple`` choice (2 to 20 options, as in
polls), ``rating`` (a whole number 1 to 5) or ``text`` (one line of at most the
question's ``max_length`` characters, capped at :data:`MAX_TEXT_ANSWER`). Life
cycle as for polls: ``draft`` (editable) -> ``open`` (launched once, takes
answers) -> ``closed``. Who may create, launch and close is ``manage_polls``,
checked by the caller.

**Answering** (:meth:`Questionnaire.answer`): one *sheet* per person, a dict
``{question_id: value}``; a question may be left out (every question is
optional), but a sheet answers at least one. Sending a sheet again while the
questionnaire is open replaces the person's sheet (editing). A refused sheet
changes nothing.

**Anonymous questionnaires keep no link between a person and a sheet.** They
keep the set of people who have answered (one sheet per person) and, apart
from it, the sheets keyed by the SHA-256 of a random *answer handle*. The
handle is made at the first answer and given only to the answering client (in
the acknowledgement); to edit, the client sends it back. Nothing the server
stores (or a report, export or webhook shows) ties a handle to a person.
Trade-offs: a client that loses its handle (a reload without storage) can no
longer edit its answer (:class:`AlreadyAnswered`); whoever holds a handle may
edit that sheet, so it is a secret like a password; and, as with polls, a host
watching live results while one person answers sees which counts moved.
Free-text answers of an anonymous questionnaire are listed sorted by text, not
in the order they came.

Results (:meth:`Questionnaire.results`) per question: answer counts and
percentages (of the people who answered that question) for choices, the mean
and the distribution for a rating, and the list of texts for free text (with
names only for a named questionnaire, and only when the caller passes them).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import (
    AlreadyAnswered,
    InvalidAction,
    NotAMember,
    QuestionnaireClosed,
    QuestionnaireNotOpen,
    UnknownOption,
)
from .life_cycle import LifeCycle, PollState
from .polls import MAX_OPTION_TEXT, MAX_OPTIONS, MAX_QUESTION, MIN_OPTIONS, PollOption, clean_line

MAX_QUESTIONS = 20
MAX_TITLE = 200
#: The longest free-text answer a question may allow, and its default.
MAX_TEXT_ANSWER = 500
DEFAULT_TEXT_ANSWER = 200
#: The sum of the text questions' ``max_length`` in one questionnaire: bounds
#: what one sheet can add to the meeting state (saved on every change).
MAX_TEXT_PER_SHEET = 2000
RATINGS = (1, 2, 3, 4, 5)

#: The states of a questionnaire are those of a poll.
QuestionnaireState = PollState

Answer = str | list[str] | int


class QuestionKind(StrEnum):
    """What a question asks for."""

    SINGLE = "single"
    MULTIPLE = "multiple"
    RATING = "rating"
    TEXT = "text"


CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)


@dataclass(frozen=True, slots=True)
class Question:
    """One question; ids are ``q1``, ``q2``, ... in the given order."""

    id: str
    kind: QuestionKind
    prompt: str
    options: tuple[PollOption, ...] = ()
    max_length: int = 0

    @classmethod
    def from_spec(cls, number: int, raw: Any) -> Question:
        """Question number ``number`` (from 1) from its spec ``{kind, prompt,
        options?, max_length?}``; :class:`InvalidAction` names what is wrong."""
        what = f"question {number}"
        if not isinstance(raw, Mapping):
            raise InvalidAction(f"{what} must be an object")
        try:
            kind = QuestionKind(str(raw.get("kind")))
        except ValueError:
            raise InvalidAction(f"{what}: kind must be single, multiple, rating or text") from None
        prompt = clean_line(raw.get("prompt", ""), f"the prompt of {what}", MAX_QUESTION)
        options: tuple[PollOption, ...] = ()
        max_length = 0
        raw_options = raw.get("options")
        if kind in CHOICE_KINDS:
            if not isinstance(raw_options, Sequence) or isinstance(raw_options, str):
                raise InvalidAction(f"{what} needs a list of options")
            if not MIN_OPTIONS <= len(raw_options) <= MAX_OPTIONS:
                raise InvalidAction(f"{what} needs {MIN_OPTIONS} to {MAX_OPTIONS} options")
            texts = [clean_line(t, f"an option of {what}", MAX_OPTION_TEXT) for t in raw_options]
            if len(set(texts)) != len(texts):
                raise InvalidAction(f"{what}: two options have the same text")
            options = tuple(PollOption(f"o{i}", text) for i, text in enumerate(texts, start=1))
        elif raw_options:
            raise InvalidAction(f"{what}: only choice questions have options")
        if kind is QuestionKind.TEXT:
            max_length = raw.get("max_length", DEFAULT_TEXT_ANSWER)
            if (
                not isinstance(max_length, int)
                or isinstance(max_length, bool)
                or not 1 <= max_length <= MAX_TEXT_ANSWER
            ):
                raise InvalidAction(f"{what}: max_length must be 1 to {MAX_TEXT_ANSWER}")
        elif raw.get("max_length") is not None:
            raise InvalidAction(f"{what}: only text questions have max_length")
        return cls(f"q{number}", kind, prompt, options, max_length)

    def to_spec(self) -> dict[str, Any]:
        """The spec this question was made from (its texts cleaned)."""
        spec: dict[str, Any] = {"kind": self.kind.value, "prompt": self.prompt}
        if self.kind in CHOICE_KINDS:
            spec["options"] = [option.text for option in self.options]
        if self.kind is QuestionKind.TEXT:
            spec["max_length"] = self.max_length
        return spec

    def describe(self) -> dict[str, Any]:
        """The question as the form shows it (option ids included)."""
        view = {"id": self.id, **self.to_spec()}
        if self.kind in CHOICE_KINDS:
            view["options"] = [{"id": o.id, "text": o.text} for o in self.options]
        return view

    def checked(self, value: Any) -> Answer:
        """``value`` as stored, or :class:`InvalidAction` / :class:`UnknownOption`."""
        known = [option.id for option in self.options]
        if self.kind is QuestionKind.SINGLE:
            if not isinstance(value, str):
                raise InvalidAction(f"the answer to {self.id} must be one option id")
            if value not in known:
                raise UnknownOption(f"question {self.id} has no option {value}")
            return value
        if self.kind is QuestionKind.MULTIPLE:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidAction(f"the answer to {self.id} must be a list of option ids")
            unknown = sorted(set(value) - set(known))
            if unknown:
                raise UnknownOption(f"question {self.id} has no option {', '.join(unknown)}")
            if not value or len(set(value)) != len(value):
                raise InvalidAction(f"choose each option of {self.id} at most once, at least one")
            return sorted(value, key=known.index)
        if self.kind is QuestionKind.RATING:
            if isinstance(value, bool) or value not in RATINGS:
                raise InvalidAction(f"the answer to {self.id} must be a whole number 1 to 5")
            return int(value)
        if not isinstance(value, str) or len(value) > 4 * MAX_TEXT_ANSWER:
            raise InvalidAction(f"the answer to {self.id} must be text")
        return clean_line(value, f"the answer to {self.id}", self.max_length)


@dataclass(frozen=True, slots=True)
class QuestionnaireSpec:
    """What a questionnaire asks, as its author wrote it (new or an edit)."""

    title: str
    questions: Sequence[Mapping[str, Any]]
    anonymous: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuestionnaireSpec:
        """From a message's, a request's or a stored questionnaire's fields."""
        return cls(data.get("title", ""), data.get("questions", ()), bool(data.get("anonymous")))


def handle_key(handle: str) -> str:
    """What an anonymous sheet is stored under: the SHA-256 of its handle."""
    return hashlib.sha256(handle.encode()).hexdigest()


def _percent(count: int, of: int) -> float:
    return round(100.0 * count / of, 1) if of else 0.0


class Questionnaire(LifeCycle):
    """One questionnaire of a meeting, with its sheets (see the module docstring)."""

    noun = "questionnaire"
    closed_error = QuestionnaireClosed

    def __init__(self, questionnaire_id: str, spec: QuestionnaireSpec) -> None:
        super().__init__()
        self.id = questionnaire_id
        #: Named: participant id -> sheet. Anonymous: handle_key -> sheet.
        self._sheets: dict[str, dict[str, Answer]] = {}
        self._answered: set[str] = set()  # anonymous only
        self._configure(spec)

    def _configure(self, spec: QuestionnaireSpec) -> None:
        title = clean_line(spec.title, "the title", MAX_TITLE)
        raw = spec.questions
        if isinstance(raw, str | Mapping) or not isinstance(raw, Sequence):
            raise InvalidAction("questions must be a list")
        if not 1 <= len(raw) <= MAX_QUESTIONS:
            raise InvalidAction(f"a questionnaire needs 1 to {MAX_QUESTIONS} questions")
        questions = tuple(Question.from_spec(n, q) for n, q in enumerate(raw, start=1))
        if sum(q.max_length for q in questions) > MAX_TEXT_PER_SHEET:
            raise InvalidAction(
                f"the text questions' max_length add up to more than {MAX_TEXT_PER_SHEET}"
            )
        self.title = title
        self.questions = questions
        self.anonymous = bool(spec.anonymous)

    def spec(self) -> dict[str, Any]:
        """The content as a spec (title, anonymous, questions)."""
        return {
            "title": self.title,
            "anonymous": self.anonymous,
            "questions": [q.to_spec() for q in self.questions],
        }

    # -- life cycle ---------------------------------------------------------------

    def edit(self, spec: QuestionnaireSpec) -> None:
        """Replace the content of a draft (same rules as the constructor)."""
        if self.state is not QuestionnaireState.DRAFT:
            raise InvalidAction("only a draft questionnaire can be edited")
        self._configure(spec)

    # -- answering ----------------------------------------------------------------

    def answer(
        self,
        participant_id: str,
        answers: Mapping[str, Any],
        is_member: bool,
        handle: str | None = None,
    ) -> str | None:
        """Store (or replace) ``participant_id``'s sheet. Returns the answer
        handle of an anonymous sheet (new at the first answer), else None."""
        if self.state is QuestionnaireState.DRAFT:
            raise QuestionnaireNotOpen("the questionnaire has not been launched yet")
        if self.state is QuestionnaireState.CLOSED:
            raise QuestionnaireClosed("the questionnaire is closed; answers are not accepted")
        if not is_member:
            raise NotAMember("only members of the meeting may answer")
        sheet = self._checked_sheet(answers)
        if not self.anonymous:
            self._sheets[participant_id] = sheet
            return None
        if participant_id not in self._answered:
            # A handle sent before a first answer is ignored: a fresh sheet
            # must never land on someone else's.
            handle = secrets.token_urlsafe(18)
            self._answered.add(participant_id)
            self._sheets[handle_key(handle)] = sheet
            return handle
        if not isinstance(handle, str) or handle_key(handle) not in self._sheets:
            raise AlreadyAnswered(
                "you have answered; an anonymous answer is changed only with its answer handle"
            )
        self._sheets[handle_key(handle)] = sheet
        return handle

    def _checked_sheet(self, answers: Mapping[str, Any]) -> dict[str, Answer]:
        if not isinstance(answers, Mapping):
            raise InvalidAction("answers must be an object of question id -> answer")
        by_id = {q.id: q for q in self.questions}
        unknown = sorted(set(answers) - set(by_id))
        if unknown:
            raise InvalidAction(f"the questionnaire has no question {', '.join(unknown)}")
        sheet = {q.id: q.checked(answers[q.id]) for q in self.questions if q.id in answers}
        if not sheet:
            raise InvalidAction("answer at least one question")
        return sheet

    def has_answered(self, participant_id: str) -> bool:
        """One sheet per person: True once ``participant_id`` answered."""
        return participant_id in self._answered or (
            not self.anonymous and participant_id in self._sheets
        )

    def answers_of(self, participant_id: str) -> dict[str, Answer] | None:
        """A named questionnaire's sheet of ``participant_id`` (None if none).
        An anonymous one does not know: :class:`InvalidAction`."""
        if self.anonymous:
            raise InvalidAction("an anonymous questionnaire does not know who answered what")
        sheet = self._sheets.get(participant_id)
        return None if sheet is None else dict(sheet)

    def sheets(self) -> dict[str, dict[str, Answer]]:
        """A named questionnaire's sheets by participant id, in answer order."""
        if self.anonymous:
            raise InvalidAction("an anonymous questionnaire does not know who answered what")
        return {pid: dict(sheet) for pid, sheet in self._sheets.items()}

    @property
    def respondents(self) -> int:
        """How many people have answered."""
        return len(self._sheets)

    # -- views ----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What every member sees: the form, without results."""
        return {
            "questionnaire_id": self.id,
            "title": self.title,
            "anonymous": self.anonymous,
            "state": self.state.value,
            "results_shared": self.results_shared,
            "questions": [q.describe() for q in self.questions],
        }

    def results(self, names: Mapping[str, str] | None = None, texts: bool = True) -> dict[str, Any]:
        """Aggregate results, JSON-able. ``names`` (participant id -> name)
        puts who wrote each free text in a named questionnaire; ``texts``
        False leaves the free texts out (their count stays)."""
        sheets = list(self._sheets.items())
        rows = []
        for question in self.questions:
            given = [(key, sheet[question.id]) for key, sheet in sheets if question.id in sheet]
            row: dict[str, Any] = {
                "question_id": question.id,
                "kind": question.kind.value,
                "prompt": question.prompt,
                "answered": len(given),
            }
            if question.kind in CHOICE_KINDS:
                counts = dict.fromkeys((o.id for o in question.options), 0)
                for _, value in given:
                    for option_id in [value] if isinstance(value, str) else value:  # type: ignore[union-attr]
                        counts[option_id] += 1
                row["options"] = [
                    {
                        "id": o.id,
                        "text": o.text,
                        "votes": counts[o.id],
                        "percent": _percent(counts[o.id], len(given)),
                    }
                    for o in question.options
                ]
            elif question.kind is QuestionKind.RATING:
                values = [int(value) for _, value in given]  # type: ignore[arg-type]
                row["mean"] = round(sum(values) / len(values), 2) if values else None
                row["distribution"] = [
                    {
                        "value": r,
                        "count": values.count(r),
                        "percent": _percent(values.count(r), len(values)),
                    }
                    for r in RATINGS
                ]
            elif texts:
                row["answers"] = self._text_answers(question.id, given, names)
            rows.append(row)
        return {
            "questionnaire_id": self.id,
            "title": self.title,
            "anonymous": self.anonymous,
            "state": self.state.value,
            "respondents": len(sheets),
            "questions": rows,
        }

    def _text_answers(
        self, question_id: str, given: list[tuple[str, Answer]], names: Mapping[str, str] | None
    ) -> list[dict[str, Any]]:
        if self.anonymous:
            return [{"text": text} for text in sorted(str(value) for _, value in given)]
        answers = []
        for participant_id, value in given:
            item: dict[str, Any] = {"text": value}
            if names is not None:
                item["participant_id"] = participant_id
                item["name"] = names.get(participant_id, participant_id)
            answers.append(item)
        return answers

    # -- storage --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state. An anonymous questionnaire's dict has the
        sorted list of who answered and the sheets sorted by handle key, and
        nothing that links the two."""
        data: dict[str, Any] = {
            "id": self.id,
            **self.spec(),
            "state": self.state.value,
            "results_shared": self.results_shared,
            "launched_at": self.launched_at,
            "closed_at": self.closed_at,
        }
        if self.anonymous:
            data["answered"] = sorted(self._answered)
            data["sheets"] = dict(sorted(self._sheets.items()))
        else:
            data["sheets"] = dict(self._sheets)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Questionnaire:
        """Rebuild from :meth:`to_dict` output."""
        item = cls(data["id"], QuestionnaireSpec.from_dict(data))
        item.state = QuestionnaireState(data["state"])
        item.results_shared = bool(data["results_shared"])
        item.launched_at = data["launched_at"]
        item.closed_at = data["closed_at"]
        item._sheets = {key: dict(sheet) for key, sheet in data["sheets"].items()}
        item._answered = set(data.get("answered", ()))
        return item
