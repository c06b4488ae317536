"""Odd bytes at every entry point (docs/security.md, "Odd bytes"): an
attacker's sweep, the same every run, that the random fuzzers may miss.

Every public and keyed entry point gets: header values of raw bytes that are
no UTF-8 (sent over a bare TCP connection, as no HTTP client library sends
them), non-ASCII, lone surrogates (as JSON escapes, and percent-encoded in
paths and queries), NUL, 64 KiB values, numbers as strings, arrays and
objects where strings belong. The answer must be a clear error with a
documented code (or a normal answer): never HTTP 500 or ``internal_error``,
never a hung request or message, never a traceback in the log; and the
server (the socket, the room) goes on serving.

One server (the ``fuzz`` fixture), few connections: a few seconds in all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
import socketio
from running_server import RunningServer
from server_keys import ADMIN_KEY

from conf_server import Settings
from conf_server.http.share_access import SESSION_COOKIE
from security.conftest import ACK_TIMEOUT, Fuzz, deep_json, emit, rest_errors
from security.test_files import TRACK, fake_recording
from security.test_fuzz_socketio import World, message_fields, send_websocket
from signaling.protocol import VALIDATORS

#: The sweep's server believes X-Forwarded-For from loopback, so that header is
#: parsed, and takes webhooks to loopback, so a valid registration gets through.
FUZZ_SETTINGS = {
    "trusted_proxies": ("127.0.0.1",),
    "webhook_allowed_networks": ("127.0.0.0/8",),
}
#: Header values: bytes that are no UTF-8 (aiohttp hands them over as lone
#: surrogates; the second is a surrogate in UTF-8), and UTF-8 beyond ASCII.
ODD_HEADER_BYTES = (b"\xff\xfe", b"\xed\xb3\xbf", "\u00e9\u20ac\U0001f600".encode())
#: A header line far over aiohttp's limit (8 KiB): refused before any handler.
HUGE_HEADER = b"User-Agent: " + b"y" * 65536
#: Headers the server or aiohttp reads (``<v>`` stands for the odd value).
ODD_HEADERS = (
    b"Authorization: Bearer <v>",
    b"Authorization: <v>",
    b"Cookie: share_session=<v>",
    b"Cookie: <v>=<v>",
    b"X-Forwarded-For: <v>",
    b"X-Forwarded-For: 10.0.0.1, <v>",
    b"X-Forwarded-For: fe80::1%<v>",
    b"X-Conf-Forwarded-By: n.<v>",
    b"Range: bytes=<v>",
    b"If-Range: <v>",
    b"If-None-Match: <v>",
    b"Accept-Encoding: <v>",
    b"Accept-Language: <v>",
    b"Origin: http://<v>",
    b"Host: <v>",
    b"User-Agent: <v>",
    b"X-Forwarded-Host: <v>",
    b"X-Forwarded-Proto: <v>",
    b"Forwarded: for=<v>",
    b"Expect: <v>",
    b"Connection: <v>",
    b"Upgrade: <v>",
)
#: Query and path values as sent on the wire (percent-encoded or raw).
ODD_URL_VALUES = (
    b"%ff%fe",
    b"%ed%b3%bf",  # a lone surrogate in (invalid) UTF-8
    b"\xff",
    b"%00",
    b"%C3%A9",
    b"%2e%2e%2f",
    b"12345",
    b"%5B%5D",
    b"x" * 4000,
)
#: JSON values for any field: lone surrogates (sent as JSON escapes), NUL,
#: non-ASCII, 64 KiB, numbers as strings and other wrong types.
ODD_JSON: tuple[Any, ...] = (
    "\udcff",
    "a\x00b",
    "\u202e\U0001f600",
    "x" * 65536,
    "12345",
    12345,
    True,
    None,
    [["x"]],
    {"a": ["b"]},
)
#: The odd values of the Socket.IO sweep: wrong types in general are the
#: random fuzzer's (test_fuzz_socketio.py); these are the text cases.
ODD_MESSAGE_VALUES: tuple[Any, ...] = ("\udcff", "a\x00b", "x" * 65536, "12345", [["x"]])
#: Pages and routes outside the OpenAPI document.
PAGES = ("/", "/r/room", "/s/share", "/admin", "/static/js/room.js", "/assets/x.js", "/nowhere")
SOCKET_IO = "/socket.io/?EIO=4&transport=polling"


# --- raw HTTP ----------------------------------------------------------------------------------


async def raw_upgrade(url: str, target: bytes, headers: list[bytes]) -> int | None:
    """A WebSocket upgrade request sent as it is; the status of its answer's
    head (None: none in time), then the connection is dropped."""
    parts = urlsplit(url)
    lines = [
        b"GET " + target + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Version: 13",
        *headers,
    ]
    if not any(h.lower().startswith(b"sec-websocket-key:") for h in headers):
        lines.append(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
    try:
        async with asyncio.timeout(ACK_TIMEOUT):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            try:
                writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
                head = await reader.readuntil(b"\r\n\r\n")
            finally:
                writer.close()
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
        return None
    fields = head.split(b" ", 2)
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


async def raw_http(url: str, request: bytes) -> tuple[int | None, bytes]:
    """Send ``request`` as it is over a fresh connection; the status (None:
    no answer in time or none at all) and the body."""
    parts = urlsplit(url)
    try:
        async with asyncio.timeout(ACK_TIMEOUT):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            try:
                writer.write(request)
                await writer.drain()
                answer = await reader.read()
            finally:
                writer.close()
    except (TimeoutError, ConnectionError):
        return None, b""
    head, _, body = answer.partition(b"\r\n\r\n")
    fields = head.split(b" ", 2)
    return (int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None), body


def request_bytes(
    method: str,
    target: bytes,
    headers: list[bytes],
    body: bytes = b"",
    key: bool = True,
    content_type: bytes = b"application/json",
) -> bytes:
    """An HTTP/1.1 request; ``key``: with the admin key (unless ``headers``
    bring an Authorization of their own)."""
    lines = [method.encode() + b" " + target + b" HTTP/1.1"]
    if not any(h.lower().startswith(b"host:") for h in headers):
        lines.append(b"Host: 127.0.0.1")
    if key and not any(h.lower().startswith(b"authorization:") for h in headers):
        lines.append(b"Authorization: Bearer " + ADMIN_KEY.encode())
    lines += [b"Connection: close", b"Content-Type: " + content_type]
    lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join([*lines, *headers]) + b"\r\n\r\n" + body


def check_http(fuzz: Fuzz, what: str, status: int | None, body: bytes, api: bool) -> None:
    """Answered, below 500 (or a documented 5xx), and under ``/api/v1`` a
    documented error body."""
    if status is None:
        fuzz.unanswered("HTTP: no answer", what)
        return
    fuzz.answers[str(status)] += 1
    code = None
    if api and status >= 400 and body.startswith(b"{"):
        try:
            code = json.loads(body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            fuzz.violation(f"HTTP {status}: not the JSON error body", f"{what} -> {body[:300]!r}")
            return
    if code == "internal_error" or (status >= 500 and (str(status), code) not in rest_errors()):
        fuzz.violation(f"HTTP {status} {code}", f"{what} -> {body[:300]!r}")


#: (what was sent, the request's bytes, whether it is under /api/v1).
Sent = tuple[str, bytes, bool]


async def _send_many(url: str, requests: list[bytes]) -> list[tuple[int | None, bytes]]:
    """Send ``requests``, a few at a time, each over its own connection."""
    gate = asyncio.Semaphore(8)

    async def one(request: bytes) -> tuple[int | None, bytes]:
        async with gate:
            return await raw_http(url, request)

    return list(await asyncio.gather(*(one(request) for request in requests)))


def send_and_check(fuzz: Fuzz, sent: list[Sent]) -> None:
    """Send every request and check every answer (:func:`check_http`)."""
    answers = fuzz.run(_send_many(fuzz.url, [request for _, request, _ in sent]), timeout=120)
    for (what, _, api), (status, answer) in zip(sent, answers, strict=True):
        fuzz.cases += 1
        check_http(fuzz, what, status, answer, api)


async def routes(fuzz: Fuzz) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every route of the OpenAPI document."""
    async with fuzz.http.get(f"{fuzz.url}/api/v1/openapi.json") as response:
        document = await response.json()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method.upper(), path, operation))
    return found


def filled(template: str, value: bytes = b"x1") -> bytes:
    """``template`` with every ``{parameter}`` replaced by ``value``."""
    out, rest = b"", template
    while "{" in rest:
        before, _, after = rest.partition("{")
        out += before.encode() + value
        rest = after.partition("}")[2]
    return out + rest.encode()


def test_odd_header_bytes_on_every_route(fuzz: Fuzz) -> None:
    api = fuzz.run(routes(fuzz))
    targets = [(m, filled(p), True) for m, p, _ in api]
    targets += [("GET", page.encode(), False) for page in PAGES]
    targets.append(("GET", SOCKET_IO.encode(), False))
    # Every header with bytes that are no UTF-8 (what trips code); UTF-8
    # beyond ASCII only where a key is read (the body sweep has the rest).
    lines = [h.replace(b"<v>", v) for h in ODD_HEADERS for v in ODD_HEADER_BYTES[:2]]
    lines += [h.replace(b"<v>", ODD_HEADER_BYTES[2]) for h in ODD_HEADERS[:2]]
    for method, target, is_api in targets:
        body = b"{}" if method in ("POST", "PUT", "PATCH") else b""
        sent = [
            (
                f"{method} {target!r} with {line[:80]!r}",
                request_bytes(method, target, [line], body),
                is_api,
            )
            for line in [*lines, HUGE_HEADER]
        ]
        send_and_check(fuzz, sent)
        fuzz.check_server(f"odd headers on {method} {target!r}")
    fuzz.finish()


def keyless(operation: dict[str, Any]) -> bool:
    """May the route answer without an API key (or with a download token)?"""
    security = operation.get("security", [{}])
    names = {p["name"] for p in operation.get("parameters", [])}
    return {} in security or "download_token" in names


def test_odd_query_and_path_values_on_every_route(fuzz: Fuzz) -> None:
    api = fuzz.run(routes(fuzz))
    for method, path, operation in api:
        names = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
        keys = (True, False) if keyless(operation) else (True,)
        sent: list[Sent] = []
        for value in ODD_URL_VALUES:
            targets = [filled(path, value)] if "{" in path else []
            targets += [filled(path) + b"?" + n.encode() + b"=" + value for n in [*names, "x"]]
            for target in targets:
                for key in keys:
                    request = request_bytes(method, target, [], key=key)
                    sent.append((f"{method} {target[:120]!r} key={key}", request, True))
        send_and_check(fuzz, sent)
        fuzz.check_server(f"odd query and path values on {method} {path}")
    pages: list[Sent] = []
    for page in ("/r/", "/s/", "/static/js/", "/assets/"):
        for value in ODD_URL_VALUES:
            target = page.encode() + value + b"?name=" + value + b"&token=" + value
            pages.append((f"GET {target[:120]!r}", request_bytes("GET", target, []), False))
    send_and_check(fuzz, pages)
    fuzz.check_server("odd page paths")
    fuzz.finish()


# --- JSON bodies -------------------------------------------------------------------------------

PERSON = {"user_id": "u1", "name": "Ada"}
#: A valid body for every route that takes one (path parameters filled with x1).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/meetings"): {"title": "Odd", "passcode": "1234", "language": "en"},
    ("POST", "/api/v1/admin/webhooks"): {
        "url": "http://127.0.0.1:9/hook",
        "events": ["meeting.started"],
    },
    ("POST", "/api/v1/admin/keys"): {"name": "odd", "scope": "integration"},
    ("POST", "/api/v1/escalations"): {
        "chat_id": "c1",
        "title": "Odd",
        "initiator": PERSON,
        "participants": [PERSON],
    },
    ("POST", "/api/v1/meetings/{meeting_id}/recording"): {"action": "stop"},
    ("POST", "/api/v1/recordings/{recording_id}/shares"): {
        "password": "secret-password",
        "expires_in": 3600,
    },
    ("POST", "/api/v1/shares/{share_id}/session"): {"password": "secret-password"},
}


def variants(
    body: dict[str, Any], odd_values: tuple[Any, ...] = ODD_JSON, optional: tuple[str, ...] = ()
) -> list[tuple[str, Any]]:
    """``body`` with one value (nested ones too) replaced by each odd value,
    each ``optional`` field added with each odd value, and a few odd keys
    added; (what changed, the new body)."""
    out: list[tuple[str, Any]] = []

    def walk(value: Any, rebuild: Any, where: str) -> None:
        for odd in odd_values:
            out.append((f"{where}={odd!r:.40}", rebuild(odd)))
        if isinstance(value, dict):
            for name, inner in value.items():
                walk(inner, lambda v, n=name: rebuild({**value, n: v}), f"{where}.{name}")
        elif isinstance(value, list) and value:
            walk(value[0], lambda v: rebuild([v, *value[1:]]), f"{where}[0]")

    for name, value in body.items():
        walk(value, lambda v, n=name: {**body, n: v}, name)
    for name in optional:
        out += [(f"{name}={odd!r:.40}", {**body, name: odd}) for odd in odd_values]
    for key in ("\udcff", "\x00", "k" * 5000):
        out.append((f"key {key!r:.20}", {**body, key: "v"}))
    return out


def test_odd_json_values_in_every_request_body(fuzz: Fuzz) -> None:
    api = {(m, p): op for m, p, op in fuzz.run(routes(fuzz)) if "requestBody" in op}
    assert set(api) == set(BODIES), "a route takes a body that this sweep does not know"
    odd_headers = [h.replace(b"<v>", v) for h in ODD_HEADERS for v in ODD_HEADER_BYTES]
    for (method, path), body in BODIES.items():
        keys = (True, False) if keyless(api[method, path]) else (True,)
        target, valid = filled(path), json.dumps(body).encode()
        # The valid body with each odd header: the handler runs to its end
        # (links built from Host, addresses from X-Forwarded-For, ...).
        sent: list[Sent] = [
            (
                f"{method} {path} with {line[:80]!r}",
                request_bytes(method, target, [line], valid),
                True,
            )
            for line in odd_headers
            if not line.startswith(b"Authorization")
        ]
        for change, changed in variants(body):
            # ensure_ascii: lone surrogates go as \\udcff escapes (valid JSON text).
            payload = json.dumps(changed).encode()
            for key in keys:
                request = request_bytes(method, target, [], payload, key=key)
                sent.append((f"{method} {path} {change} key={key}", request, True))
        send_and_check(fuzz, sent)
        fuzz.check_server(f"odd JSON values to {method} {path}")
    fuzz.finish()


#: Content-Type values, and Content-Encoding values with bodies that do not
#: match them (a gzip bomb: 36 KiB that inflate to 8 MiB).
ODD_CONTENT_TYPES = (
    b"application/json; charset=\xff",
    b"application/json; charset=latin-1",
    b"application/json\xff",
    b"\xff/\xff",
    "application/json; charset=\u00e9".encode(),
    b'application/json; boundary="\xff',
    b"application/json; " + b"a=b; " * 1000,
)
ODD_ENCODINGS = (
    (b"gzip", b"not gzip"),
    (b"deflate", b"\xff" * 100),
    (b"br", b"\x00" * 100),
    (b"gzip", gzip.compress(b"{" * (8 * 1024 * 1024), 1)),
    (b"\xff", b"{}"),
    (b"gzip, gzip, gzip", gzip.compress(gzip.compress(gzip.compress(b"{}")))),
)


def test_odd_content_types_and_encodings(fuzz: Fuzz) -> None:
    for path in ("/api/v1/meetings", "/api/v1/shares/x1/session", "/api/v1/admin/keys"):
        for content_type in ODD_CONTENT_TYPES:
            request = request_bytes("POST", path.encode(), [], b"{}", content_type=content_type)
            status, answer = fuzz.run(raw_http(fuzz.url, request))
            fuzz.cases += 1
            check_http(fuzz, f"POST {path} as {content_type[:60]!r}", status, answer, True)
        for encoding, body in ODD_ENCODINGS:
            request = request_bytes("POST", path.encode(), [b"Content-Encoding: " + encoding], body)
            status, answer = fuzz.run(raw_http(fuzz.url, request))
            fuzz.cases += 1
            check_http(fuzz, f"POST {path} encoded {encoding!r}", status, answer, True)
    # The long-polling transport reads POST bodies itself (signaling/server.py).
    for encoding, body in ODD_ENCODINGS:
        for target in (SOCKET_IO, f"{SOCKET_IO}&sid=x1"):
            request = request_bytes(
                "POST", target.encode(), [b"Content-Encoding: " + encoding], body, key=False
            )
            status, answer = fuzz.run(raw_http(fuzz.url, request))
            fuzz.cases += 1
            check_http(fuzz, f"POST {target} encoded {encoding!r}", status, answer, False)
    fuzz.check_server("odd content types and encodings")
    fuzz.finish()


# --- Socket.IO ---------------------------------------------------------------------------------


def base_payloads(world: World) -> dict[str, dict[str, Any]]:
    """A plausible payload for every message (most pass validation and reach
    the meeting's logic, where an odd value then sits in one field)."""
    pid = world.ids.get("member", "p_0")
    poll = {"question": "Q?", "options": ["a", "b"], "kind": "single", "anonymous": False}
    sheet = {
        "title": "T",
        "anonymous": False,
        "questions": [{"kind": "text", "prompt": "Why?", "max_length": 100}],
    }
    ice = {
        "candidate": "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
        "sdp_mid": "0",
        "sdp_mline_index": 0,
    }
    about = {"participant_id": pid}
    return {
        "join": {"protocol": 1, "room": world.room, "name": "Eve", "receive": False},
        "publish": {"sdp": "v=0\r\n", "sources": {"0": "microphone"}},
        "publisher_ice": ice,
        "subscriber_ice": ice,
        "subscriber_answer": {"revision": 1, "sdp": "v=0\r\n"},
        "mute": {"source": "microphone", "muted": True},
        "set_view": {"video": [pid], "sizes": {pid: 320}, "pinned": []},
        "leave": {},
        "raise_hand": {},
        "lower_hand": about,
        "lower_all_hands": {},
        "next_hand": {},
        "chat_send": {"text": "hello"},
        "react": {"emoji": "\U0001f44d"},
        "mark_decision": {"text": "We ship"},
        "remove_decision": {"id": 1},
        "mute_participant": {**about, "lock": False},
        "mute_all": {"lock": False},
        "unlock_microphone": about,
        "stop_media": {**about, "source": "camera"},
        "remove_participant": about,
        "set_role": {**about, "role": "participant"},
        "lock_meeting": {"locked": False},
        "configure_meeting": {"passcode": "1234", "lobby_enabled": False},
        "admit": {"lobby_id": pid},
        "deny": {"lobby_id": pid},
        "end_meeting": {},
        "spotlight": about,
        "recording_links": {},
        "recording": {"action": "stop"},
        "set_captions": {"enabled": False},
        "captions": {"on": False},
        "set_participation": {"enabled": False, "visibility": "host", "weights": {"votes": 1}},
        "leaderboard": {},
        "poll_create": poll,
        "poll_edit": {"poll_id": "p1", **poll},
        "poll_delete": {"poll_id": "p1"},
        "poll_launch": {"poll_id": "p1"},
        "poll_close": {"poll_id": "p1"},
        "poll_share": {"poll_id": "p1"},
        "poll_vote": {"poll_id": "p1", "option_ids": ["o1"]},
        "poll_export": {"format": "json", "ballots": False},
        "questionnaire_create": sheet,
        "questionnaire_edit": {"questionnaire_id": "qn1", **sheet},
        "questionnaire_delete": {"questionnaire_id": "qn1"},
        "questionnaire_launch": {"questionnaire_id": "qn1"},
        "questionnaire_close": {"questionnaire_id": "qn1"},
        "questionnaire_share": {"questionnaire_id": "qn1"},
        "questionnaire_answer": {"questionnaire_id": "qn1", "answers": {"q1": "x"}, "handle": "h"},
        "questionnaire_export": {"format": "json", "answers": False},
    }


#: Messages whose success changes who is where: sent odd only (a base
#: payload that succeeds would end the sweep's meeting).
CHANGES_THE_WORLD = frozenset(
    {"leave", "end_meeting", "remove_participant", "set_role", "lock_meeting", "configure_meeting"}
)


def test_every_socketio_message_has_a_base_payload() -> None:
    world = World(None)
    assert set(base_payloads(world)) == set(VALIDATORS)


async def still_works(world: World) -> str | None:
    """Do the sweep's sockets still work: the member's hand goes up and down,
    and the loner gets an answer? None, or what failed."""
    for actor, event, payload in (
        ("member", "raise_hand", {}),
        ("member", "lower_hand", {}),
        ("loner", "chat_send", {"text": "hi"}),
    ):
        outcome, ack = await world.send(actor, event, payload)
        wanted_ok = actor == "member"
        if outcome != "ack" or not isinstance(ack, dict) or ack.get("ok") is not wanted_ok:
            return f"{actor} {event}: {outcome} {ack!r:.200}"
    return None


async def send_all(world: World, actor: str, event: str, payloads: list[Any]) -> list[Any]:
    """Send ``payloads`` at once (the server handles a socket's messages in
    order): one round trip's wait for all of them."""
    return list(await asyncio.gather(*(world.send(actor, event, p) for p in payloads)))


async def undo_join(world: World, event: str, ack: Any) -> bool:
    """After the loner's join succeeded, it leaves again (cheaper than a new
    world); False when that is not what happened, or it did not work."""
    if event != "join" or not (isinstance(ack, dict) and ack.get("ok")):
        return False
    outcome, left = await world.send("loner", "leave", {})
    return outcome == "ack" and isinstance(left, dict) and left.get("ok") is True


def test_odd_values_in_every_field_of_every_socketio_message(fuzz: Fuzz) -> None:
    world = World(fuzz)
    try:
        fuzz.run(world.ensure())
        for event, base in base_payloads(world).items():
            # The host's messages pass the validators and the permission
            # checks to the meeting's logic; a socket that never joined is
            # refused after validation (not_joined), so it only sends join.
            actor = "loner" if event == "join" else "host"
            # The fields the random fuzzer knows and the base leaves out
            # (join's resume_token, token, zone, ...), tried one at a time.
            optional = tuple(sorted(set(message_fields(world)[event]) - set(base)))
            odd = variants(base, ODD_MESSAGE_VALUES, optional)
            # Messages whose success changes who is where go one at a time.
            batches = (
                [[item] for item in odd] if event in CHANGES_THE_WORLD or event == "join" else [odd]
            )
            for batch in batches:
                answers = fuzz.run(send_all(world, actor, event, [p for _, p in batch]))
                for (change, _), (outcome, ack) in zip(batch, answers, strict=True):
                    fuzz.cases += 1
                    fuzz.check_ack(event, f"{actor} sent {event} with {change}", outcome, ack)
                    if outcome != "ack" or (ack.get("ok") and len(batch) == 1):
                        world.dirty = not fuzz.run(undo_join(world, event, ack))
                if world.dirty:
                    fuzz.run(world.ensure())
            broken = fuzz.run(still_works(world))
            if broken is not None:
                fuzz.violation(f"{event}: the sockets stopped working", broken)
                world.dirty = True
                fuzz.run(world.ensure())
            fuzz.check_server(f"odd values in {event}")
    finally:
        fuzz.run(world.close())
    fuzz.finish()


async def connect_with(fuzz: Fuzz, auth: Any, headers: dict[str, str]) -> str:
    """Connect a Socket.IO client with ``auth`` and ``headers``; whether it
    got in, was refused, or neither (the failure's text)."""
    # The fuzz session: a refused client would leave a session of its own unclosed.
    sio = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=fuzz.http)
    try:
        await sio.connect(
            fuzz.url, transports=["websocket"], auth=auth, headers=headers, wait_timeout=10
        )
    except socketio.exceptions.ConnectionError as exc:
        return f"refused: {exc}"
    try:
        outcome, _ = await emit(sio, "raise_hand", {}, ACK_TIMEOUT)
        return "connected" if outcome == "ack" else f"no answer: {outcome}"
    finally:
        await sio.disconnect()


def test_odd_socketio_connections(fuzz: Fuzz) -> None:
    headers: tuple[dict[str, str], ...] = (
        {},
        {"X-Forwarded-For": "\u00e9"},
        {"Origin": "http://\u00e9"},
        {"Cookie": "io=\u00e9"},
    )
    auths = (None, {"token": "\udcff"}, {"a": "x" * 65536}, {"a": [["x"]]}, {"\x00": 1})
    for header in headers:
        for auth in auths:
            fuzz.cases += 1
            result = fuzz.run(connect_with(fuzz, auth, header))
            fuzz.answers[result.partition(":")[0]] += 1
            what = f"{auth!r:.60} {header} {result}"
            if result.startswith("no answer"):
                fuzz.violation("Socket.IO connect: no answer", what)
            elif "Origin" not in header and result != "connected":
                # The server reads no auth; such headers change nothing either.
                fuzz.violation("Socket.IO connect: refused", what)
    # The handshake's query string, with raw and percent-encoded odd bytes.
    for value in ODD_URL_VALUES:
        target = b"/socket.io/?EIO=4&transport=polling&t=" + value + b"&sid=" + value
        status, answer = fuzz.run(raw_http(fuzz.url, request_bytes("GET", target, [])))
        fuzz.cases += 1
        check_http(fuzz, f"GET {target[:100]!r}", status, answer, False)
        target = b"/socket.io/?EIO=" + quote(value.decode("latin-1")).encode()
        status, answer = fuzz.run(raw_http(fuzz.url, request_bytes("GET", target, [])))
        check_http(fuzz, f"GET {target[:100]!r}", status, answer, False)
    # Socket.IO packets naming odd namespaces and events, with odd auth.
    for frames in (
        ["40/\udcff,", "40/\u00e9,", "40/" + "x" * 65536 + ","],
        ['42/\udcff,["x",{}]', '421["\udcff",{}]', '422["' + "e" * 65536 + '",{}]'],
        ['40{"token":"\udcff"}', '40{"\udcff":1}', "40" + deep_json(100)],
        ['421["join",{"protocol":1,"room":"r","name":"\udcff"}]', "41/\udcff,"],
        # The same as JSON escapes (valid UTF-8 on the wire; the text above is not).
        ['421["\\udcff",{}]', '40{"token":"\\udcff"}', '40{"\\udcff":1}'],
        ['421["join",{"protocol":1,"room":"r","name":"\\udcff"}]'],
    ):
        fuzz.cases += 1
        fuzz.run(send_websocket(fuzz, ["4" + frame for frame in frames]))
    # The WebSocket upgrade, with odd bytes in its own headers and in the others.
    upgrade = [
        b"Sec-WebSocket-Key: <v>",
        b"Sec-WebSocket-Protocol: <v>",
        b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=<v>",
        b"Sec-WebSocket-Extensions: <v>",
        *ODD_HEADERS,
    ]
    target = b"/socket.io/?EIO=4&transport=websocket"
    for line in [h.replace(b"<v>", v) for h in upgrade for v in ODD_HEADER_BYTES]:
        fuzz.cases += 1
        status = fuzz.run(raw_upgrade(fuzz.url, target, [line]))
        if status is None or status >= 500:
            fuzz.violation(f"WebSocket upgrade answered {status}", repr(line[:100]))
    fuzz.check_server("odd Socket.IO connections")
    fuzz.finish()


# --- a real recording, its download and its share link -----------------------------------------

#: Range header values: digits beyond Python's int() limit (4,300), digits
#: that are no ASCII (U+0661 ARABIC-INDIC ONE), and other odd bytes.
ODD_RANGES = (
    b"bytes=" + b"9" * 5000 + b"-",
    b"bytes=-" + b"9" * 5000,
    b"bytes=0-" + b"9" * 5000,
    b"bytes=0-99999999999999999999999999",
    "bytes=\u0661-\u0662".encode(),
    b"bytes=\xff-",
    b"bytes=" + b"0-1," * 2000,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The ``server`` fixture's settings, X-Forwarded-For believed from loopback
    (share links audit the client address)."""
    return dataclasses.replace(settings, trusted_proxies=("127.0.0.1",))


async def test_odd_bytes_reach_a_real_download_and_share_link(server: RunningServer) -> None:
    recording_id = fake_recording(server.service.recording.library)
    admin = f"Bearer {ADMIN_KEY}"
    async with aiohttp.ClientSession(headers={"Authorization": admin}) as http:
        async with http.post(
            f"{server.url}/api/v1/recordings/{recording_id}/shares",
            json={"password": "secret-password", "expires_in": 3600},
        ) as response:
            assert response.status == 201, await response.text()
            share_id = (await response.json())["share_id"]
        async with http.post(
            f"{server.url}/api/v1/shares/{share_id}/session", json={"password": "secret-password"}
        ) as response:
            assert response.status == 200, await response.text()
            cookie = response.cookies[SESSION_COOKIE].value
    file_path = f"/api/v1/recordings/{recording_id}/files/{TRACK}".encode()
    requests: list[tuple[bytes, list[bytes], bytes]] = []
    for value in ODD_RANGES:
        requests.append((file_path, [b"Range: " + value], b""))
        # aiohttp serves the static files (and parses their Range) itself.
        requests.append((b"/static/js/room.js", [b"Range: " + value], b""))
        requests.append((b"/vendor/socket.io.esm.min.js", [b"Range: " + value], b""))
    for value in ODD_HEADER_BYTES:
        requests += [
            (file_path, [b"Range: bytes=0-1", b"If-Range: " + value], b""),
            (file_path, [b"If-None-Match: " + value, b"If-Match: " + value], b""),
            (file_path, [b"If-Modified-Since: " + value], b""),
        ]
        for what in ("video", "transcript"):
            target = f"/api/v1/shares/{share_id}/{what}".encode()
            requests += [
                (target, [b"Cookie: " + SESSION_COOKIE.encode() + b"=" + value], b""),
                (
                    target,
                    [
                        b"Cookie: " + SESSION_COOKIE.encode() + b"=" + cookie.encode(),
                        b"Range: bytes=" + value,
                    ],
                    b"",
                ),
            ]
    for value in ODD_URL_VALUES:
        requests.append((file_path + b"?download_token=" + value, [], b""))
    session = f"/api/v1/shares/{share_id}/session".encode()
    for odd in ODD_JSON:
        requests.append((session, [], json.dumps({"password": odd}).encode()))
    share_cookie = b"Cookie: " + SESSION_COOKIE.encode() + b"=" + cookie.encode()
    for value in ODD_HEADER_BYTES:  # audited with the client address
        for forwarded in (b"X-Forwarded-For: " + value, b"X-Forwarded-For: fe80::1%" + value):
            for password in ("secret-password", "wrong-password"):
                body = json.dumps({"password": password}).encode()
                requests.append((session, [forwarded], body))
            video = f"/api/v1/shares/{share_id}/video".encode()
            requests.append((video, [forwarded, share_cookie], b""))
    failures = []
    for target, headers, body in requests:
        method = "POST" if body else "GET"
        key = target.startswith(b"/api/v1/recordings") and b"download_token" not in target
        status, answer = await raw_http(
            server.url, request_bytes(method, target, headers, body, key=key)
        )
        if status is None or status >= 500 or b"internal_error" in answer:
            failures.append(
                (target[:100], [h[:80] for h in headers], body[:60], status, answer[:200])
            )
    assert not failures, failures
    # Still serving: the right cookie gets the transcript's answer (none here).
    status, answer = await raw_http(
        server.url,
        request_bytes(
            "GET",
            f"/api/v1/shares/{share_id}/transcript".encode(),
            [b"Cookie: " + SESSION_COOKIE.encode() + b"=" + cookie.encode()],
            key=False,
        ),
    )
    assert status == 404 and b"no_transcript" in answer, (status, answer)


async def lobby_sweep(fuzz: Fuzz) -> list[tuple[str, str, Any]]:
    """A guest waiting in a meeting's lobby sends every message (its base
    payload and each field as ``a\\x00b``); then the host admits it and it
    raises its hand. (what, outcome, acknowledgement) of every message."""
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with fuzz.http.post(
        f"{fuzz.url}/api/v1/meetings", json={"lobby_enabled": True}, headers=headers
    ) as response:
        meeting = await response.json()
    sockets = []
    for _ in range(2):
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=fuzz.http)
        await sio.connect(fuzz.url, transports=["websocket"], wait_timeout=10)
        sockets.append(sio)
    host, guest = sockets
    join = {"protocol": 1, "room": meeting["room"], "receive": False}
    results: list[tuple[str, str, Any]] = []
    try:
        await host.call("join", {**join, "name": "Host", "host_key": meeting["host_key"]})
        waiting = await guest.call("join", {**join, "name": "Guest"})
        assert waiting.get("waiting") is True, waiting
        world = World(None)
        world.room = meeting["room"]
        for event, base in base_payloads(world).items():
            if event == "leave":
                continue  # it would leave the lobby
            for change, payload in [("base", base), *variants(base, ("a\x00b",))]:
                outcome, ack = await emit(guest, event, payload, ACK_TIMEOUT)
                results.append((f"waiting guest sent {event} with {change}", outcome, ack))
        admitted = await host.call("admit", {"lobby_id": waiting["lobby_id"]})
        results.append(("host admitted the guest", "ack", admitted))
        for _ in range(50):  # the guest is in once its lobby_admitted came
            outcome, ack = await emit(guest, "raise_hand", {}, ACK_TIMEOUT)
            if not (isinstance(ack, dict) and ack.get("error", {}).get("code") == "in_lobby"):
                break
            await asyncio.sleep(0.05)
        results.append(("admitted guest raised its hand", outcome, ack))
    finally:
        for sio in sockets:
            await sio.disconnect()
    return results


def test_odd_messages_from_the_lobby(fuzz: Fuzz) -> None:
    results = fuzz.run(lobby_sweep(fuzz))
    for what, outcome, ack in results:
        fuzz.cases += 1
        fuzz.check_ack(what.split(" with ")[0], what, outcome, ack)
    last = results[-1]
    if not (isinstance(last[2], dict) and last[2].get("ok") is True):
        fuzz.violation("the admitted guest cannot act", repr(last)[:300])
    fuzz.check_server("odd messages from the lobby")
    fuzz.finish()
