"""Chat-to-video escalation and signed invite tokens (JWT)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from api_client import call
from server_keys import ADMIN_KEY

from conf_server.http.keys import INVITES


def escalation(chat_id="crisis-7", people=("bob", "cy")):
    return {
        "chat_id": chat_id,
        "title": "Outage at 3 a.m.",
        "initiator": {"user_id": "ada", "name": "Ada Lovelace"},
        "participants": [{"user_id": u, "name": u.title()} for u in people],
    }


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


async def escalate(server, body=None):
    status, answer = await call(
        server, "POST", "/escalations", ADMIN_KEY, json=body or escalation()
    )
    assert status in (200, 201), answer
    return answer


async def test_escalation_gives_a_host_link_and_one_invite_per_person(server, make_member):
    answer = await escalate(server)
    assert answer["created"] is True and answer["title"] == "Outage at 3 a.m."
    host_url = urlparse(answer["host_url"])
    assert host_url.path == f"/r/{answer['room']}"
    assert parse_qs(host_url.query)["autojoin"] == ["1"]
    assert [i["user_id"] for i in answer["invites"]] == ["bob", "cy"]
    # The initiator's link makes a host; the invites make named participants.
    ada = await make_member("typed", room=answer["room"], token=token_of(answer["host_url"]))
    assert ada.meeting["role"] == "host" and ada.meeting["title"] == "Outage at 3 a.m."
    assert ada.participants[ada.participant_id]["name"] == "Ada Lovelace"
    bob = await make_member(
        "typed", room=answer["room"], token=token_of(answer["invites"][0]["join_url"])
    )
    assert bob.meeting["role"] == "participant"
    assert bob.participants[bob.participant_id]["name"] == "Bob"


async def test_escalation_is_idempotent_also_when_two_people_press_at_once(server, make_member):
    answers = await asyncio.gather(*(escalate(server) for _ in range(8)))
    assert len({a["meeting_id"] for a in answers}) == 1
    assert sorted(a["created"] for a in answers) == [False] * 7 + [True]
    again = await escalate(server, escalation(people=("bob", "cy", "dee")))
    assert again["meeting_id"] == answers[0]["meeting_id"] and again["created"] is False
    # Dee, added later, is invited too.
    dee = await make_member(
        "Dee", room=again["room"], token=token_of(again["invites"][2]["join_url"])
    )
    assert dee.participant_id
    # Another chat gets another meeting.
    other = await escalate(server, escalation(chat_id="project-x"))
    assert other["meeting_id"] != again["meeting_id"]


async def test_after_the_meeting_ends_the_chat_gets_a_new_one(server, make_member):
    first = await escalate(server)
    ada = await make_member("Ada", room=first["room"], token=token_of(first["host_url"]))
    await ada.call("end_meeting")
    await ada.disconnected.wait()
    second = await escalate(server)
    assert second["created"] is True and second["meeting_id"] != first["meeting_id"]


async def test_only_invitees_walk_in_others_wait_for_the_host(server, make_member):
    answer = await escalate(server)
    ada = await make_member("Ada", room=answer["room"], token=token_of(answer["host_url"]))
    stranger = await make_member("Mallory")
    ack = await stranger.join(answer["room"])
    assert ack["waiting"] is True
    await ada.wait_event("lobby_changed", lambda d: [e["name"] for e in d["lobby"]] == ["Mallory"])
    await ada.call("admit", {"lobby_id": ack["lobby_id"]})
    await stranger.wait_event("lobby_admitted")


async def test_a_removed_invitee_cannot_come_back_with_the_same_token(server, make_member):
    answer = await escalate(server)
    ada = await make_member("Ada", room=answer["room"], token=token_of(answer["host_url"]))
    bob_token = token_of(answer["invites"][0]["join_url"])
    bob = await make_member("Bob", room=answer["room"], token=bob_token)
    await ada.call("remove_participant", {"participant_id": bob.participant_id})
    await bob.disconnected.wait()
    again = await make_member("Bob")
    error = await again.error_of(
        "join", {"protocol": 1, "room": answer["room"], "name": "Bob", "token": bob_token}
    )
    assert error["code"] == "banned"


def forge(claims: dict, key: str = "x" * 40, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def unsigned(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    ("forgery", "message"),
    [
        ("wrong_key", "tampered"),
        ("alg_none", "not signed the way"),
        ("expired", "expired"),
        ("not_yet_valid", "not valid yet"),
        ("wrong_audience", "not an invite"),
        ("other_room", "another meeting"),
        ("tampered_role", "tampered"),
        ("garbage", "not valid"),
        ("no_exp", "lacks"),
    ],
)
async def test_forged_or_stale_tokens_are_refused(server, make_member, forgery, message):
    answer = await escalate(server)
    room = answer["room"]
    signer = server.server.app[INVITES]
    now = time.time()
    good = jwt.decode(
        token_of(answer["invites"][0]["join_url"]), options={"verify_signature": False}
    )
    tokens = {
        "wrong_key": lambda: forge(good),
        "alg_none": lambda: unsigned(good),
        "expired": lambda: signer.sign(room, "bob", "Bob", ttl=60, now=now - 3600),
        "not_yet_valid": lambda: signer.sign(room, "bob", "Bob", now=now + 3600),
        "wrong_audience": lambda: signer_token(signer, {**good, "aud": "elsewhere"}),
        "other_room": lambda: signer.sign("chat-other", "bob", "Bob"),
        "tampered_role": lambda: retamper(
            token_of(answer["invites"][0]["join_url"]), {"role": "host"}
        ),
        "garbage": lambda: "not.a.jwt",
        "no_exp": lambda: signer_token(signer, {k: v for k, v in good.items() if k != "exp"}),
    }
    client = await make_member("Mallory")
    error = await client.error_of(
        "join", {"protocol": 1, "room": room, "name": "M", "token": tokens[forgery]()}
    )
    assert error["code"] == "invalid_token"
    assert message in error["message"], error


def signer_token(signer, claims: dict) -> str:
    """Claims signed with the server's real secret (only audience/claims wrong)."""
    return jwt.encode(claims, signer._secret, algorithm="HS256")


def retamper(token: str, change: dict) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(change)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def test_bad_escalation_requests_get_clear_errors(server):
    for body, fragment in [
        ({}, "chat_id"),
        ({**escalation(), "chat_id": ""}, "chat_id"),
        ({**escalation(), "initiator": {"user_id": "a"}}, "initiator.name"),
        ({**escalation(), "participants": [{"user_id": "b", "name": ""}]}, "participants[0].name"),
        ({**escalation(), "extra": 1}, "unknown field"),
    ]:
        status, answer = await call(server, "POST", "/escalations", ADMIN_KEY, json=body)
        assert status == 400 and fragment in answer["error"]["message"], (body, answer)
    json_type = {"Content-Type": "application/json"}
    status, answer = await call(
        server, "POST", "/escalations", ADMIN_KEY, data=b"{oops", headers=json_type
    )
    assert status == 400 and answer["error"]["code"] == "invalid_json"
    status, answer = await call(server, "POST", "/escalations", ADMIN_KEY, data=b"{}")
    assert status == 415 and answer["error"]["code"] == "unsupported_media_type"
    status, answer = await call(server, "POST", "/escalations", ADMIN_KEY, data=b"x" * 70_000)
    assert status == 413
    status, answer = await call(server, "POST", "/escalations", None, json=escalation())
    assert status == 401
