"""Fuzzing every Socket.IO message against a real server (docs/security.md,
"Fuzzing"). Invariants, for every example:

- every acknowledgement is ``{"ok": true, ...}`` or ``{"ok": false, "error":
  {"code": <a code of docs/protocol.md's table>, "message": str}}`` (never
  ``internal_error``), and it comes: a message is never silently dropped;
- the server logs no error and no traceback, and ``/healthz`` answers.

Messages come from three sockets: one that never joined, a participant and
the meeting's host, with payloads built from each message's documented fields
(valid and invalid values), any JSON value, no payload or several payloads,
and random event names. Raw Socket.IO packets and Engine.IO frames (malformed
JSON, deep nesting, bad attachments, unknown packet types, invalid UTF-8) go
over a bare WebSocket and over HTTP long-polling.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any

import aiohttp
import socketio
from hypothesis import example, given
from hypothesis import strategies as st
from server_keys import ADMIN_KEY

from security.conftest import (
    ACK_TIMEOUT,
    NO_PAYLOAD,
    Fuzz,
    deep_json,
    emit,
    fuzzing,
    json_values,
    may_close_connection,
    nasty_ints,
    nasty_text,
    weighted,
)
from signaling.protocol import MODES, SOURCES, VALIDATORS

ACTORS = ("loner", "member", "host")
#: Messages after whose success the three sockets are set up afresh.
STATEFUL = frozenset(
    {
        "join",
        "leave",
        "end_meeting",
        "remove_participant",
        "set_role",
        "lock_meeting",
        "configure_meeting",
        "admit",
        "deny",
    }
)
REACTIONS = ("\U0001f44d", "\u2764\ufe0f", "\u2764", "\U0001f44d\U0001f3fd", "\U0001f4a9")
CANDIDATES = (
    "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
    "candidate:1 1 UDP 1 ::1 9 typ host generation 0",
    "candidate:2 1 tcp 1 127.0.0.1 9 typ host tcptype passive",
    "",
    "candidate:",
    "candidate:1 1 udp",
)


# --- what each message's fields may hold -----------------------------------------------------


def mostly(usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` four times in five, else ``other``."""
    return weighted((4, usual), (1, other))


def _ids(world: World) -> st.SearchStrategy[str]:
    """Participant ids of the current meeting, and made-up ones."""
    known = [pid for pid in world.participant_ids() if pid]
    return weighted(
        (8, st.sampled_from(known or ["p_0"])),
        (1, st.sampled_from(["p_0", ""])),
        (1, nasty_text(20)),
    )


def _poll_ids(world: World) -> st.SearchStrategy[str]:
    return weighted((9, st.sampled_from(["p1", "p2", *world.poll_ids])), (1, nasty_text(20)))


def _option_ids() -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(["o1", "o2", "o3", "o9", ""]), max_size=4)


def _poll(world: World) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "question": nasty_text(),
        "options": st.lists(nasty_text(30), max_size=6),
        "kind": st.sampled_from(["single", "multiple", "quiz", "other"]),
        "anonymous": st.booleans(),
        "correct_option_ids": _option_ids(),
    }


def _questionnaire() -> dict[str, st.SearchStrategy[Any]]:
    question = st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["single", "multiple", "rating", "text", "other"]),
            "prompt": nasty_text(),
        },
        optional={
            "options": st.lists(nasty_text(30), max_size=6),
            "max_length": nasty_ints(),
        },
    )
    return {
        "title": nasty_text(),
        "anonymous": st.booleans(),
        "questions": st.lists(question, max_size=4),
    }


def _sheet() -> st.SearchStrategy[dict[str, Any]]:
    value = st.one_of(
        st.sampled_from(["o1", "o2", "o9"]), _option_ids(), nasty_ints(), nasty_text(40)
    )
    return st.dictionaries(st.sampled_from(["q1", "q2", "q3", "q9", ""]), value, max_size=4)


def message_fields(world: World) -> dict[str, dict[str, st.SearchStrategy[Any]]]:
    """Every message of docs/protocol.md with a strategy of plausible values per
    documented field (each field may also get any JSON value, or be left out)."""
    ids = _ids(world)
    polls = _poll_ids(world)
    questionnaires = weighted((9, st.sampled_from(["qn1", "qn2"])), (1, nasty_text(20)))
    bools = st.booleans()
    ice = {
        "candidate": mostly(st.sampled_from(CANDIDATES), nasty_text()),
        "sdp_mid": st.sampled_from(["0", "1", "audio", ""]),
        "sdp_mline_index": nasty_ints(),
    }
    return {
        "join": {
            "protocol": mostly(st.just(1), nasty_ints()),
            "room": mostly(st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z"), st.just(world.room)),
            "name": mostly(st.sampled_from(["Eve", "👩‍💻 Eve"]), nasty_text()),
            "resume_token": nasty_text(40),
            "receive": st.just(False),
            "passcode": nasty_text(20),
            "host_key": mostly(st.just(world.host_key), nasty_text(40)),
            "client_id": st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z"),
            "mode": st.sampled_from([*MODES, "ghost"]),
            "zone": nasty_text(20),
            "checkin": st.from_regex(r"\A[A-Za-z0-9]{4,16}\Z"),
            "token": mostly(st.just("eyJhbGciOiJub25lIn0.eyJyb29tIjoiciJ9."), nasty_text()),
        },
        "publish": {
            "sdp": mostly(st.just("v=0\r\n"), nasty_text()),
            "sources": st.dictionaries(
                st.sampled_from(["0", "1", "2", ""]), st.sampled_from([*SOURCES, "x"]), max_size=4
            ),
        },
        "publisher_ice": ice,
        "subscriber_ice": ice,
        "subscriber_answer": {"revision": nasty_ints(), "sdp": nasty_text()},
        "mute": {"source": st.sampled_from([*SOURCES, "x"]), "muted": bools},
        "set_view": {"video": st.lists(ids, max_size=8)},
        "leave": {},
        "raise_hand": {},
        "lower_hand": {"participant_id": ids},
        "lower_all_hands": {},
        "next_hand": {},
        "chat_send": {"text": mostly(st.just("hello"), nasty_text())},
        "react": {"emoji": mostly(st.sampled_from(REACTIONS), nasty_text(8))},
        "mark_decision": {"text": mostly(st.just("We ship on Friday"), nasty_text())},
        "remove_decision": {"id": mostly(st.integers(1, 3), nasty_ints())},
        "mute_participant": {"participant_id": ids, "lock": bools},
        "mute_all": {"lock": bools},
        "unlock_microphone": {"participant_id": ids},
        "stop_media": {"participant_id": ids, "source": st.sampled_from(["camera", "screen", "x"])},
        "remove_participant": {"participant_id": ids},
        "set_role": {
            "participant_id": ids,
            "role": st.sampled_from(["co_host", "participant", "host"]),
        },
        "lock_meeting": {"locked": bools},
        "configure_meeting": {"passcode": nasty_text(20), "lobby_enabled": bools},
        "admit": {"lobby_id": ids},
        "deny": {"lobby_id": ids},
        "end_meeting": {},
        "spotlight": {"participant_id": ids},
        "recording_links": {},
        "recording": {"action": st.sampled_from(["start", "pause", "resume", "stop", "rewind"])},
        "set_captions": {"enabled": bools},
        "captions": {"on": bools},
        "set_participation": {
            "enabled": bools,
            "visibility": st.sampled_from(["host", "everyone", "off", "all"]),
            "weights": st.dictionaries(
                st.sampled_from(["attendance", "votes", "quiz", "chat", "bonus"]),
                mostly(st.integers(0, 100), nasty_ints()),
                max_size=5,
            ),
        },
        "leaderboard": {},
        "poll_create": _poll(world),
        "poll_edit": {"poll_id": polls, **_poll(world)},
        "poll_delete": {"poll_id": polls},
        "poll_launch": {"poll_id": polls},
        "poll_close": {"poll_id": polls},
        "poll_share": {"poll_id": polls},
        "poll_vote": {"poll_id": polls, "option_ids": _option_ids()},
        "poll_export": {"format": st.sampled_from(["json", "csv", "xml"]), "ballots": bools},
        "questionnaire_create": _questionnaire(),
        "questionnaire_edit": {"questionnaire_id": questionnaires, **_questionnaire()},
        "questionnaire_delete": {"questionnaire_id": questionnaires},
        "questionnaire_launch": {"questionnaire_id": questionnaires},
        "questionnaire_close": {"questionnaire_id": questionnaires},
        "questionnaire_share": {"questionnaire_id": questionnaires},
        "questionnaire_answer": {
            "questionnaire_id": questionnaires,
            "answers": _sheet(),
            "handle": nasty_text(30),
        },
        "questionnaire_export": {
            "format": st.sampled_from(["json", "csv", "xml"]),
            "answers": bools,
        },
    }


def plausible_payload(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Every documented field with a plausible value (most messages pass the
    validation and reach the meeting's logic)."""
    return st.fixed_dictionaries(fields)


def broken_payload(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """A plausible payload with one thing wrong: a field left out, holding any
    JSON value (binary too), or an unknown field added."""
    names = sorted(fields)

    def break_one(payload: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
        how = data.draw(st.sampled_from(["drop", "junk", "extra"] if names else ["extra"]))
        if how == "extra":
            return {**payload, data.draw(nasty_text(12)): data.draw(json_values(4))}
        name = data.draw(st.sampled_from(names))
        rest = {k: v for k, v in payload.items() if k != name}
        return rest if how == "drop" else {**rest, name: data.draw(json_values(6, binary=True))}

    return st.builds(break_one, plausible_payload(fields), st.data())


def event_names() -> st.SearchStrategy[str]:
    return weighted(
        (8, st.sampled_from(sorted(VALIDATORS))),
        (1, st.sampled_from(["connect", "disconnect", "message", "*", "connect_error", ""])),
        (1, nasty_text(40)),
    )


def arguments(event: str, world: World) -> st.SearchStrategy[Any]:
    """What the message carries: mostly its documented object, plausible or
    with one thing wrong; sometimes any JSON value, binary data, no payload
    at all, or several payloads."""
    fields = message_fields(world).get(event, {})
    return weighted(
        (5, plausible_payload(fields)),
        (3, broken_payload(fields)),
        (1, json_values(binary=True)),
        (0.5, st.just(NO_PAYLOAD)),
        (0.5, st.tuples(plausible_payload(fields), json_values(3))),
    )


# --- the sockets -----------------------------------------------------------------------------


class World:
    """A meeting with its host and a participant, and a socket that never
    joined; set up afresh whenever an example changed who is where."""

    def __init__(self, fuzz: Fuzz | None) -> None:
        self.fuzz = fuzz
        self.sockets: dict[str, socketio.AsyncClient] = {}
        self.ids: dict[str, str] = {}
        self.room = ""
        self.host_key = ""
        self.poll_ids: list[str] = []
        self.dirty = True

    def participant_ids(self) -> list[str]:
        return list(self.ids.values())

    async def ensure(self) -> None:
        if self.dirty or not all(s.connected for s in self.sockets.values()):
            await self.reset()

    async def reset(self) -> None:
        await self.close()
        meeting = await self._create_meeting()
        self.room, self.host_key = meeting["room"], meeting["host_key"]
        self.poll_ids = []
        self.sockets = {actor: await self._connect() for actor in ACTORS}
        for actor, extra in (("host", {"host_key": self.host_key}), ("member", {})):
            ack = await self.sockets[actor].call(
                "join",
                {"protocol": 1, "room": self.room, "name": actor, "receive": False, **extra},
                timeout=ACK_TIMEOUT,
            )
            assert ack.get("ok"), f"the fuzz world could not join: {ack}"
            self.ids[actor] = ack["participant_id"]
        self.dirty = False

    async def _create_meeting(self) -> dict[str, Any]:
        assert self.fuzz is not None
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with self.fuzz.http.post(
            f"{self.fuzz.url}/api/v1/meetings", json={}, headers=headers
        ) as response:
            assert response.status == 201, await response.text()
            body: dict[str, Any] = await response.json()
            return body

    async def _connect(self) -> socketio.AsyncClient:
        assert self.fuzz is not None
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        await sio.connect(self.fuzz.url, transports=["websocket"], wait_timeout=10)
        return sio

    async def send(self, actor: str, event: Any, args: Any) -> tuple[str, Any]:
        return await emit(self.sockets[actor], event, args, ACK_TIMEOUT)

    async def close(self) -> None:
        for sio in self.sockets.values():
            with contextlib.suppress(Exception):
                await sio.disconnect()
        self.sockets = {}


def test_every_message_of_the_protocol_has_a_fuzz_strategy() -> None:
    assert set(message_fields(World(None))) == set(VALIDATORS)


def test_socketio_messages_get_documented_answers_and_never_break_the_server(fuzz: Fuzz) -> None:
    world = World(fuzz)

    @fuzzing(5)
    @given(st.data())
    def one_message(data: st.DataObject) -> None:
        fuzz.cases += 1
        fuzz.run(world.ensure())
        actor = data.draw(st.sampled_from(ACTORS), label="actor")
        event = data.draw(event_names(), label="event")
        args = data.draw(arguments(event, world), label="payload")
        outcome, ack = fuzz.run(world.send(actor, event, args), timeout=ACK_TIMEOUT + 10)
        what = f"{actor} sent {event!r:.80} {'<none>' if args is NO_PAYLOAD else repr(args):.400}"
        label = event if event in VALIDATORS else "<other event>"
        fuzz.check_ack(
            label,
            what,
            outcome,
            ack,
            may_close=args is not NO_PAYLOAD and may_close_connection(args),
        )
        ok = isinstance(ack, dict) and ack.get("ok") is True
        if ok and event == "poll_create" and isinstance(ack.get("poll"), dict):
            world.poll_ids.append(str(ack["poll"].get("poll_id")))
        if (ok and event in STATEFUL) or outcome != "ack":
            world.dirty = True
        fuzz.check_server(what)

    try:
        one_message()
    finally:
        fuzz.run(world.close())
        fuzz.finish()


# --- raw packets -----------------------------------------------------------------------------


def raw_packets() -> st.SearchStrategy[str]:
    """Socket.IO packet texts (docs: packet type, attachments, namespace, ack
    id, JSON data), well-formed or not."""
    data = st.one_of(
        json_values().map(json.dumps),
        st.builds(
            lambda e, p: json.dumps([e, p]), st.sampled_from(sorted(VALIDATORS)), json_values()
        ),
        st.sampled_from(
            [
                "[]",
                "[null]",
                "[1]",
                '[["join"]]',
                '[{"a":1}]',
                '"join"',
                "{}",
                "[",
                '["join",',
                "NaN",
                "[1e999]",
                '["chat_send",{"text":"\\ud800"}]',
                '["x",{"_placeholder":true,"num":7}]',
                '["x",{"_placeholder":true,"num":"a"}]',
                "[" + "1" * 5000 + "]",
                "[" * 100_000 + "]" * 100_000,
                '["join",' + deep_json(50_000) + "]",
            ]
        ),
        nasty_text(),
    )
    return st.builds(
        lambda kind, attachments, namespace, ack_id, body: (
            f"{kind}{attachments}{namespace}{ack_id}{body}"
        ),
        st.sampled_from(["2", "2", "3", "5", "6", "0", "1", "4", "7", "x", ""]),
        st.sampled_from(["", "", "1-", "0-", "99-", "12345678901-"]),
        st.sampled_from(["", "", "/,", "/admin,", "/?x=1,", "/"]),
        st.one_of(st.just(""), st.integers(0, 10**6).map(str), st.just("9" * 120)),
        data,
    )


def engine_frames() -> st.SearchStrategy[str | bytes]:
    """Engine.IO frames: mostly messages (type 4) holding a Socket.IO packet,
    else other or unknown Engine.IO packet types, or binary."""
    return weighted(
        (6, raw_packets().map(lambda packet: "4" + packet)),
        (1, st.sampled_from(["", "0", "1", "2", "2probe", "3", "5", "6", "4", "9", "b", "bAAA"])),
        (1, nasty_text(40, huge=False)),
        (1, st.binary(max_size=64)),
    )


async def send_websocket(fuzz: Fuzz, frames: list[str | bytes]) -> None:
    """A bare Engine.IO WebSocket: open, connect the namespace, send ``frames``,
    then close."""
    url = f"{fuzz.url}/socket.io/?EIO=4&transport=websocket"
    async with fuzz.http.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
        opened = await ws.receive(timeout=10)
        assert opened.type == aiohttp.WSMsgType.TEXT and opened.data.startswith("0{")
        await ws.send_str("40")
        with contextlib.suppress(TimeoutError):
            await ws.receive(timeout=5)  # the CONNECT answer
        for frame in frames:
            if ws.closed:
                break
            try:
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:  # as bytes: lone surrogates become invalid UTF-8 in a text frame
                    await ws.send_frame(
                        frame.encode("utf-8", "surrogatepass"), aiohttp.WSMsgType.TEXT
                    )
            except (ConnectionError, aiohttp.ClientError):
                # The server hung up (e.g. on a frame over its size limit)
                # before our client saw its close frame: allowed; whether the
                # server is still well is checked after every case.
                break
        # Let the server handle what it got before the socket goes away.
        with contextlib.suppress(TimeoutError):
            await ws.receive(timeout=0.05)
        await asyncio.sleep(0.02)


async def send_polling(fuzz: Fuzz, frames: list[str | bytes]) -> tuple[int | None, int | None]:
    """The same over HTTP long-polling: one POST with every frame (separated
    by U+001E, binary as ``b`` + base64), then a POST closing the session.
    Returns both statuses (None: no answer in time)."""
    base = f"{fuzz.url}/socket.io/?EIO=4&transport=polling"
    async with fuzz.http.get(base) as response:
        opened = await response.text()
    url = f"{base}&sid={json.loads(opened[1:])['sid']}"
    async with fuzz.http.post(url, data=b"40") as response:
        await response.read()
    async with fuzz.http.get(url) as response:
        await response.read()  # the CONNECT answer
    body = "\x1e".join(
        "b" + base64.b64encode(f).decode() if isinstance(f, bytes) else f for f in frames
    )
    statuses: list[int | None] = []
    for data in (body.encode("utf-8", "surrogatepass"), b"1"):
        try:
            async with asyncio.timeout(ACK_TIMEOUT):
                async with fuzz.http.post(url, data=data) as response:
                    await response.read()
                    statuses.append(response.status)
        except TimeoutError:
            statuses.append(None)
    return statuses[0], statuses[1]


def test_raw_socketio_packets_never_break_the_server(fuzz: Fuzz) -> None:
    @fuzzing(2)
    # Inputs that broke the server before, tried first in every run.
    @example(polling=True, frames=["6"])  # a NOOP in a POST: the POST hung
    @example(polling=True, frames=["2probe"])  # a PING in a POST: the POST hung
    @example(polling=True, frames=["1"])  # a POST after closing: 500
    @example(polling=False, frames=['42[["join"],{}]'])  # a list as event name
    @example(polling=False, frames=['451-["x",{"_placeholder":true,"num":[]}]', b"\x00"])
    @given(st.booleans(), st.lists(engine_frames(), min_size=1, max_size=3))
    def raw(polling: bool, frames: list[str | bytes]) -> None:
        fuzz.cases += 1
        what = f"raw {'polling' if polling else 'websocket'} frames {frames!r:.600}"
        if polling:
            for step, status in zip(
                ("POST", "closing POST"), fuzz.run(send_polling(fuzz, frames)), strict=True
            ):
                fuzz.answers[f"polling {step} {status}"] += 1
                if status is None:
                    fuzz.unanswered(f"long-polling {step} got no answer", what)
                elif status >= 500:
                    fuzz.violation(f"long-polling {step} answered {status}", what)
        else:
            fuzz.run(send_websocket(fuzz, frames))
        fuzz.check_server(what)

    try:
        raw()
    finally:
        fuzz.finish()
