"""Message validation for protocol version 1 (docs/protocol.md).

Each validator takes the raw payload and returns clean keyword arguments for
the meeting service, or raises :class:`InvalidPayload` naming the bad field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import InvalidPayload, SignalingError
from .json_values import MAX_SAFE_INT, problem
from .meeting_messages import MEETING_VALIDATORS
from .participation_messages import PARTICIPATION_VALIDATORS
from .questionnaire_messages import QUESTIONNAIRE_VALIDATORS
from .text import clean_name

PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOLS = frozenset({1})

MAX_SDP = 64 * 1024
#: A subscriber answer grows with the room: about 1.1 KiB per received track
#: (aiortc; browsers similar), so 100 participants need some 220 KiB.
MAX_ANSWER_SDP = 1024 * 1024
MAX_CANDIDATE = 1024
MAX_MID = 32
MAX_TOKEN = 256
MAX_INVITE = 4096
#: Room names (also client ids). Anchored with \A and \Z and used with
#: fullmatch: ``$`` would let a trailing newline through ("abc\n" is not "abc").
ROOM_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
CLIENT_ID_PATTERN = ROOM_PATTERN
CHECKIN_PATTERN = re.compile(r"\A[A-Za-z0-9]{4,16}\Z")
#: The fixed part of an ICE candidate attribute (RFC 8839 section 5.1):
#: foundation, component, transport, priority, address, port, "typ", type,
#: then name/value extensions. Checked before aiortc parses it,
#: which answers malformed lines with AssertionError or IndexError.
CANDIDATE_PATTERN = re.compile(
    r"\A(?:candidate:)?[A-Za-z0-9+/]{1,32} [0-9]{1,3} [A-Za-z]{1,16} [0-9]{1,10}"
    r" [A-Za-z0-9.:%_-]{1,253} [0-9]{1,5} typ [a-z]{1,8}(?: [!-~]{1,256})*\Z"
)
#: How a participant is present: on their own device, as a companion device in a
#: meeting room (camera on, microphone and speaker off), or as the room device.
MODES = ("remote", "companion", "room")
SOURCES = ("microphone", "camera", "screen")
MUTABLE_SOURCES = ("microphone", "camera")

Payload = dict[str, Any]


def _field(
    payload: Payload, name: str, kind: type | tuple[type, ...], optional: bool = False
) -> Any:
    if name not in payload or payload[name] is None:
        if optional:
            return None
        raise InvalidPayload(f"field {name!r} is required")
    value = payload[name]
    # bool is an int in Python; never accept it where a number is asked for.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise InvalidPayload(f"field {name!r} has the wrong type")
    if not isinstance(value, kind):
        raise InvalidPayload(f"field {name!r} has the wrong type")
    return value


def _no_extra(payload: Payload, allowed: set[str]) -> None:
    extra = set(payload) - allowed
    if extra:
        raise InvalidPayload(f"unknown field(s): {', '.join(sorted(map(str, extra)))}")


def _sdp(payload: Payload, limit: int = MAX_SDP) -> str:
    sdp: str = _field(payload, "sdp", str)
    if not sdp.strip() or len(sdp) > limit:
        raise InvalidPayload(f"field 'sdp' must be 1 to {limit} characters")
    return sdp


def is_room_name(text: str) -> bool:
    """True if ``text`` is a room name: 1 to 64 of ``A-Z a-z 0-9 _ -`` and nothing else."""
    return ROOM_PATTERN.fullmatch(text) is not None


def validate_join(payload: Payload) -> Payload:
    _no_extra(
        payload,
        {
            "protocol",
            "room",
            "name",
            "resume_token",
            "receive",
            "passcode",
            "host_key",
            "client_id",
            "mode",
            "zone",
            "checkin",
            "token",
        },
    )
    protocol = _field(payload, "protocol", int)
    if protocol not in SUPPORTED_PROTOCOLS:
        raise SignalingError(
            f"protocol version {protocol} is not supported; this server speaks "
            f"{sorted(SUPPORTED_PROTOCOLS)}",
            code="unsupported_protocol",
        )
    room = _field(payload, "room", str)
    if not is_room_name(room):
        raise InvalidPayload("field 'room' must be 1 to 64 characters of A-Z a-z 0-9 _ -")
    token = _field(payload, "resume_token", str, optional=True)
    if token is not None and len(token) > MAX_TOKEN:
        raise InvalidPayload("field 'resume_token' is too long")
    receive = _field(payload, "receive", bool, optional=True)
    passcode = _field(payload, "passcode", str, optional=True)
    if passcode is not None and len(passcode) > MAX_TOKEN:
        raise InvalidPayload("field 'passcode' is too long")
    host_key = _field(payload, "host_key", str, optional=True)
    if host_key is not None and len(host_key) > MAX_TOKEN:
        raise InvalidPayload("field 'host_key' is too long")
    client_id = _field(payload, "client_id", str, optional=True)
    if client_id is not None and not CLIENT_ID_PATTERN.fullmatch(client_id):
        raise InvalidPayload("field 'client_id' must be 1 to 64 characters of A-Z a-z 0-9 _ -")
    mode = _field(payload, "mode", str, optional=True) or "remote"
    if mode not in MODES:
        raise InvalidPayload(f"field 'mode' must be one of {', '.join(MODES)}")
    zone = _field(payload, "zone", str, optional=True)
    if zone is not None:
        zone = clean_name(zone, "zone")
    checkin = _field(payload, "checkin", str, optional=True)
    if checkin is not None and not CHECKIN_PATTERN.fullmatch(checkin):
        raise InvalidPayload("field 'checkin' must be a check-in code of 4 to 16 letters or digits")
    if mode == "room" and zone is None:
        raise InvalidPayload("a room device (mode 'room') needs a 'zone': the room it stands in")
    token_ = _field(payload, "token", str, optional=True)
    if token_ is not None and not 0 < len(token_) <= MAX_INVITE:
        raise InvalidPayload(f"field 'token' must be 1 to {MAX_INVITE} characters")
    return {
        "token": token_,
        "mode": mode,
        "zone": zone,
        "checkin": checkin,
        "room": room,
        "name": clean_name(_field(payload, "name", str)),
        "resume_token": token,
        "receive": True if receive is None else receive,
        "passcode": passcode,
        "host_key": host_key,
        "client_id": client_id,
    }


#: m-sections a publish offer may have: the reference client publishes at most
#: microphone, camera and screen; every m-section costs the server a transceiver.
MAX_PUBLISH_SECTIONS = 8


def validate_publish(payload: Payload) -> Payload:
    _no_extra(payload, {"sdp", "sources"})
    sdp = _sdp(payload)
    sections = sum(1 for line in sdp.splitlines() if line.startswith("m="))
    if sections > MAX_PUBLISH_SECTIONS:
        raise InvalidPayload(
            f"the offer has {sections} m-sections; at most {MAX_PUBLISH_SECTIONS} are allowed"
        )
    sources = _field(payload, "sources", dict)
    if len(sources) > len(SOURCES):
        raise InvalidPayload("field 'sources' names too many m-sections")
    seen: set[str] = set()
    for mid, source in sources.items():
        if not isinstance(mid, str) or not mid or len(mid) > MAX_MID:
            raise InvalidPayload("field 'sources' has a bad mid")
        if source not in SOURCES:
            raise InvalidPayload(f"source must be one of {', '.join(SOURCES)}")
        if source in seen:
            raise InvalidPayload(f"source {source!r} is named twice")
        seen.add(source)
    return {"sdp": sdp, "sources": dict(sources)}


def validate_publisher_ice(payload: Payload) -> Payload:
    _no_extra(payload, {"candidate", "sdp_mid", "sdp_mline_index"})
    candidate = _field(payload, "candidate", str)
    if len(candidate) > MAX_CANDIDATE:
        raise InvalidPayload("field 'candidate' is too long")
    if candidate and not CANDIDATE_PATTERN.fullmatch(candidate):
        raise SignalingError("field 'candidate' is not an ICE candidate line", "invalid_candidate")
    mid = _field(payload, "sdp_mid", str, optional=True)
    if mid is not None and len(mid) > MAX_MID:
        raise InvalidPayload("field 'sdp_mid' is too long")
    index = _field(payload, "sdp_mline_index", int, optional=True)
    if index is not None and not 0 <= index < 64:
        raise InvalidPayload("field 'sdp_mline_index' is out of range")
    return {"candidate": candidate, "sdp_mid": mid, "sdp_mline_index": index}


def validate_subscriber_answer(payload: Payload) -> Payload:
    _no_extra(payload, {"revision", "sdp"})
    revision = _field(payload, "revision", int)
    if not 1 <= revision <= MAX_SAFE_INT:
        raise InvalidPayload("field 'revision' must be a positive integer")
    return {"revision": revision, "sdp": _sdp(payload, MAX_ANSWER_SDP)}


MAX_VIEW = 100


MAX_PINNED = 4
#: The tallest tile a client may report (device pixels: an 8K screen).
MAX_TILE_HEIGHT = 4320
#: ``set_view``'s ``later``: at most this many newcomers shown before the next view.
MAX_LATER = 16


def _participant_ids(payload: Payload, name: str, limit: int) -> list[str]:
    ids = payload.get(name, [])
    if not isinstance(ids, list):
        raise InvalidPayload(f"field '{name}' must be a list")
    if len(ids) > limit:
        raise InvalidPayload(f"field '{name}' names more than {limit} participants")
    if not all(isinstance(p, str) and 0 < len(p) <= MAX_TOKEN for p in ids):
        raise InvalidPayload(f"field '{name}' must list participant ids")
    return list(dict.fromkeys(ids))


def validate_set_view(payload: Payload) -> Payload:
    _no_extra(payload, {"video", "sizes", "pinned", "later"})
    _field(payload, "video", list)
    video = _participant_ids(payload, "video", MAX_VIEW)
    sizes = payload.get("sizes", {})
    if not isinstance(sizes, dict) or len(sizes) > MAX_VIEW:
        raise InvalidPayload(
            f"field 'sizes' must map at most {MAX_VIEW} participant ids to heights"
        )
    for key, height in sizes.items():
        if not 0 < len(key) <= MAX_TOKEN:
            raise InvalidPayload("field 'sizes' must map participant ids to heights")
        if type(height) is not int or not 1 <= height <= MAX_TILE_HEIGHT:
            raise InvalidPayload(
                f"field 'sizes' must give tile heights as integers 1..{MAX_TILE_HEIGHT}"
            )
    later = payload.get("later", 0)
    if type(later) is not int or not 0 <= later <= MAX_LATER:
        raise InvalidPayload(f"field 'later' must be an integer 0..{MAX_LATER}")
    return {
        "video": video,
        "sizes": dict(sizes),
        "pinned": _participant_ids(payload, "pinned", MAX_PINNED),
        "later": later,
    }


def validate_mute(payload: Payload) -> Payload:
    _no_extra(payload, {"source", "muted"})
    source = _field(payload, "source", str)
    if source not in MUTABLE_SOURCES:
        raise InvalidPayload(f"field 'source' must be one of {', '.join(MUTABLE_SOURCES)}")
    return {"source": source, "muted": _field(payload, "muted", bool)}


def validate_leave(payload: Payload) -> Payload:
    _no_extra(payload, set())
    return {}


def well_formed(validator: Callable[[Payload], Payload]) -> Callable[[Payload], Payload]:
    """``validator`` behind the checks every payload passes first: no nesting
    deeper than 32, no integer beyond 2**53, no lone surrogate in any string
    (signaling/json_values.py)."""

    def validate(payload: Payload) -> Payload:
        found = problem(payload)
        if found is not None:
            raise InvalidPayload(f"the payload is not acceptable JSON: {found}")
        return validator(payload)

    return validate


VALIDATORS: dict[str, Callable[[Payload], Payload]] = {
    name: well_formed(validator)
    for name, validator in {
        "join": validate_join,
        "publish": validate_publish,
        "publisher_ice": validate_publisher_ice,
        "subscriber_answer": validate_subscriber_answer,
        "subscriber_ice": validate_publisher_ice,
        "mute": validate_mute,
        "set_view": validate_set_view,
        "leave": validate_leave,
        **MEETING_VALIDATORS,
        **QUESTIONNAIRE_VALIDATORS,
        **PARTICIPATION_VALIDATORS,
    }.items()
}
