"""Validation of the questionnaire messages (docs/protocol.md, "Questionnaires").

Shape only, as in :mod:`signaling.meeting_messages`: required fields, types,
generous size caps, texts in Unicode normal form C. The domain
(conf_server/domain/questionnaires.py) judges meaning: question kinds, option
counts, text lengths, unknown options, with its own error codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import InvalidPayload
from .meeting_messages import (
    MAX_ID,
    MAX_LIST,
    MAX_POLL_TEXT,
    Payload,
    _choice,
    _flag,
    _id,
    _no_extra,
    _required_id,
    _strings,
    _text,
)
from .text import nfc

QUESTION_FIELDS = {"kind", "prompt", "options", "max_length"}
CONTENT_FIELDS = {"title", "anonymous", "questions"}
#: More than the domain allows (20 questions): it gives the precise error.
MAX_QUESTIONS = 32


def _question(index: int, raw: Any) -> Payload:
    if not isinstance(raw, dict):
        raise InvalidPayload(f"questions[{index}] must be an object")
    _no_extra(raw, QUESTION_FIELDS)
    question: Payload = {
        "kind": _choice(raw, "kind", ("single", "multiple", "rating", "text")),
        "prompt": _text(raw, "prompt", MAX_POLL_TEXT),
    }
    if "options" in raw:
        question["options"] = [nfc(o) for o in _strings(raw, "options", MAX_POLL_TEXT)]
    if raw.get("max_length") is not None:
        length = raw["max_length"]
        if not isinstance(length, int) or isinstance(length, bool) or not 0 < length < 2**31:
            raise InvalidPayload(f"questions[{index}].max_length must be a positive integer")
        question["max_length"] = length
    return question


def _content(payload: Payload) -> Payload:
    questions = payload.get("questions")
    if not isinstance(questions, list) or len(questions) > MAX_QUESTIONS:
        raise InvalidPayload(f"field 'questions' must be a list of at most {MAX_QUESTIONS}")
    return {
        "title": _text(payload, "title", MAX_POLL_TEXT),
        "anonymous": _flag(payload, "anonymous"),
        "questions": [_question(index, raw) for index, raw in enumerate(questions)],
    }


def validate_questionnaire_create(payload: Payload) -> Payload:
    _no_extra(payload, CONTENT_FIELDS)
    return _content(payload)


def validate_questionnaire_edit(payload: Payload) -> Payload:
    _no_extra(payload, CONTENT_FIELDS | {"questionnaire_id"})
    return {"questionnaire_id": _id(payload, "questionnaire_id"), **_content(payload)}


def _answer_value(name: str, value: Any) -> Any:
    if isinstance(value, str):
        if len(value) > MAX_POLL_TEXT:
            raise InvalidPayload(f"the answer to {name!r} is longer than {MAX_POLL_TEXT}")
        return nfc(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**31:
        return value
    if isinstance(value, list):
        return _strings({name: value}, name, MAX_ID)
    raise InvalidPayload(f"the answer to {name!r} must be text, a number or a list of option ids")


def validate_questionnaire_answer(payload: Payload) -> Payload:
    _no_extra(payload, {"questionnaire_id", "answers", "handle"})
    answers = payload.get("answers")
    if not isinstance(answers, dict) or len(answers) > MAX_LIST:
        raise InvalidPayload(f"field 'answers' must be an object of at most {MAX_LIST} answers")
    if not all(isinstance(key, str) and 0 < len(key) <= MAX_ID for key in answers):
        raise InvalidPayload("field 'answers' must be keyed by question ids")
    return {
        "questionnaire_id": _id(payload, "questionnaire_id"),
        "answers": {key: _answer_value(key, value) for key, value in answers.items()},
        "handle": _id(payload, "handle", optional=True),
    }


def validate_questionnaire_export(payload: Payload) -> Payload:
    _no_extra(payload, {"format", "answers"})
    return {
        "format": _choice(payload, "format", ("json", "csv")),
        "answers": _flag(payload, "answers"),
    }


QUESTIONNAIRE_VALIDATORS: dict[str, Callable[[Payload], Payload]] = {
    "questionnaire_create": validate_questionnaire_create,
    "questionnaire_edit": validate_questionnaire_edit,
    "questionnaire_delete": _required_id("questionnaire_id"),
    "questionnaire_launch": _required_id("questionnaire_id"),
    "questionnaire_close": _required_id("questionnaire_id"),
    "questionnaire_share": _required_id("questionnaire_id"),
    "questionnaire_answer": validate_questionnaire_answer,
    "questionnaire_export": validate_questionnaire_export,
}
