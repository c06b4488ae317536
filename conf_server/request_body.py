"""Reading JSON request bodies of the REST API, with clear errors."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .errors import ConfServerError

MAX_BODY = 64 * 1024


class InvalidRequest(ConfServerError):
    code = "invalid_request"
    status = 400


class PayloadTooLarge(ConfServerError):
    code = "payload_too_large"
    status = 413


def optional_field(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    """``body[name]`` if present (of type ``kind``, else 400), or ``default``."""
    value = body.get(name, default)
    if value is default:
        return value
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise InvalidRequest(f"field {name!r} has the wrong type")
    return value


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is ``{}``)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise PayloadTooLarge(f"the request body is larger than {MAX_BODY // 1024} KiB")
    if not await request.read():
        return {}
    body = await request.json()
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


def reject_unknown_fields(body: dict[str, Any], allowed: set[str]) -> None:
    """400 naming every field of ``body`` that is not in ``allowed``."""
    unknown = set(body) - allowed
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
