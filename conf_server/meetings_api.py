"""REST routes for meetings: create one ahead of time, look one up.

``POST /api/v1/meetings`` is what the landing page's "Start a meeting" calls,
so it needs no key (the API-key issue adds integration keys for the chat app's
own routes). Its answer carries the host link: whoever opens it is host.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .domain.errors import DomainError
from .errors import ConfServerError, NotFound
from .keys import MEETINGS, SETTINGS
from .meeting_service import create_meeting
from .meeting_state import MeetingState
from .web_pages import ROOM_PATTERN

MAX_BODY = 64 * 1024
MAX_TITLE = 200


class InvalidRequest(ConfServerError):
    code = "invalid_request"
    status = 400


class PayloadTooLarge(ConfServerError):
    code = "payload_too_large"
    status = 413


def _optional(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
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


def links(request: web.Request, state: MeetingState) -> dict[str, str]:
    settings = request.config_dict[SETTINGS]
    base = (settings.public_url or f"{request.scheme}://{request.host}").rstrip("/")
    join_url = f"{base}/r/{state.room}"
    return {"join_url": join_url, "host_url": f"{join_url}?host_key={state.host_key}"}


async def post_meeting(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    unknown = set(body) - {"room", "title", "passcode", "lobby_enabled", "polls"}
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    room = _optional(body, "room", str, None)
    if room is not None and not ROOM_PATTERN.match(room):
        raise InvalidRequest("field 'room' must be 1 to 64 characters of A-Z a-z 0-9 _ -")
    title = _optional(body, "title", str, "").strip()
    if len(title) > MAX_TITLE:
        raise InvalidRequest(f"field 'title' may have at most {MAX_TITLE} characters")
    polls = _optional(body, "polls", list, [])
    if not all(isinstance(p, dict) for p in polls):
        raise InvalidRequest("field 'polls' must be a list of poll objects")
    for poll in polls:
        unknown = set(poll) - {"question", "options", "kind", "anonymous", "correct_option_ids"}
        if unknown or not isinstance(poll.get("question"), str):
            raise InvalidRequest("each poll needs a 'question' and 'options' and nothing else")
    try:
        state = await create_meeting(
            request.config_dict[MEETINGS],
            room,
            title,
            _optional(body, "passcode", str, None),
            _optional(body, "lobby_enabled", bool, False),
            polls,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"a poll is not valid: {exc}") from exc
    except DomainError as exc:
        raise InvalidRequest(exc.message) from exc
    return web.json_response(
        {
            "meeting_id": state.meeting_id,
            "room": state.room,
            "title": state.title,
            "host_key": state.host_key,
            **links(request, state),
        },
        status=201,
    )


async def get_meeting(request: web.Request) -> web.Response:
    service = request.config_dict[MEETINGS]
    state = await service.store.find(request.match_info["meeting_id"])
    if state is None:
        raise NotFound("no meeting with that id (it may have ended long ago)")
    if state.ended:
        phase = "ended"
    elif state.present_ids():
        phase = "live"
    else:
        phase = "waiting"
    return web.json_response(
        {
            "meeting_id": state.meeting_id,
            "room": state.room,
            "title": state.title,
            "state": phase,
            "created_at": state.created_at,
            "locked": state.access.locked,
            "lobby_enabled": state.access.lobby_enabled,
            "participants": service.room_info(state.room)["participants"],
            "recording": None,
        }
    )


def add_routes(api: web.Application) -> None:
    api.router.add_post("/meetings", post_meeting)
    api.router.add_get("/meetings/{meeting_id}", get_meeting)
