"""Validation of the meeting-interaction messages (docs/protocol.md, "Meeting
interaction"): host controls, hands, chat, reactions, polls.

This layer checks shape only: required fields, types and generous size caps,
so nothing oversized reaches the domain, and hands texts on in Unicode normal
form C (signaling/text.py; lone surrogates never get this far, see
``well_formed`` in protocol.py). Meaning (is the text too long for a chat
message, does it hold a forbidden character, is the option known) is the
domain's to judge, with its own error codes, under the same text rule. Each
validator returns keyword arguments for the service's action of the same name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import InvalidPayload
from .text import nfc

Payload = dict[str, Any]

MAX_ID = 64
MAX_TEXT = 16 * 1024  # chat text; the domain's own limit (2000) gives message_too_long
MAX_POLL_TEXT = 4 * 1024
MAX_LIST = 64


def _no_extra(payload: Payload, allowed: set[str]) -> None:
    extra = set(payload) - allowed
    if extra:
        raise InvalidPayload(f"unknown field(s): {', '.join(sorted(map(str, extra)))}")


def _string(payload: Payload, name: str, limit: int, optional: bool = False) -> str | None:
    value = payload.get(name)
    if value is None:
        if optional:
            return None
        raise InvalidPayload(f"field {name!r} is required")
    if not isinstance(value, str):
        raise InvalidPayload(f"field {name!r} must be a string")
    if len(value) > limit:
        raise InvalidPayload(f"field {name!r} is longer than {limit} characters")
    return value


def _text(payload: Payload, name: str, limit: int) -> str:
    """A required text field, NFC-normalised (the domain checks its characters)."""
    value = _string(payload, name, limit)
    assert value is not None  # required: _string raised otherwise
    return nfc(value)


def _id(payload: Payload, name: str, optional: bool = False) -> str | None:
    value = _string(payload, name, MAX_ID, optional)
    if value == "":
        raise InvalidPayload(f"field {name!r} must not be empty")
    return value


def _flag(payload: Payload, name: str, default: bool | None = False) -> bool | None:
    value = payload.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidPayload(f"field {name!r} must be true or false")
    return value


def _strings(payload: Payload, name: str, limit: int, optional: bool = False) -> list[str]:
    value = payload.get(name)
    if value is None:
        if optional:
            return []
        raise InvalidPayload(f"field {name!r} is required")
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise InvalidPayload(f"field {name!r} must be a list of at most {MAX_LIST} strings")
    if not all(isinstance(item, str) and len(item) <= limit for item in value):
        raise InvalidPayload(f"field {name!r} must hold strings of at most {limit} characters")
    return list(value)


def _choice(
    payload: Payload, name: str, choices: tuple[str, ...], default: str | None = None
) -> str:
    value = payload.get(name, default)
    if value not in choices:
        raise InvalidPayload(f"field {name!r} must be one of {', '.join(choices)}")
    assert isinstance(value, str)
    return value


def _shape(*fields: str) -> Callable[[Payload], Payload]:
    """A validator for messages whose fields are all optional ids."""

    def validate(payload: Payload) -> Payload:
        _no_extra(payload, set(fields))
        return {name: _id(payload, name, optional=True) for name in fields}

    return validate


def _required_id(*fields: str) -> Callable[[Payload], Payload]:
    def validate(payload: Payload) -> Payload:
        _no_extra(payload, set(fields))
        return {name: _id(payload, name) for name in fields}

    return validate


def validate_chat_send(payload: Payload) -> Payload:
    _no_extra(payload, {"text"})
    return {"text": _text(payload, "text", MAX_TEXT)}


def validate_mark_decision(payload: Payload) -> Payload:
    _no_extra(payload, {"text"})
    return {"text": _text(payload, "text", MAX_TEXT)}


def validate_remove_decision(payload: Payload) -> Payload:
    _no_extra(payload, {"id"})
    value = payload.get("id")
    # bool is an int in Python: refuse it explicitly.
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2**31:
        raise InvalidPayload("field 'id' must be a decision id (a positive integer)")
    return {"decision_id": value}


def validate_react(payload: Payload) -> Payload:
    _no_extra(payload, {"emoji"})
    return {"emoji": _string(payload, "emoji", 16)}


def validate_mute_participant(payload: Payload) -> Payload:
    _no_extra(payload, {"participant_id", "lock"})
    return {"participant_id": _id(payload, "participant_id"), "lock": _flag(payload, "lock")}


def validate_mute_all(payload: Payload) -> Payload:
    _no_extra(payload, {"lock"})
    return {"lock": _flag(payload, "lock")}


def validate_stop_media(payload: Payload) -> Payload:
    _no_extra(payload, {"participant_id", "source"})
    return {
        "participant_id": _id(payload, "participant_id"),
        "source": _choice(payload, "source", ("camera", "screen")),
    }


def validate_set_role(payload: Payload) -> Payload:
    _no_extra(payload, {"participant_id", "role"})
    return {
        "participant_id": _id(payload, "participant_id"),
        "role": _choice(payload, "role", ("co_host", "participant")),
    }


def validate_configure_meeting(payload: Payload) -> Payload:
    _no_extra(payload, {"passcode", "lobby_enabled"})
    return {
        "set_passcode": "passcode" in payload,
        "passcode": _string(payload, "passcode", 256, optional=True),
        "lobby_enabled": _flag(payload, "lobby_enabled", None),
    }


def _poll_content(payload: Payload) -> Payload:
    return {
        "question": _text(payload, "question", MAX_POLL_TEXT),
        "options": [nfc(option) for option in _strings(payload, "options", MAX_POLL_TEXT)],
        "kind": _choice(payload, "kind", ("single", "multiple", "quiz"), "single"),
        "anonymous": _flag(payload, "anonymous"),
        "correct_option_ids": _strings(payload, "correct_option_ids", MAX_ID, optional=True),
    }


POLL_FIELDS = {"question", "options", "kind", "anonymous", "correct_option_ids"}


def validate_poll_create(payload: Payload) -> Payload:
    _no_extra(payload, POLL_FIELDS)
    return _poll_content(payload)


def validate_poll_edit(payload: Payload) -> Payload:
    _no_extra(payload, POLL_FIELDS | {"poll_id"})
    return {"poll_id": _id(payload, "poll_id"), **_poll_content(payload)}


def validate_poll_vote(payload: Payload) -> Payload:
    _no_extra(payload, {"poll_id", "option_ids"})
    return {
        "poll_id": _id(payload, "poll_id"),
        "option_ids": _strings(payload, "option_ids", MAX_ID),
    }


def validate_poll_export(payload: Payload) -> Payload:
    _no_extra(payload, {"format", "ballots"})
    return {
        "format": _choice(payload, "format", ("json", "csv")),
        "ballots": _flag(payload, "ballots"),
    }


def validate_recording(payload: Payload) -> Payload:
    _no_extra(payload, {"action"})
    return {"action": _choice(payload, "action", ("start", "pause", "resume", "stop"))}


def _required_flag(name: str) -> Callable[[Payload], Payload]:
    """A payload of exactly one boolean field ``name``."""

    def validate(payload: Payload) -> Payload:
        _no_extra(payload, {name})
        value = _flag(payload, name, None)
        if value is None:
            raise InvalidPayload(f"field {name!r} is required")
        return {name: value}

    return validate


MEETING_VALIDATORS: dict[str, Callable[[Payload], Payload]] = {
    "raise_hand": _shape(),
    "lower_hand": _shape("participant_id"),
    "lower_all_hands": _shape(),
    "next_hand": _shape(),
    "chat_send": validate_chat_send,
    "react": validate_react,
    "mark_decision": validate_mark_decision,
    "remove_decision": validate_remove_decision,
    "mute_participant": validate_mute_participant,
    "mute_all": validate_mute_all,
    "unlock_microphone": _shape("participant_id"),
    "stop_media": validate_stop_media,
    "remove_participant": _required_id("participant_id"),
    "set_role": validate_set_role,
    "lock_meeting": _required_flag("locked"),
    "configure_meeting": validate_configure_meeting,
    "admit": _shape("lobby_id"),
    "deny": _shape("lobby_id"),
    "end_meeting": _shape(),
    "spotlight": _shape("participant_id"),
    "recording_links": _shape(),
    "recording": validate_recording,
    "set_captions": _required_flag("enabled"),
    "captions": _required_flag("on"),
    "poll_create": validate_poll_create,
    "poll_edit": validate_poll_edit,
    "poll_delete": _required_id("poll_id"),
    "poll_launch": _required_id("poll_id"),
    "poll_close": _required_id("poll_id"),
    "poll_share": _required_id("poll_id"),
    "poll_vote": validate_poll_vote,
    "poll_export": validate_poll_export,
}
