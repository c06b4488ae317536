"""``POST /api/v1/escalations``: turn a group chat into a meeting in one call.

The chat app sends the chat's id, a title, who pressed the button and who is
in the chat. The answer has a host link for the initiator (opens straight into
the meeting as host) and one signed invite link per participant. While that
chat's meeting is live, calling again (also two people pressing the button at
the same moment, on any node) returns the same meeting: the room name is
derived from the chat id and the store creates a meeting only if the room has
none. People named in a later call are added to the invitees.

The meeting admits only its invitees (and whoever a host lets in from the
lobby).
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from .api_auth import caller
from .domain import MeetingAccess
from .invites import InviteSigner
from .keys import INVITES, MEETINGS
from .meeting_service import MeetingService
from .meeting_state import MeetingState
from .meetings_api import room_url
from .request_body import InvalidRequest, read_json_object, reject_unknown_fields

MAX_PARTICIPANTS = 500
MAX_TEXT = 200


def room_for_chat(chat_id: str) -> str:
    """The room of a chat's meeting: stable, unguessable without the chat id."""
    return "chat-" + hashlib.sha256(chat_id.encode()).hexdigest()[:24]


def _person(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) - {"user_id", "name"}:
        raise InvalidRequest(f"{what} must be an object with 'user_id' and 'name'")
    user_id, name = value.get("user_id"), value.get("name")
    if not isinstance(user_id, str) or not 1 <= len(user_id) <= MAX_TEXT:
        raise InvalidRequest(f"{what}.user_id must be 1 to {MAX_TEXT} characters")
    if not isinstance(name, str) or not 1 <= len(" ".join(name.split())) <= 64:
        raise InvalidRequest(f"{what}.name must be 1 to 64 characters")
    return {"user_id": user_id, "name": " ".join(name.split())}


def parse_escalation(body: dict[str, Any]) -> dict[str, Any]:
    reject_unknown_fields(body, {"chat_id", "title", "initiator", "participants"})
    chat_id, title = body.get("chat_id"), body.get("title", "")
    if not isinstance(chat_id, str) or not 1 <= len(chat_id) <= MAX_TEXT:
        raise InvalidRequest(f"field 'chat_id' must be 1 to {MAX_TEXT} characters")
    if not isinstance(title, str) or len(title) > MAX_TEXT:
        raise InvalidRequest(f"field 'title' must be at most {MAX_TEXT} characters")
    people = body.get("participants", [])
    if not isinstance(people, list) or len(people) > MAX_PARTICIPANTS:
        raise InvalidRequest(f"field 'participants' must be a list of at most {MAX_PARTICIPANTS}")
    initiator = _person(body.get("initiator"), "initiator")
    participants = [_person(p, f"participants[{i}]") for i, p in enumerate(people)]
    return {
        "chat_id": chat_id,
        "title": " ".join(title.split()),
        "initiator": initiator,
        "participants": [p for p in participants if p["user_id"] != initiator["user_id"]],
    }


async def open_meeting(
    service: MeetingService, request: dict[str, Any]
) -> tuple[MeetingState, bool]:
    """The chat's live meeting, or a new one; invitees merged in."""
    room = room_for_chat(request["chat_id"])
    identities = [f"user:{p['user_id']}" for p in (request["initiator"], *request["participants"])]
    existing = await service.store.get(room)
    if existing is not None and existing.ended:
        await service.store.delete(room)  # that meeting is over: a fresh one
    state, created = await service.store.create(
        MeetingState(
            room,
            title=request["title"],
            created_at=service.clock(),
            chat_id=request["chat_id"],
            access=MeetingAccess(invited=identities),
        )
    )
    if not created:
        async with service.store.update(room) as state:
            if state.access.invite_only:
                state.access.invite(identities)
    else:
        await service.store.expire(room, service.settings.empty_meeting_ttl_seconds * 6)
    return state, created


async def post_escalation(request: web.Request) -> web.Response:
    caller(request, "integration")
    escalation = parse_escalation(await read_json_object(request))
    service: MeetingService = request.config_dict[MEETINGS]
    state, created = await open_meeting(service, escalation)
    signer: InviteSigner = request.config_dict[INVITES]
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
