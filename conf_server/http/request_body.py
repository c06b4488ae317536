"""Reading JSON request bodies of the REST API, with clear errors.

A body is accepted only as ``Content-Type: application/json`` (415
otherwise): a browser sends that type cross-site only after a CORS preflight,
which this server never grants, so another site's page cannot post to the API
in its visitors' names (a ``text/plain`` or form body could). It is at most
64 KiB, declared or not (a chunked body is counted as it is read), UTF-8, and
JSON that :mod:`signaling.json_values` accepts: no lone surrogates, no integer
of more than 16 digits, no ``NaN``, no nesting deeper than 32. Anything else is
a 4xx with the JSON error body, never a 500.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from conf_server.errors import ConfServerError, InvalidRequest
from signaling.json_values import JsonProblem, loads

__all__ = [
    "InvalidJson",
    "InvalidRequest",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "optional_field",
    "read_body",
    "read_json_object",
    "reject_unknown_fields",
]

MAX_BODY = 64 * 1024
JSON_TYPES = frozenset({"application/json"})


class InvalidJson(ConfServerError):
    code = "invalid_json"
    status = 400


class PayloadTooLarge(ConfServerError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(ConfServerError):
    code = "unsupported_media_type"
    status = 415


def optional_field(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    """``body[name]`` if present (of type ``kind``, else 400), or ``default``."""
    value = body.get(name, default)
    if value is default:
        return value
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise InvalidRequest(f"field {name!r} has the wrong type")
    return value


async def read_body(request: web.Request) -> bytes:
    """The whole body as its ``Content-Encoding`` decodes; 400 ``invalid_json``
    when it does not (gzip that is no gzip, ...), instead of aiohttp's
    ``RequestPayloadError`` (a 500)."""
    try:
        return await request.read()
    except web.RequestPayloadError:
        raise InvalidJson("the request body does not decode as its Content-Encoding says") from None


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {MAX_BODY // 1024} KiB")


async def _read_limited(request: web.Request) -> bytes:
    """The body, or 413 if it is over :data:`MAX_BODY` (declared or not)."""
    too_large = _too_large()
    try:
        # Cached by aiohttp, so a node that forwards the request re-sends it;
        # aiohttp stops reading at client_max_size (1 MiB) by itself.
        raw = await read_body(request)
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    if len(raw) > MAX_BODY:
        raise too_large
    return raw


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is ``{}``)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _too_large()  # before the type: nothing of it is read
    if request.content_type not in JSON_TYPES:
        # An empty body needs the type too: otherwise a cross-site form could
        # still make the default meeting.
        raise UnsupportedMediaType("send the request body as Content-Type: application/json")
    raw = await _read_limited(request)
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJson("the request body is not valid UTF-8") from None
    try:
        body = loads(text)
    except JsonProblem as exc:
        raise InvalidJson(f"the request body is not acceptable JSON: {exc}") from None
    except ValueError:
        raise InvalidJson("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


def reject_unknown_fields(body: dict[str, Any], allowed: set[str]) -> None:
    """400 naming every field of ``body`` that is not in ``allowed``."""
    unknown = set(body) - allowed
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
