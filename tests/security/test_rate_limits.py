"""Socket.IO rate limits (issue 13, points 4 and 5; docs/protocol.md, *Rate limits*).

Budgets are kept per socket and per client address, so leaving and joining
again, or opening a fresh socket, does not refill them; every action that
reaches the room is limited and works again after ``retry_after``; wrong
passcodes are limited per socket, address and room without an oracle for the
right one; a publish offer has at most 8 m-sections.

All test clients connect from 127.0.0.1. The server here trusts 127.0.0.1 as a
proxy, so a client that sends ``X-Forwarded-For`` counts as that address (no
packet goes anywhere: the addresses are only header values). Budgets are read
from the table in signaling/action_limits.py, times the ``scale`` of the test;
bounds on counts allow for the refill during the test (``burst + rate *
elapsed``) and assert nothing about speed.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis_server import redis_url_for
from server_keys import ADMIN_KEY
from signaling_client import SignalingClient, barrier

from conf_server import Settings
from signaling.action_limits import ACTION_CLASSES, LIMITS, PASSCODE_LIMITS
from signaling.protocol import MAX_PUBLISH_SECTIONS, VALIDATORS
from signaling.rate_limit import Limit

MakeMember = Callable[..., Awaitable[SignalingClient]]
PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
ROOM = "limits"
JOIN = {"protocol": 1, "receive": False}


@pytest.fixture
def scale() -> float:
    """``rate_limit_scale`` of the test's server; a test parametrizes it."""
    return 1.0


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    """Where the server keeps meetings: "memory" unless a test asks for "redis"."""
    return str(getattr(request, "param", "memory"))


@pytest.fixture
def redis_url(store: str, tmp_path: Path) -> Iterator[str | None]:
    with redis_url_for(store, tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, scale: float, redis_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        redis_url=redis_url,
        ice_addresses=("127.0.0.1",),
        reconnect_grace_seconds=2.0,
        admin_api_key=ADMIN_KEY,
        trusted_proxies=("127.0.0.1",),
        rate_limit_scale=scale,
    )


@pytest.fixture
async def make_at(server: Any) -> AsyncIterator[Callable[..., Awaitable[SignalingClient]]]:
    """Like ``make_member``, with the client address the server sees."""
    clients: list[SignalingClient] = []

    async def factory(
        name: str, address: str | None = None, room: str | None = None, **join: Any
    ) -> SignalingClient:
        client = SignalingClient(server.url, name)
        clients.append(client)
        headers = {"X-Forwarded-For": address} if address else {}
        await client.sio.connect(
            server.url, headers=headers, transports=["websocket"], wait_timeout=5
        )
        if room is not None:
            await client.join(room, **join)
        return client

    yield factory
    for client in clients:
        await client.close()


def budget(limit: Limit, scale: float, elapsed: float) -> float:
    """The most a bucket can let through in ``elapsed`` seconds (plus one for
    the refill between the clock reads)."""
    return max(1.0, limit.burst * scale) + limit.rate * scale * elapsed + 1


async def send_until_limited(
    client: SignalingClient, messages: Callable[[int], tuple[str, dict[str, Any]]], most: int
) -> tuple[int, dict[str, Any], float]:
    """Send ``messages(i)`` one after another until one is refused with
    ``rate_limited``; returns how many were not, that error, and the time taken."""
    started = time.monotonic()
    for i in range(most):
        event, payload = messages(i)
        ack = await client.sio.call(event, payload, timeout=15)
        if not ack["ok"] and ack["error"]["code"] == "rate_limited":
            return i, ack["error"], time.monotonic() - started
    raise AssertionError(f"{most} messages and never rate_limited")


def assert_retry_after(error: dict[str, Any]) -> float:
    assert error["code"] == "rate_limited" and error["message"]
    retry_after = error["retry_after"]
    assert isinstance(retry_after, float) and retry_after > 0
    return retry_after


# -- one table, in the code and in docs/protocol.md ---------------------------------------


def test_every_message_of_the_protocol_has_a_budget_class() -> None:
    assert set(ACTION_CLASSES) == set(VALIDATORS)
    assert set(ACTION_CLASSES.values()) | {"any"} == set(LIMITS)


def test_the_documented_table_is_the_table_the_server_applies() -> None:
    section = PROTOCOL_MD.read_text().split("\n## Rate limits\n", 1)[1].split("\n## ", 1)[0]
    documented: dict[str, tuple[set[str], str, str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            name = cells[0].strip("`")
            events = set(re.findall(r"`([a-z_]+)`", cells[1]))
            documented[name] = (events, cells[2], cells[3])

    def pair(limit: Limit) -> str:
        return f"{limit.burst:g}, {limit.rate:g}"

    expected = {
        name: (
            {event for event, of in ACTION_CLASSES.items() if of == name},
            pair(limit.socket),
            pair(limit.address),
        )
        for name, limit in LIMITS.items()
    }
    assert documented == expected
    passcodes = {
        scope: f"| per {label} | {limit.burst:g} | one per {1 / limit.rate:g} s |"
        for (scope, limit), label in zip(
            PASSCODE_LIMITS.items(), ("socket", "client address", "room"), strict=True
        )
    }
    for scope, row in passcodes.items():
        assert row in section, scope


# -- budgets survive rejoining -----------------------------------------------------------


def sender_of(data: dict[str, Any]) -> str:
    """Who sent a ``chat_message`` or a ``reaction``."""
    return str(data["message"]["sender_id"] if "message" in data else data["participant_id"])


@pytest.mark.parametrize(
    ("event", "payload", "broadcast"),
    [
        ("chat_send", {"text": "spam"}, "chat_message"),
        ("react", {"emoji": "\U0001f44d"}, "reaction"),
    ],
)
async def test_leaving_and_rejoining_on_one_socket_does_not_refill_the_budget(
    make_member: MakeMember, event: str, payload: dict[str, Any], broadcast: str
) -> None:
    # The reported attack: 1,055 chat messages in 10 s from one socket that
    # left and joined again whenever the (per-participant) limit struck.
    watcher = await make_member("Watcher", room=ROOM)
    spammer = await make_member("Spammer", room=ROOM)
    limit = LIMITS[ACTION_CLASSES[event]].socket
    codes: set[str] = set()
    started = time.monotonic()
    for _ in range(30):
        for _ in range(int(limit.burst) + 5):
            ack = await spammer.sio.call(event, payload, timeout=15)
            if not ack["ok"]:
                codes.add(ack["error"]["code"])
                break
        await spammer.sio.call("leave", {}, timeout=15)
        await spammer.sio.call("join", {**JOIN, "room": ROOM, "name": "Spammer"}, timeout=15)
    elapsed = time.monotonic() - started
    await barrier(watcher)
    received = [data for data in watcher.of(broadcast) if sender_of(data) != watcher.participant_id]
    assert "rate_limited" in codes
    assert len(received) <= budget(limit, 1.0, elapsed), (len(received), elapsed)


@pytest.mark.parametrize("scale", [0.1])
async def test_fresh_sockets_from_one_address_share_its_chat_budget(
    make_at: Callable[..., Awaitable[SignalingClient]], scale: float
) -> None:
    # The same attack with a new connection each time: the address's budget holds.
    watcher = await make_at("Watcher", address="192.0.2.1", room=ROOM)
    limit = LIMITS["chat"].address
    refused: set[str] = set()
    started = time.monotonic()
    for index in range(80):
        spammer = await make_at(f"Spammer {index}", address="203.0.113.9")
        ack = await spammer.sio.call("join", {**JOIN, "room": ROOM, "name": "Spam"}, timeout=15)
        for _ in range(5):
            ack = await spammer.sio.call("chat_send", {"text": "spam"}, timeout=15)
            if not ack["ok"]:
                refused.add(ack["error"]["code"])
                break
        await spammer.close()
    elapsed = time.monotonic() - started
    await barrier(watcher)
    received = [d for d in watcher.of("chat_message") if d["message"]["sender_name"] == "Spam"]
    assert "rate_limited" in refused
    assert len(received) <= budget(limit, scale, elapsed), (len(received), elapsed)


# -- every action is limited, and works again after retry_after ---------------------------


def alternating(event_a: str, event_b: str) -> Callable[[int], tuple[str, dict[str, Any]]]:
    return lambda i: (event_a if i % 2 == 0 else event_b, {})


ACTIONS: dict[str, Callable[[int], tuple[str, dict[str, Any]]]] = {
    "mute": lambda i: ("mute", {"source": "microphone", "muted": i % 2 == 0}),
    "hands": alternating("raise_hand", "lower_hand"),
    "vote": lambda i: ("poll_vote", {"poll_id": "POLL", "option_ids": [f"o{1 + i % 2}"]}),
    "set_view": lambda i: ("set_view", {"video": []}),
    "react": lambda i: ("react", {"emoji": "\U0001f44f"}),
    "chat": lambda i: ("chat_send", {"text": f"message {i}"}),
    # Any payload counts: these are refused by validation until the limit.
    "publish": lambda i: ("publish", {}),
    "join_leave": lambda i: ("leave", {}) if i % 2 == 0 else ("join", {**JOIN, "room": ROOM}),
    "host": lambda i: ("spotlight", {}),
    "polls": lambda i: ("poll_create", {"question": f"Q{i}?", "options": ["a", "b"]}),
    "unknown_events": lambda i: ("no_such_event", {}),
    "invalid_payloads": lambda i: ("raise_hand", {"bogus": i}),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_each_action_is_limited_and_works_again_after_retry_after(
    make_member: MakeMember, action: str
) -> None:
    host = await make_member("Hana", room=ROOM)
    poll_id = None
    if action == "vote":
        poll = await host.call("poll_create", {"question": "Lunch?", "options": ["A", "B"]})
        poll_id = poll["poll"]["poll_id"]
        await host.call("poll_launch", {"poll_id": poll_id})
    sender = host if action in ("host", "polls") else await make_member("Ada", room=ROOM)

    def message(i: int) -> tuple[str, dict[str, Any]]:
        event, payload = ACTIONS[action](i)
        if "poll_id" in payload:
            payload = {**payload, "poll_id": poll_id}
        if event == "join":
            payload = {**payload, "name": sender.name}
        return event, payload

    sent, error, elapsed = await send_until_limited(sender, message, most=2000)
    event = message(sent)[0]
    # The table's budget holds (chat and reactions have a stricter per-person
    # limit in the meeting itself: it may strike first).
    name = ACTION_CLASSES.get(event, "any")
    assert sent <= budget(LIMITS[name].socket, 1.0, elapsed)
    retry_after = assert_retry_after(error)
    await asyncio.sleep(retry_after + 0.05)
    ack = await sender.sio.call(*message(sent), timeout=15)
    assert ack["ok"] or ack["error"]["code"] != "rate_limited", ack


async def test_one_busy_socket_does_not_lock_out_others_behind_the_same_address(
    make_member: MakeMember,
) -> None:
    ada = await make_member("Ada", room=ROOM)
    await send_until_limited(ada, ACTIONS["chat"], most=100)
    await send_until_limited(ada, ACTIONS["hands"], most=200)
    # An office behind one NAT address: everyone else still talks.
    others = [await make_member(f"Colleague {n}", room=ROOM) for n in range(20)]
    for colleague in others:
        for n in range(3):
            await colleague.call("chat_send", {"text": f"hello {n}"})
        await colleague.call("raise_hand")
        await colleague.call("mute", {"source": "microphone", "muted": True})


# -- publish: m-sections per offer ------------------------------------------------------------


def offer_with_sections(count: int) -> str:
    head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    section = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:{}\r\n"
    return head + "".join(section.format(i) for i in range(count))


async def test_a_publish_offer_with_too_many_m_sections_is_refused(make_member: MakeMember) -> None:
    ada = await make_member("Ada", room=ROOM)
    too_many = offer_with_sections(MAX_PUBLISH_SECTIONS + 1)
    error = await ada.error_of("publish", {"sdp": too_many, "sources": {}})
    assert error["code"] == "invalid_payload" and "m-sections" in error["message"]
    # At the cap the offer gets past validation (this one is no real offer).
    error = await ada.error_of(
        "publish", {"sdp": offer_with_sections(MAX_PUBLISH_SECTIONS), "sources": {}}
    )
    assert "m-sections" not in error["message"]


# -- passcode brute force ---------------------------------------------------------------------

PASSCODE = "4711"
#: Every passcode budget twice the default: a refill still takes 2.5 s or more,
#: the margin a probe sent right after a refusal has on a slow machine.
SCALE = 2.0


async def room_with_passcode(make_at: Callable[..., Awaitable[SignalingClient]], room: str) -> Any:
    host = await make_at("Hana", address="192.0.2.1", room=room)
    await host.call("configure_meeting", {"passcode": PASSCODE})
    return host


def join_with(room: str, passcode: str) -> dict[str, Any]:
    return {**JOIN, "room": room, "name": "Mallory", "passcode": passcode}


async def guess_until_limited(
    client: SignalingClient, room: str, most: int = 1000
) -> tuple[int, dict[str, Any]]:
    """Wrong passcodes until ``rate_limited``; returns how many were evaluated."""
    for tried in range(most):
        error = await client.error_of("join", join_with(room, f"{tried:04d}x"))
        if error["code"] == "rate_limited":
            return tried, error
        assert error["code"] == "wrong_passcode", error
    raise AssertionError(f"{most} wrong passcodes and never rate_limited")


async def right_passcode_just_after_a_guess(
    guesser: SignalingClient, probe: SignalingClient, room: str, refusal: dict[str, Any]
) -> dict[str, Any]:
    """Wait out ``refusal``, spend the token that came back with one more wrong
    guess, and send the right passcode from ``probe`` at once. The bucket
    is empty for a whole refill period now (a refusal alone may come just
    before the refill), so the answer shows what happens over the limit."""
    await asyncio.sleep(refusal["retry_after"] + 0.05)
    wrong = await guesser.error_of("join", join_with(room, "9999x"))
    assert wrong["code"] == "wrong_passcode"
    return await probe.error_of("join", join_with(room, PASSCODE))


@pytest.mark.parametrize("scale", [SCALE])
async def test_wrong_passcodes_are_limited_per_socket_and_per_address(
    make_at: Callable[..., Awaitable[SignalingClient]],
) -> None:
    await room_with_passcode(make_at, "vault")
    socket_burst = PASSCODE_LIMITS["socket"].burst * SCALE
    started = time.monotonic()
    first = await make_at("Mallory 1", address="203.0.113.5")
    tried, error = await guess_until_limited(first, "vault")
    elapsed = time.monotonic() - started
    assert socket_burst <= tried <= budget(PASSCODE_LIMITS["socket"], SCALE, elapsed)
    assert_retry_after(error)

    # New sockets from the same address go on only until the address's budget
    # is spent: then a fresh socket there is refused at its first try.
    total = tried
    for n in range(2, 10):
        mallory = await make_at(f"Mallory {n}", address="203.0.113.5")
        more, error = await guess_until_limited(mallory, "vault")
        total += more
        if more == 0:
            break
    else:
        raise AssertionError("the address's budget never ran out")
    elapsed = time.monotonic() - started
    assert total <= budget(PASSCODE_LIMITS["address"], SCALE, elapsed)

    # Over the limit even the right passcode is not looked at: no oracle.
    refused = await right_passcode_just_after_a_guess(mallory, mallory, "vault", error)
    retry_after = assert_retry_after(refused)

    # Another address is not affected, in this room or another.
    await room_with_passcode(make_at, "other")
    for room in ("vault", "other"):
        bob = await make_at("Bob", address="198.51.100.20")
        assert (await bob.error_of("join", join_with(room, "1")))["code"] == "wrong_passcode"
        await bob.join(room, passcode=PASSCODE)

    # After the wait the right passcode works from the limited address.
    await asyncio.sleep(retry_after + 0.05)
    assert (await mallory.join("vault", passcode=PASSCODE))["participant_id"]


@pytest.mark.parametrize("scale", [SCALE])
async def test_the_room_budget_caps_many_addresses_yet_lets_host_keys_in(
    make_at: Callable[..., Awaitable[SignalingClient]],
) -> None:
    host = await room_with_passcode(make_at, "vault")
    await room_with_passcode(make_at, "other")
    # Guesses from address after address, a few sockets each, until a fresh
    # address is refused at its first try: the room's budget is spent.
    evaluated = 0
    started = time.monotonic()
    for index in range(1, 30):
        address = f"198.51.100.{index}"
        for n in range(4):
            guesser = await make_at(f"Guesser {index}.{n}", address=address)
            tried, refusal = await guess_until_limited(guesser, "vault")
            evaluated += tried
            if tried == 0:
                break  # this address is spent
        if n == 0 and tried == 0:
            break  # a fresh address is refused: the room is spent
    else:
        raise AssertionError("the room's budget never ran out")
    elapsed = time.monotonic() - started
    assert evaluated <= budget(PASSCODE_LIMITS["room"], SCALE, elapsed)

    # A newcomer with the right passcode must wait too (no oracle) ...
    newcomer = await make_at("Newcomer", address="192.0.2.77")
    fresh = await make_at("Guesser", address="192.0.2.76")
    refused = await right_passcode_just_after_a_guess(fresh, newcomer, "vault", refusal)
    retry_after = assert_retry_after(refused)
    # ... but a host link needs no passcode, so it is not locked out,
    cohost = await make_at("Otto", address="192.0.2.78")
    ack = await cohost.join("vault", host_key=host.meeting["host_key"], passcode="whatever")
    assert ack["meeting"]["role"] == "host"
    # another room is not affected,
    elsewhere = await make_at("Eve", address="192.0.2.79")
    assert (await elsewhere.error_of("join", join_with("other", "1")))["code"] == "wrong_passcode"
    # and after the wait the right passcode works.
    await asyncio.sleep(retry_after + 0.05)
    assert (await newcomer.join("vault", passcode=PASSCODE))["participant_id"]


@pytest.mark.parametrize("store", ["memory", "redis"], indirect=True)
async def test_concurrent_guesses_cannot_overrun_the_budget(
    make_at: Callable[..., Awaitable[SignalingClient]], store: str
) -> None:
    # With Redis a join waits for the store, so these guesses are all under
    # way at once: the ones in flight count against the budget too.
    await room_with_passcode(make_at, "vault")
    sockets = [await make_at(f"Mallory {n}", address="203.0.113.5") for n in range(40)]
    started = time.monotonic()
    errors = await asyncio.gather(
        *(
            client.error_of("join", {**JOIN, "room": "vault", "name": "M", "passcode": f"{n}"})
            for n, client in enumerate(sockets)
        )
    )
    elapsed = time.monotonic() - started
    codes = [error["code"] for error in errors]
    assert set(codes) == {"wrong_passcode", "rate_limited"}
    assert codes.count("wrong_passcode") <= budget(PASSCODE_LIMITS["address"], 1.0, elapsed)
