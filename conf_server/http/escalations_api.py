"""``POST /api/v1/escalations``: turn a group chat into a meeting in one call.

The chat app sends the chat's id, a title, who pressed the button and who is
in the chat. The answer has a host link for the initiator (opens straight into
the meeting as host) and one signed invite link per participant. While that
chat's meeting is live, calling again (also two people pressing the button at
the same moment, on any node) returns the same meeting: the room name is
derived from the chat id and the store creates a meeting only if the room has
none. People named in a later call are added to the invitees.

The room name is an HMAC of the chat id under a server secret, so nobody
outside can compute it and open it first; and an escalation adopts only a
meeting that an escalation of the same chat made. If the name is held by any
other meeting (someone who learnt it from an old invite opened it as an
ad-hoc room), the next name of the chat's sequence is used instead: such a
squatter never becomes host of the crisis meeting.

The meeting admits only its invitees (and whoever a host lets in from the
lobby). Names and title follow the one text rule (signaling/text.py).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from conf_server.domain import MeetingAccess
from conf_server.domain.meeting_state import MeetingState
from conf_server.integration.invites import InviteSigner
from conf_server.meeting.meeting_creation import RoomInUse
from conf_server.meeting.meeting_service import MeetingService
from signaling.text import InvalidText, clean_line, clean_name, first_forbidden_char

from .api_auth import caller
from .keys import INVITES, MEETINGS
from .meetings_api import room_url
from .request_body import InvalidRequest, read_json_object, reject_unknown_fields

MAX_PARTICIPANTS = 500
MAX_TEXT = 200
#: Room names of one chat tried before giving up (each taken one was opened
#: by someone who knew it; more than a few means a determined attacker).
MAX_ROOM_ATTEMPTS = 8


def room_for_chat(signer: InviteSigner, chat_id: str, attempt: int = 0) -> str:
    """The ``attempt``-th room name of a chat's meetings: stable, and
    unguessable without the server's secret."""
    return "chat-" + signer.digest("escalation-room", f"{attempt}:{chat_id}")[:24]


def _identifier(value: Any, what: str) -> str:
    """An id of the chat app (chat id, user id): kept exactly as sent, but
    text under the one rule (no control or invisible characters)."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
        raise InvalidRequest(f"{what} must be 1 to {MAX_TEXT} characters")
    if first_forbidden_char(value) is not None:
        raise InvalidRequest(f"{what} must not contain control or invisible characters")
    return value


def _person(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) - {"user_id", "name"}:
        raise InvalidRequest(f"{what} must be an object with 'user_id' and 'name'")
    user_id = _identifier(value.get("user_id"), f"{what}.user_id")
    name = value.get("name")
    if not isinstance(name, str):
        raise InvalidRequest(f"{what}.name must be 1 to 64 characters")
    try:
        return {"user_id": user_id, "name": clean_name(name, f"{what}.name")}
    except InvalidText as exc:
        raise InvalidRequest(exc.message) from exc


def parse_escalation(body: dict[str, Any]) -> dict[str, Any]:
    reject_unknown_fields(body, {"chat_id", "title", "initiator", "participants"})
    chat_id = _identifier(body.get("chat_id"), "field 'chat_id'")
    title = body.get("title", "")
    if not isinstance(title, str):
        raise InvalidRequest(f"field 'title' must be at most {MAX_TEXT} characters")
    try:
        title = clean_line(title, "title", MAX_TEXT, allow_empty=True)
    except InvalidText as exc:
        raise InvalidRequest(exc.message) from exc
    people = body.get("participants", [])
    if not isinstance(people, list) or len(people) > MAX_PARTICIPANTS:
        raise InvalidRequest(f"field 'participants' must be a list of at most {MAX_PARTICIPANTS}")
    initiator = _person(body.get("initiator"), "initiator")
    participants = [_person(p, f"participants[{i}]") for i, p in enumerate(people)]
    return {
        "chat_id": chat_id,
        "title": title,
        "initiator": initiator,
        "participants": [p for p in participants if p["user_id"] != initiator["user_id"]],
    }


def _made_for(state: MeetingState, chat_id: str) -> bool:
    """Did an escalation of this chat make this meeting?"""
    return state.chat_id == chat_id and not state.ad_hoc


async def open_meeting(
    service: MeetingService, signer: InviteSigner, request: dict[str, Any]
) -> tuple[MeetingState, bool]:
    """The chat's live meeting, or a new one; invitees merged in."""
    chat_id = request["chat_id"]
    identities = [f"user:{p['user_id']}" for p in (request["initiator"], *request["participants"])]
    for attempt in range(MAX_ROOM_ATTEMPTS):
        room = room_for_chat(signer, chat_id, attempt)
        existing = await service.store.get(room)
        if existing is not None and not _made_for(existing, chat_id):
            continue  # someone else's meeting: never adopt it
        if existing is not None and existing.ended:
            await service.store.delete(room)  # that meeting is over: a fresh one
        state, created = await service.store.create(
            MeetingState(
                room,
                title=request["title"],
                created_at=service.clock(),
                chat_id=chat_id,
                access=MeetingAccess(invited=identities),
            )
        )
        if not created and not _made_for(state, chat_id):
            continue  # taken between our look and our create
        if not created:
            async with service.store.update(room) as state:
                if state.access.invite_only:
                    state.access.invite(identities)
        else:
            await service.store.expire(room, service.settings.empty_meeting_ttl_seconds * 6)
        return state, created
    raise RoomInUse("every room name of this chat is held by another meeting; try again later")


async def post_escalation(request: web.Request) -> web.Response:
    caller(request, "integration")
    escalation = parse_escalation(await read_json_object(request))
    service: MeetingService = request.config_dict[MEETINGS]
    signer: InviteSigner = request.config_dict[INVITES]
    state, created = await open_meeting(service, signer, escalation)
    url = room_url(request, state.room)
    initiator = escalation["initiator"]
    host_token = signer.sign(state.room, initiator["user_id"], initiator["name"], role="host")
    invites = []
    for person in escalation["participants"]:
        token = signer.sign(state.room, person["user_id"], person["name"])
        invites.append({"user_id": person["user_id"], "join_url": f"{url}?token={token}"})
    return web.json_response(
        {
            "meeting_id": state.meeting_id,
            "room": state.room,
            "title": state.title,
            "created": created,
            "host_url": f"{url}?token={host_token}&autojoin=1",
            "invites": invites,
        },
        status=201 if created else 200,
    )


def add_routes(api: web.Application) -> None:
    api.router.add_post("/escalations", post_escalation)
