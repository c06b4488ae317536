"""Validation of the participation-points messages (docs/protocol.md,
"Participation points").

Shape only, as in :mod:`signaling.meeting_messages`: the domain
(conf_server/domain/participation.py) knows the weights' names and ranges and
answers ``invalid_participation`` for the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import InvalidPayload
from .meeting_messages import MAX_ID, Payload, _choice, _flag, _no_extra

#: More than the domain knows (6 weights): it names the unknown ones.
MAX_WEIGHTS = 16
VISIBILITIES = ("host", "everyone", "off")


def _weights(payload: Payload) -> dict[str, int] | None:
    value = payload.get("weights")
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_WEIGHTS:
        raise InvalidPayload(f"field 'weights' must be an object of at most {MAX_WEIGHTS} numbers")
    for name, weight in value.items():
        if not isinstance(name, str) or len(name) > MAX_ID:
            raise InvalidPayload("field 'weights' must have short names")
        # bool is an int in Python: refuse it explicitly.
        if not isinstance(weight, int) or isinstance(weight, bool) or abs(weight) > 2**31:
            raise InvalidPayload(f"weight {name!r} must be a whole number")
    return dict(value)


def validate_set_participation(payload: Payload) -> Payload:
    _no_extra(payload, {"enabled", "visibility", "weights"})
    enabled = _flag(payload, "enabled", None)
    if enabled is None:
        raise InvalidPayload("field 'enabled' is required")
    visibility = None
    if payload.get("visibility") is not None:
        visibility = _choice(payload, "visibility", VISIBILITIES)
    return {"enabled": enabled, "visibility": visibility, "weights": _weights(payload)}


def validate_leaderboard(payload: Payload) -> Payload:
    _no_extra(payload, set())
    return {}


PARTICIPATION_VALIDATORS: dict[str, Callable[[Payload], Payload]] = {
    "set_participation": validate_set_participation,
    "leaderboard": validate_leaderboard,
}
