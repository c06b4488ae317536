"""One text rule at every entry point (issue 13, point 9): display names on
Socket.IO, chat, polls, REST titles, escalation names, invite token names.
Lone surrogates, control characters, bidi overrides and isolates, zero-width
and blank-looking characters are refused; text is NFC-normalised."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from running_server import RunningServer, running
from server_keys import ADMIN_KEY
from webhook_receiver import Receiver

from conf_server.http.keys import INVITES
from signaling.text import InvalidText, clean_lines, clean_name

#: Each breaks the rule: (character, why).
FORBIDDEN = {
    "\u202e": "bidi override (RLO)",
    "\u2066": "bidi isolate (LRI)",
    "\x00": "NUL",
    "\x1b": "escape",
    "\x07": "bell",
    "\x9b": "C1 control (CSI)",
    "\u200b": "zero-width space",
    "\ufeff": "byte order mark",
    "\u3164": "Hangul filler",
    "\u115f": "Hangul choseong filler",
    "\uffa0": "halfwidth Hangul filler",
    "\u2800": "braille blank",
    "\ue000": "private use",
}
BAD = [pytest.param(ch, id=why) for ch, why in FORBIDDEN.items()]
DECOMPOSED, COMPOSED = "Rene\u0301", "Ren\u00e9"


def test_the_rule_in_one_place():
    for ch in FORBIDDEN:
        with pytest.raises(InvalidText):
            clean_name(f"Ad{ch}a")
        with pytest.raises(InvalidText):
            clean_lines(f"hello{ch}there", "text", 2000)
    with pytest.raises(InvalidText):
        clean_name("\u3164\u3164")  # looks blank
    assert clean_name(f"  {DECOMPOSED}\u00a0 Descartes ") == f"{COMPOSED} Descartes"
    assert clean_name("👩\u200d💻 Ada") == "👩\u200d💻 Ada"  # ZWJ emoji stay
    assert clean_lines("one\r\ntwo\u2028three", "text", 100) == "one\ntwo\nthree"


async def request(server: RunningServer, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.request(method, f"{server.url}{path}", **kwargs) as response,
    ):
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


# -- Socket.IO -----------------------------------------------------------------------------


@pytest.mark.parametrize("ch", BAD)
async def test_display_names_on_join_follow_the_rule(make_member, ch):
    member = await make_member("unused")
    payload = {"protocol": 1, "room": "names", "name": f"Ad{ch}a", "receive": False}
    assert (await member.error_of("join", payload))["code"] == "invalid_payload"
    payload["name"] = "\u2800"
    assert (await member.error_of("join", payload))["code"] == "invalid_payload"


async def test_names_are_nfc_normalised(make_member):
    member = await make_member(DECOMPOSED, room="nfc")
    assert member.participants[member.participant_id]["name"] == COMPOSED


async def test_a_lone_surrogate_in_a_passcode_is_refused_not_a_crash(make_member):
    host = await make_member("Hana", room="locked")
    await host.call("configure_meeting", {"passcode": "4711"})
    guest = await make_member("Guest")
    payload = {"protocol": 1, "room": "locked", "name": "Guest", "passcode": "47\ud800"}
    assert (await guest.error_of("join", payload))["code"] == "invalid_payload"


@pytest.mark.parametrize("ch", BAD)
async def test_chat_messages_follow_the_rule(make_member, ch):
    member = await make_member("Ada", room="chat-rule")
    error = await member.error_of("chat_send", {"text": f"hello {ch} there"})
    assert error["code"] == "invalid_message"


async def test_chat_messages_are_nfc_normalised(make_member):
    member = await make_member("Ada", room="chat-nfc")
    sent = await member.call("chat_send", {"text": f"Hi {DECOMPOSED}"})
    assert sent["message"]["text"] == f"Hi {COMPOSED}"
    assert (await member.error_of("chat_send", {"text": "\u2800\u3164"}))["code"] == (
        "invalid_message"
    )


@pytest.mark.parametrize("ch", BAD)
async def test_poll_texts_follow_the_rule(make_member, ch):
    host = await make_member("Hana", room=f"poll-rule-{ord(ch)}")
    bad_question = {"question": f"Lunch{ch}?", "options": ["a", "b"]}
    assert (await host.error_of("poll_create", bad_question))["code"] == "invalid_action"
    bad_option = {"question": "Lunch?", "options": ["a", f"b{ch}"]}
    assert (await host.error_of("poll_create", bad_option))["code"] == "invalid_action"


async def test_poll_texts_are_nfc_normalised(make_member):
    host = await make_member("Hana", room="poll-nfc")
    made = await host.call("poll_create", {"question": f"{DECOMPOSED}?", "options": ["a", "b"]})
    assert made["poll"]["question"] == f"{COMPOSED}?"


# -- REST ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ch", BAD)
async def test_meeting_titles_follow_the_rule(server, ch):
    status, error = await request(server, "POST", "/api/v1/meetings", json={"title": f"Q{ch}3"})
    assert status == 400 and error["error"]["code"] == "invalid_request"
    assert await server.service.store.rooms() == []


async def test_a_lone_surrogate_anywhere_in_a_body_is_refused(server):
    for body in (
        b'{"title": "Crisis \\ud83d"}',
        b'{"passcode": "\\udfff"}',
        b'{"\\ud800": 1}',
    ):
        status, error = await request(
            server,
            "POST",
            "/api/v1/meetings",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        assert status == 400 and error["error"]["code"] == "invalid_json", body
    invitee = json.dumps(escalation(participants=[{"user_id": "u-bob", "name": "B\ud800"}]))
    status, error = await request(
        server,
        "POST",
        "/api/v1/escalations",
        data=invitee.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and error["error"]["code"] == "invalid_json"
    assert await server.service.store.rooms() == []


async def test_meeting_titles_are_nfc_normalised(server):
    status, created = await request(
        server, "POST", "/api/v1/meetings", json={"title": f"  {DECOMPOSED}  retro "}
    )
    assert status == 201 and created["title"] == f"{COMPOSED} retro"


def escalation(**changes: Any) -> dict[str, Any]:
    body = {
        "chat_id": "text-rules",
        "title": "Outage",
        "initiator": {"user_id": "u-ada", "name": "Ada"},
        "participants": [{"user_id": "u-bob", "name": "Bob"}],
    }
    return {**body, **changes}


@pytest.mark.parametrize("ch", BAD)
async def test_escalation_names_and_titles_follow_the_rule(server, ch):
    for body in (
        escalation(title=f"Out{ch}age"),
        escalation(initiator={"user_id": "u-ada", "name": f"Ad{ch}a"}),
        escalation(participants=[{"user_id": "u-bob", "name": f"B{ch}ob"}]),
        escalation(participants=[{"user_id": f"u{ch}bob", "name": "Bob"}]),
        escalation(chat_id=f"chat{ch}7"),
    ):
        status, error = await request(server, "POST", "/api/v1/escalations", json=body)
        assert status == 400 and error["error"]["code"] == "invalid_request", (body, error)
    assert await server.service.store.rooms() == []


async def test_invite_token_names_follow_the_rule(server, make_member):
    status, answer = await request(server, "POST", "/api/v1/escalations", json=escalation())
    assert status == 201
    room, signer = answer["room"], server.server.app[INVITES]
    # Tokens signed with names the rule refuses (signed before the rule, or
    # by a deployment that shares the secret): the typed name is used instead.
    # (Host tokens: they walk past the invite-only meeting's lobby.)
    for index, ch in enumerate(FORBIDDEN):
        token = signer.sign(room, f"u-{index}", f"Ev{ch}il", role="host")
        member = await make_member("Typed", room=room, token=token)
        assert member.participants[member.participant_id]["name"] == "Typed"
    token = signer.sign(room, "u-nfc", DECOMPOSED, role="host")
    member = await make_member("Typed", room=room, token=token)
    assert member.participants[member.participant_id]["name"] == COMPOSED


# -- what the rule protects: webhooks and the CSV report ----------------------------------


async def test_webhooks_and_the_csv_report_carry_any_text_the_rule_lets_in(settings, make_member):
    """A lone surrogate in a title made every webhook of the meeting fail to
    encode (silently dropped) and the CSV report answer 500: it is refused at
    the door now, and text the rule lets in goes through both."""
    receiver = await Receiver().start()
    try:
        async with running(settings, webhook_allowed_networks=("127.0.0.0/8",)) as server:
            status, _ = await request(
                server, "POST", "/api/v1/admin/webhooks", json={"url": receiver.url}
            )
            assert status == 201
            status, _ = await request(
                server, "POST", "/api/v1/meetings", json={"room": "x", "title": "\ud800"}
            )
            assert status == 400
            # An invitee's name went into attendance: the CSV answered 500.
            lone = escalation(initiator={"user_id": "u-ada", "name": "Ada\ud800"})
            status, _ = await request(server, "POST", "/api/v1/escalations", json=lone)
            assert status == 400
            title = f"Crisis 👩\u200d💻 {DECOMPOSED} 危機"
            status, created = await request(
                server, "POST", "/api/v1/meetings", json={"room": "crisis", "title": title}
            )
            assert status == 201
            from signaling_client import SignalingClient

            member = SignalingClient(server.url, "Zoë \u05e9\u05dc\u05d5\u05dd")
            await member.connect()
            try:
                await member.join("crisis", host_key=created["host_key"])
                await member.call("leave")
            finally:
                await member.close()
            received = await receiver.wait_for(4, timeout=20)
            events = {r.body["type"]: r.body for r in received}
            assert {"meeting.started", "participant.joined", "meeting.ended"} <= set(events)
            assert events["meeting.ended"]["data"]["title"] == created["title"]
            assert json.loads(received[0].raw.decode("utf-8"))  # valid UTF-8 JSON
            path = f"/api/v1/meetings/{created['meeting_id']}/report"
            status, csv = await request(
                server, "GET", path, params={"format": "csv", "table": "attendance"}
            )
            assert status == 200 and "Zoë" in csv
    finally:
        await receiver.stop()
