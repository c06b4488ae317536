"""The REST surface under abuse (issue 13): who may create meetings and how
many (points 2 and 6), and malformed requests (point 10), against a real
server on a loopback port."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis_server import RedisServer
from running_server import RunningServer, running
from server_keys import ADMIN_KEY
from signaling_client import SignalingClient

from conf_server.cluster.redis_store import RedisStore
from conf_server.cluster.store import MemoryStore
from conf_server.domain.meeting_state import MeetingState
from conf_server.meeting.meeting_creation import create_meeting
from sfu.errors import NegotiationError
from sfu.ice import add_remote_candidate

JSON = {"Content-Type": "application/json"}
RANDOM_ROOM = re.compile(r"[a-z]{3}-[a-z]{4}-[a-z]{3}")


async def request(
    server: RunningServer,
    method: str,
    path: str,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    untyped: bool = False,
    **kwargs: Any,
) -> tuple[int, Any, Any]:
    """``(status, JSON body or text, response headers)``; ``untyped``: send no
    Content-Type at all (aiohttp would add application/octet-stream)."""
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    skip = ("Content-Type",) if untyped else ()
    async with (
        aiohttp.ClientSession(headers=sent, skip_auto_headers=skip) as http,
        http.request(method, f"{server.url}{path}", **kwargs) as response,
    ):
        body = (
            await response.json()
            if response.content_type == "application/json"
            else await response.text()
        )
        return response.status, body, response.headers


async def create(server: RunningServer, body: Any = None, **kwargs: Any) -> tuple[int, Any, Any]:
    return await request(server, "POST", "/api/v1/meetings", json=body or {}, **kwargs)


# -- point 2: who may create which meeting -----------------------------------------------


async def test_without_a_key_a_meeting_gets_a_random_room_name_only(server):
    status, created, _ = await create(server, {"title": "Quick sync"})
    assert status == 201 and RANDOM_ROOM.fullmatch(created["room"])
    status, error, _ = await create(server, {"room": "standup"})
    assert status == 401 and error["error"]["code"] == "unauthorized"
    assert "API key" in error["error"]["message"]
    assert await server.service.store.get("standup") is None
    polls = [{"question": "Q?", "options": ["a", "b"]}]
    status, error, _ = await create(server, {"polls": polls})
    assert status == 401 and error["error"]["code"] == "unauthorized"


async def test_with_a_key_a_meeting_may_have_a_chosen_room_name(server):
    status, key, _ = await request(
        server,
        "POST",
        "/api/v1/admin/keys",
        ADMIN_KEY,
        json={"name": "chat", "scope": "integration"},
    )
    assert status == 201
    status, created, _ = await create(server, {"room": "standup"}, key=key["key"])
    assert status == 201 and created["room"] == "standup"
    status, error, _ = await create(server, {"room": "other"}, key="not-a-key")
    assert status == 401 and error["error"]["code"] == "unauthorized"


async def test_meetings_made_without_a_key_expire_soon_with_a_key_after_a_week(server):
    store = server.service.store
    assert isinstance(store, MemoryStore)
    _, anonymous, _ = await create(server)
    _, keyed, _ = await create(server, {"room": "planned"}, key=ADMIN_KEY)
    left = {room: deadline - time.monotonic() for room, deadline in store._deadlines.items()}
    assert 3000 < left[anonymous["room"]] <= 3600  # anonymous_meeting_ttl_seconds
    assert left[keyed["room"]] > 6 * 24 * 3600


@pytest.mark.parametrize(
    "headers, data",
    [
        ({"Content-Type": "text/plain"}, b'{"title": "csrf"}'),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"title=csrf"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
        (None, b'{"title": "csrf"}'),  # a Blob body: no Content-Type at all
        (None, b""),
    ],
    ids=["text-plain", "form", "multipart", "no-type", "empty-no-type"],
)
async def test_bodies_a_cross_site_form_can_send_are_refused(server, headers, data):
    """Each of these a page of another site can send without a CORS preflight."""
    status, error, _ = await request(
        server, "POST", "/api/v1/meetings", headers=headers, untyped=headers is None, data=data
    )
    assert status == 415 and error["error"]["code"] == "unsupported_media_type"
    assert await server.service.store.rooms() == []


async def test_anonymous_creation_is_rate_limited_per_client_address(settings):
    async with running(
        settings, anonymous_meetings_per_hour=3, trusted_proxies=("127.0.0.1",)
    ) as server:
        for _ in range(3):
            assert (await create(server))[0] == 201
        status, error, headers = await create(server)
        assert status == 429 and error["error"]["code"] == "rate_limited"
        assert error["error"]["retry_after"] > 0 and int(headers["Retry-After"]) >= 1
        # Another client behind the trusted proxy has its own budget.
        other = {"X-Forwarded-For": "203.0.113.7"}
        assert (await create(server, headers=other))[0] == 201
        # ...but an IPv6 client cannot escape by changing the host part of its /64.
        for host in range(3):
            forwarded = {"X-Forwarded-For": f"2001:db8:1:2::{host + 1}"}
            assert (await create(server, headers=forwarded))[0] == 201
        status, _, _ = await create(server, headers={"X-Forwarded-For": "2001:db8:1:2::99"})
        assert status == 429
        # Keyed callers are not counted.
        assert (await create(server, key=ADMIN_KEY))[0] == 201


async def test_a_forwarded_for_header_from_an_untrusted_peer_changes_nothing(settings):
    async with running(settings, anonymous_meetings_per_hour=1) as server:
        assert (await create(server))[0] == 201
        spoofed = {"X-Forwarded-For": "198.51.100.1"}
        assert (await create(server, headers=spoofed))[0] == 429


async def test_a_deployment_may_allow_creation_with_a_key_only(settings):
    async with running(settings, anonymous_meetings_per_hour=0) as server:
        status, error, _ = await create(server)
        assert status == 401 and error["error"]["code"] == "unauthorized"
        assert (await create(server, key=ADMIN_KEY))[0] == 201


async def escalate(server: RunningServer, chat_id: str) -> dict[str, Any]:
    body = {
        "chat_id": chat_id,
        "title": "Outage",
        "initiator": {"user_id": "u-ada", "name": "Ada"},
        "participants": [{"user_id": "u-bob", "name": "Bob"}],
    }
    status, answer, _ = await request(server, "POST", "/api/v1/escalations", ADMIN_KEY, json=body)
    assert status in (200, 201), answer
    return answer  # type: ignore[no-any-return]


async def test_an_escalation_never_adopts_a_meeting_it_did_not_create(server, make_member):
    first = await escalate(server, "team-7")
    # Not the old public derivation: nobody can compute it from the chat id.
    sha_room = "chat-" + hashlib.sha256(b"team-7").hexdigest()[:24]
    assert first["room"] != sha_room
    # That meeting is over and forgotten; someone who knew its room (an old
    # invitee) opens it as an ad-hoc room and is its host.
    await server.service.store.delete(first["room"])
    squatter = await make_member("Mallory", room=first["room"])
    assert squatter.meeting["role"] == "host"
    second = await escalate(server, "team-7")
    assert second["created"] is True and second["room"] != first["room"]
    state = await server.service.store.get(second["room"])
    assert state is not None and state.access.invite_only and not state.present_ids()
    # Idempotent as before: the chat's live meeting again.
    again = await escalate(server, "team-7")
    assert again["created"] is False and again["room"] == second["room"]
    # A meeting pre-created under a chat's room name is not adopted either.
    third_room = await _next_chat_room(server, "team-8")
    await server.service.store.create(MeetingState(third_room, title="squat"))
    taken = await escalate(server, "team-8")
    assert taken["created"] is True and taken["room"] != third_room


async def _next_chat_room(server: RunningServer, chat_id: str) -> str:
    from conf_server.http.escalations_api import room_for_chat
    from conf_server.http.keys import INVITES

    return room_for_chat(server.server.app[INVITES], chat_id)


# -- point 6: bounded memory ---------------------------------------------------------------


async def test_anonymous_creation_stops_at_the_meeting_cap(settings):
    async with running(settings, max_meetings=5) as server:
        for _ in range(5):
            assert (await create(server))[0] == 201
        status, error, headers = await create(server)
        assert status == 503 and error["error"]["code"] == "too_many_meetings"
        assert int(headers["Retry-After"]) >= 1
        assert await server.service.store.count() == 5
        # Keyed callers (the chat app) are not refused by the cap.
        assert (await create(server, {"room": "planned"}, key=ADMIN_KEY))[0] == 201


async def test_expired_meetings_leave_memory_without_being_read(settings):
    async with running(settings, anonymous_meeting_ttl_seconds=0.3) as server:
        store = server.service.store
        assert isinstance(store, MemoryStore)
        for _ in range(5):
            assert (await create(server))[0] == 201
        assert store.held() == 5
        # Nothing reads the store from here on: only its own sweeping can free them.
        for _ in range(400):  # 20 s at most, however busy the machine
            if not store.held():
                break
            await asyncio.sleep(0.05)
        assert store.held() == 0 and not store._room_of and not store._logs


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


async def test_memory_stays_bounded_when_creation_is_flooded(settings):
    """20,000 anonymous creations against a cap of 1,000: the store holds
    1,000 (about 1.5 MB); uncapped, the 20,000 take some 30 MB."""
    async with running(settings, max_meetings=1_000) as server:
        service = server.service
        before = _rss_bytes()
        refused = 0
        for _ in range(20_000):
            try:
                await create_meeting(service, title="flood " + "x" * 150, anonymous=True)
            except Exception as exc:
                assert getattr(exc, "code", None) == "too_many_meetings"
                refused += 1
        assert await service.store.count() == 1_000 and refused == 19_000
        assert _rss_bytes() - before < 16 * 1024 * 1024


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


async def test_the_redis_store_counts_meetings_without_scanning(redis):
    store = RedisStore.from_url(redis.url, prefix=f"t{secrets.token_hex(4)}:")
    try:
        for room in ("a", "b", "c"):
            await store.create(MeetingState(room))
        await store.expire("a", 0.2)
        await store.expire("b", 60)
        await store.expire("b", None)  # opened: kept
        assert await store.count() == 3
        await asyncio.sleep(0.5)
        assert await store.count() == 2  # "a" expired by itself, nobody read it
        await store.delete("c")
        assert await store.count() == 1
    finally:
        await store.close()


# -- point 10: malformed requests get 4xx with the JSON error body -----------------------


def _nested(depth: int) -> bytes:
    return b'{"title": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    "data, code",
    [
        (b'{"title": "caf\xe9"}', "invalid_json"),  # Latin-1, not UTF-8
        (b'{"title": "\\ud800"}', "invalid_json"),  # a lone surrogate
        (b'{"lobby_enabled": ' + b"9" * 5_000 + b"}", "invalid_json"),  # over 4,300 digits
        (b'{"lobby_enabled": NaN}', "invalid_json"),
        (_nested(30_000), "invalid_json"),  # deeper than the parser's stack
        (_nested(40), "invalid_json"),
    ],
    ids=["latin1", "surrogate", "5000-digits", "nan", "nested-30000", "nested-40"],
)
async def test_malformed_json_bodies_get_400(server, data, code):
    status, error, _ = await request(server, "POST", "/api/v1/meetings", headers=JSON, data=data)
    assert status == 400 and error["error"]["code"] == code


async def test_a_chunked_body_over_64_kib_gets_413(server):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    status, error, _ = await request(
        server, "POST", "/api/v1/meetings", key=ADMIN_KEY, headers=JSON, data=chunks()
    )
    assert status == 413 and error["error"]["code"] == "payload_too_large"
    assert await server.service.store.rooms() == []


@pytest.mark.parametrize(
    "poll",
    [
        {"question": "Lunch?"},
        {"question": "Lunch?", "options": "pizza"},
        {"question": "Lunch?", "options": ["a", "b"], "kind": "poll"},
        {"question": "Lunch?", "options": ["a", "b"], "correct_option_ids": "o1"},
        {"question": ["Lunch?"], "options": ["a", "b"]},
    ],
    ids=["no-options", "options-text", "bad-kind", "bad-correct", "question-list"],
)
async def test_a_malformed_draft_poll_gets_400(server, poll):
    status, error, _ = await create(server, {"polls": [poll]}, key=ADMIN_KEY)
    assert status == 400 and error["error"]["code"] == "invalid_request"
    assert "polls[0]" in error["error"]["message"]


@pytest.mark.parametrize("limit", ["²", "٣", "9" * 5_000, "0", "-1"])
async def test_a_strange_limit_gets_400(server, limit):
    status, hook, _ = await request(
        server,
        "POST",
        "/api/v1/admin/webhooks",
        ADMIN_KEY,
        json={"url": "https://hooks.example.org/conf"},
    )
    assert status == 201
    path = f"/api/v1/admin/webhooks/{hook['id']}/deliveries"
    status, error, _ = await request(server, "GET", path, ADMIN_KEY, params={"limit": limit})
    assert status == 400 and "limit" in error["error"]["message"]


@pytest.mark.parametrize(
    "token",
    ["9" * 5_000 + "." + "a" * 64, "²." + "a" * 64, "1." + "A" * 64, "", ".", "1.2.3"],
    ids=["5000-digits", "superscript", "upper-hex", "empty", "dot", "dots"],
)
async def test_a_malformed_download_token_gets_401(server, token):
    status, error, _ = await request(
        server,
        "GET",
        "/api/v1/recordings/r1/files/composite.mp4",
        params={"download_token": token},
    )
    assert status == 401 and error["error"]["code"] == "unauthorized"


#: Lines aiortc cannot parse: each raised out of it (a 500 before).
UNPARSABLE_CANDIDATES = [
    "candidate:1 1 udp",  # aiortc: AssertionError (fewer than 8 fields)
    "candidate:1 x udp 1 1.2.3.4 9 typ host",  # int("x")
    "candidate:1 1 udp 1 1.2.3.4 " + "9" * 5_000 + " typ host",  # int() of 5,000 digits
]
#: Refused by the signaling edge, before aiortc sees them.
MALFORMED_CANDIDATES = [
    *UNPARSABLE_CANDIDATES[:2],
    "candidate:1 1 udp 1 1.2.3.4 9 host typ",
    "candidate:1 1 udp 1 1.2.3.4 9 typ host\nraddr",
]


@pytest.mark.parametrize("candidate", UNPARSABLE_CANDIDATES, ids=["short", "letter", "digits"])
async def test_the_sfu_answers_a_malformed_candidate_with_invalid_candidate(candidate):
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    receiver = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        sender.addTransceiver("audio", direction="sendonly")
        offer = await sender.createOffer()  # no local description: nothing is gathered
        await receiver.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
        with pytest.raises(NegotiationError) as refused:
            await add_remote_candidate(receiver, candidate, "0", 0)
        assert refused.value.code == "invalid_candidate"
    finally:
        await sender.close()
        await receiver.close()


async def test_malformed_candidates_after_publish_get_invalid_candidate(server):
    from aiortc import RTCConfiguration, RTCPeerConnection

    client = SignalingClient(server.url, "Ada")
    await client.connect()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        await client.join("ice-room")
        pc.addTransceiver("audio", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        # Without our candidates the server never sends a connectivity check.
        sdp = "\r\n".join(
            line for line in pc.localDescription.sdp.split("\r\n") if "candidate" not in line
        )
        mid = pc.getTransceivers()[0].mid
        await client.call("publish", {"sdp": sdp, "sources": {mid: "microphone"}})
        for candidate in MALFORMED_CANDIDATES:
            payload = {"candidate": candidate, "sdp_mid": mid, "sdp_mline_index": 0}
            error = await client.error_of("publisher_ice", payload)
            assert error["code"] == "invalid_candidate", (candidate, error)
        good = f"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host generation 0 ufrag {mid}x"
        assert (await client.call("publisher_ice", {"candidate": good, "sdp_mid": mid}))["ok"]
    finally:
        await pc.close()
        await client.close()


async def test_socket_io_payloads_with_huge_numbers_or_deep_nesting_are_refused(make_member):
    member = await make_member("Ada", room="deep")
    nested: Any = "x"
    for _ in range(40):
        nested = [nested]
    error = await member.error_of("chat_send", {"text": nested})
    assert error["code"] == "invalid_payload"
    error = await member.error_of("subscriber_answer", {"revision": 10**30, "sdp": "v=0"})
    assert error["code"] == "invalid_payload"
    error = await member.error_of("poll_vote", {"poll_id": "p1", "option_ids": [2**60]})
    assert error["code"] == "invalid_payload"


def test_json_values_refuse_what_python_json_lets_through():
    from signaling.json_values import JsonProblem, loads

    for text in ['"\\udc00"', "1" * 17, "NaN", "-Infinity", "[" * 50 + "]" * 50]:
        with pytest.raises(JsonProblem):
            loads(text)
    assert loads(json.dumps({"ok": [1, 2.5, "é", None, True]})) == {"ok": [1, 2.5, "é", None, True]}
