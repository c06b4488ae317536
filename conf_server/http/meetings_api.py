"""REST routes for meetings: create one ahead of time, look one up.

``POST /api/v1/meetings`` is what the landing page's "Start a meeting" calls,
so it also answers callers without a key, under the rules of
:mod:`conf_server.meeting.meeting_creation` (random room name, no draft polls, short
expiry, a per-address budget, a cap on what the store holds); with an
integration or admin key any room name and draft polls are allowed. Its
answer carries the host link: whoever opens it is host.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from conf_server.domain import PollKind, PollSpec
from conf_server.domain.errors import DomainError
from conf_server.domain.meeting_state import CHAT_LOG, MeetingState
from conf_server.domain.participation_export import participation_csv
from conf_server.domain.questionnaires import QuestionnaireSpec
from conf_server.errors import NotFound
from conf_server.integration.api_keys import Unauthorized
from conf_server.integration.reports import (
    attendance_csv,
    build_report,
    polls_csv,
    questionnaires_csv,
    recordings_csv,
)
from conf_server.meeting.meeting_creation import AnonymousCreation, create_meeting
from conf_server.meeting.recording_control import recording_summary
from conf_server.meeting.transcript_plan import meeting_language
from conf_server.settings import Settings
from signaling.errors import InvalidPayload
from signaling.participation_messages import validate_set_participation
from signaling.protocol import is_room_name
from signaling.questionnaire_messages import validate_questionnaire_create
from signaling.text import InvalidText, clean_line, nfc

from .api_auth import caller
from .keys import MEETINGS, SETTINGS
from .node_forwarding import meeting_here
from .request_body import InvalidRequest, optional_field, read_json_object, reject_unknown_fields

MAX_TITLE = 200
MAX_LANGUAGE = 35  # BCP 47 tags in use are far shorter
MAX_POLL_TEXT = 4 * 1024  # the domain's own limits (500, 200) give the precise error
POLL_FIELDS = {"question", "options", "kind", "anonymous", "correct_option_ids"}
POLL_KINDS = ("single", "multiple", "quiz")
REPORT_TABLES = ("attendance", "polls", "questionnaires", "recordings", "participation")


class LazyAnonymousCreation:
    """The :class:`AnonymousCreation` budget of this API, made from the
    settings at its first use (the sub-application is built without them)."""

    def __init__(self) -> None:
        self._budget: AnonymousCreation | None = None

    def admit(self, request: web.Request) -> None:
        if self._budget is None:
            settings: Settings = request.config_dict[SETTINGS]
            self._budget = AnonymousCreation(settings)
        self._budget.admit(request.remote, request.headers.get("X-Forwarded-For"))


ANONYMOUS = web.AppKey("anonymous_creation", LazyAnonymousCreation)


def room_url(request: web.Request, room: str) -> str:
    """The link to ``room``: under ``public_url`` when set, else the request's host."""
    settings = request.config_dict[SETTINGS]
    base = (settings.public_url or f"{request.scheme}://{request.host}").rstrip("/")
    return f"{base}/r/{room}"


def links(request: web.Request, state: MeetingState) -> dict[str, str]:
    join_url = room_url(request, state.room)
    return {"join_url": join_url, "host_url": f"{join_url}?host_key={state.host_key}"}


def _poll(index: int, raw: Any) -> PollSpec:
    """One draft poll of the body: its shape checked, its texts NFC (the
    domain judges the rest, with its own messages)."""
    what = f"polls[{index}]"
    if not isinstance(raw, dict) or set(raw) - POLL_FIELDS:
        raise InvalidRequest(f"{what} must be an object of {', '.join(sorted(POLL_FIELDS))}")
    question, options = raw.get("question"), raw.get("options")
    if not isinstance(question, str) or len(question) > MAX_POLL_TEXT:
        raise InvalidRequest(f"{what}.question must be text")
    if not isinstance(options, list) or not all(
        isinstance(o, str) and len(o) <= MAX_POLL_TEXT for o in options
    ):
        raise InvalidRequest(f"{what}.options must be a list of texts")
    kind = raw.get("kind", "single")
    if kind not in POLL_KINDS:
        raise InvalidRequest(f"{what}.kind must be one of {', '.join(POLL_KINDS)}")
    anonymous = raw.get("anonymous", False)
    if not isinstance(anonymous, bool):
        raise InvalidRequest(f"{what}.anonymous must be true or false")
    correct = raw.get("correct_option_ids", [])
    if not isinstance(correct, list) or not all(isinstance(c, str) for c in correct):
        raise InvalidRequest(f"{what}.correct_option_ids must be a list of option ids")
    return PollSpec(
        nfc(question), [nfc(option) for option in options], PollKind(kind), anonymous, correct
    )


def _questionnaire(index: int, raw: Any) -> QuestionnaireSpec:
    """One draft questionnaire of the body: its shape checked as for the
    ``questionnaire_create`` message (texts NFC); the domain judges the rest."""
    if not isinstance(raw, dict):
        raise InvalidRequest(f"questionnaires[{index}] must be an object")
    try:
        return QuestionnaireSpec.from_dict(validate_questionnaire_create(raw))
    except InvalidPayload as exc:
        raise InvalidRequest(f"questionnaires[{index}]: {exc.message}") from exc


def _participation(body: dict[str, Any]) -> dict[str, Any] | None:
    """The ``participation`` setting of the body, shaped as ``set_participation``
    (the domain checks the weights' names and ranges)."""
    raw = optional_field(body, "participation", dict, None)
    if raw is None:
        return None
    try:
        return validate_set_participation(raw)
    except InvalidPayload as exc:
        raise InvalidRequest(f"participation: {exc.message}") from exc


def _title(body: dict[str, Any]) -> str:
    try:
        return clean_line(optional_field(body, "title", str, ""), "title", MAX_TITLE, True)
    except InvalidText as exc:
        raise InvalidRequest(exc.message) from exc


async def post_meeting(request: web.Request) -> web.Response:
    keyed = "Authorization" in request.headers
    if keyed:
        caller(request, "integration")  # a key that is sent must be good
    body = await read_json_object(request)
    reject_unknown_fields(
        body,
        {
            "room",
            "title",
            "passcode",
            "lobby_enabled",
            "polls",
            "questionnaires",
            "transcript",
            "language",
            "participation",
        },
    )
    room = optional_field(body, "room", str, None)
    if room is not None and not is_room_name(room):
        raise InvalidRequest("field 'room' must be 1 to 64 characters of A-Z a-z 0-9 _ -")
    title = _title(body)
    raw_polls = optional_field(body, "polls", list, [])
    polls = [_poll(index, poll) for index, poll in enumerate(raw_polls)]
    raw_questionnaires = optional_field(body, "questionnaires", list, [])
    questionnaires = [_questionnaire(i, raw) for i, raw in enumerate(raw_questionnaires)]
    if not keyed and (room is not None or polls or questionnaires):
        raise Unauthorized(
            "choosing the room name or preparing polls or questionnaires needs an API key"
            " (Authorization: Bearer <key>); without one, leave out 'room', 'polls' and"
            " 'questionnaires'"
            " and get a random room name"
        )
    transcript = optional_field(body, "transcript", bool, None)
    language = optional_field(body, "language", str, None)
    if language is not None and len(language) > MAX_LANGUAGE:
        raise InvalidRequest("field 'language' must be a language tag such as 'en-US'")
    language = meeting_language(request.config_dict[SETTINGS], language, transcript)
    if not keyed:
        request.config_dict[ANONYMOUS].admit(request)
    try:
        state = await create_meeting(
            request.config_dict[MEETINGS],
            room,
            title,
            optional_field(body, "passcode", str, None),
            optional_field(body, "lobby_enabled", bool, False),
            polls,
            anonymous=not keyed,
            transcript=transcript,
            language=language,
            questionnaires=questionnaires,
            participation=_participation(body),
        )
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
    state = await meeting_here(request, "no meeting with that id (it may have ended long ago)")
    if isinstance(state, web.StreamResponse):
        return state  # answered by the room's node
    service = request.config_dict[MEETINGS]
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
            "transcript": state.transcript,
            "language": state.language,
            "participants": (await service.room_info(state.room))["participants"],
            "recording": service.recording.room_status(state),
        }
    )


async def get_report(request: web.Request) -> web.Response:
    """Attendance, polls, chat, recordings (each with its transcript's state
    and route): JSON, or CSV with ``?format=csv&table=``."""
    caller(request, "integration")
    service = request.config_dict[MEETINGS]
    meeting_id = request.match_info["meeting_id"]
    fmt = request.query.get("format", "json")
    table = request.query.get("table", "attendance")
    if fmt not in ("json", "csv") or table not in REPORT_TABLES:
        raise InvalidRequest(
            "use format=json, or format=csv with table=attendance, table=polls,"
            " table=questionnaires, table=recordings or table=participation"
        )
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
    if table == "attendance":
        text = attendance_csv(report)
    elif table == "recordings":
        text = recordings_csv(report["recordings"])
    elif table == "participation":
        text = participation_csv(report)
    elif table == "questionnaires":
        text = questionnaires_csv(report)
    else:
        text = polls_table
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{table}-{report["meeting_id"]}.csv"'
        },
    )


def add_routes(api: web.Application) -> None:
    api[ANONYMOUS] = LazyAnonymousCreation()
    api.router.add_post("/meetings", post_meeting)
    api.router.add_get("/meetings/{meeting_id}", get_meeting)
    api.router.add_get("/meetings/{meeting_id}/report", get_report)
