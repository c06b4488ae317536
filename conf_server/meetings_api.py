"""REST routes for meetings: create one ahead of time, look one up.

``POST /api/v1/meetings`` is what the landing page's "Start a meeting" calls,
so it needs no key (the API-key issue adds integration keys for the chat app's
own routes). Its answer carries the host link: whoever opens it is host.
"""

from __future__ import annotations

from aiohttp import web

from .api_auth import caller
from .domain.errors import DomainError
from .errors import NotFound
from .keys import MEETINGS, SETTINGS
from .meeting_service import create_meeting
from .meeting_state import CHAT_LOG, MeetingState
from .node_forwarding import forward_to_room_node
from .recording_control import recording_summary
from .reports import attendance_csv, build_report, polls_csv
from .request_body import InvalidRequest, optional_field, read_json_object, reject_unknown_fields
from .web_pages import ROOM_PATTERN

MAX_TITLE = 200


def room_url(request: web.Request, room: str) -> str:
    """The link to ``room``: under ``public_url`` when set, else the request's host."""
    settings = request.config_dict[SETTINGS]
    base = (settings.public_url or f"{request.scheme}://{request.host}").rstrip("/")
    return f"{base}/r/{room}"


def links(request: web.Request, state: MeetingState) -> dict[str, str]:
    join_url = room_url(request, state.room)
    return {"join_url": join_url, "host_url": f"{join_url}?host_key={state.host_key}"}


async def post_meeting(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    reject_unknown_fields(body, {"room", "title", "passcode", "lobby_enabled", "polls"})
    room = optional_field(body, "room", str, None)
    if room is not None and not ROOM_PATTERN.match(room):
        raise InvalidRequest("field 'room' must be 1 to 64 characters of A-Z a-z 0-9 _ -")
    title = optional_field(body, "title", str, "").strip()
    if len(title) > MAX_TITLE:
        raise InvalidRequest(f"field 'title' may have at most {MAX_TITLE} characters")
    polls = optional_field(body, "polls", list, [])
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
            optional_field(body, "passcode", str, None),
            optional_field(body, "lobby_enabled", bool, False),
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


async def get_meeting(request: web.Request) -> web.StreamResponse:
    caller(request, "integration")
    service = request.config_dict[MEETINGS]
    state = await service.store.find(request.match_info["meeting_id"])
    if state is None:
        raise NotFound("no meeting with that id (it may have ended long ago)")
    forwarded = await forward_to_room_node(request, state.room)
    if forwarded is not None:
        return forwarded
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
            "participants": (await service.room_info(state.room))["participants"],
            "recording": service.recording.status(state.room),
        }
    )


async def get_report(request: web.Request) -> web.Response:
    """Attendance, polls, chat, recordings: JSON, or CSV with ``?format=csv&table=``."""
    caller(request, "integration")
    service = request.config_dict[MEETINGS]
    meeting_id = request.match_info["meeting_id"]
    fmt = request.query.get("format", "json")
    table = request.query.get("table", "attendance")
    if fmt not in ("json", "csv") or table not in ("attendance", "polls"):
        raise InvalidRequest("use format=json, or format=csv with table=attendance or table=polls")
    state = await service.store.find(meeting_id)
    if state is not None:
        report = build_report(state, await service.store.read(state.room, CHAT_LOG))
        polls_table = polls_csv(state)
    else:
        archived = service.archive.get(meeting_id) if service.archive else None
        if archived is None:
            raise NotFound("no meeting with that id")
        report, polls_table = archived
    # Recordings are looked up now: their state moves on after the meeting.
    report["recordings"] = [
        recording_summary(record)
        for record in service.recording.library_now().recordings()
        if record.get("meeting_id") == report["meeting_id"]
    ]
    if fmt == "json":
        return web.json_response(report)
    text = attendance_csv(report) if table == "attendance" else polls_table
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{table}-{report["meeting_id"]}.csv"'
        },
    )


def add_routes(api: web.Application) -> None:
    api.router.add_post("/meetings", post_meeting)
    api.router.add_get("/meetings/{meeting_id}", get_meeting)
    api.router.add_get("/meetings/{meeting_id}/report", get_report)
