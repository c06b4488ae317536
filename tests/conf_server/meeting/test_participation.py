"""Participation points over real Socket.IO (docs/protocol.md, "Participation
points"): a host turns them on, people vote, answer a quiz, are called on and
chat; the leaderboard shows what the scoring says, to whom the host chose; the
report and its CSV carry the points. With the memory store and with a real
redis-server (the state goes through Redis as JSON on every change).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis_server import redis_url_for
from server_keys import ADMIN_KEY

from conf_server import Settings
from conf_server.domain.participation_scores import scores

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ROOM = "points"
WEIGHTS = {"attendance": 1, "votes": 2, "quiz": 5, "called_on": 3, "chat": 1, "chat_per_minute": 1}


@pytest.fixture(params=["memory", "redis"])
def redis_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    with redis_url_for(str(request.param), tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, redis_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        redis_url=redis_url,
        ice_addresses=("127.0.0.1",),
        reconnect_grace_seconds=2.0,
        admin_api_key=ADMIN_KEY,
    )


async def poll(host: Any, **spec: Any) -> str:
    created = await host.call("poll_create", spec)
    poll_id: str = created["poll"]["poll_id"]
    await host.call("poll_launch", {"poll_id": poll_id})
    return poll_id


def row_of(board: dict[str, Any], name: str) -> dict[str, Any]:
    return next(row for row in board["top"] if row["name"] == name)


def counts(row: dict[str, Any]) -> dict[str, int]:
    return {category: item["count"] for category, item in row["breakdown"].items()}


async def get(server: Any, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession(headers=ADMIN) as http, http.get(server.url + path) as r:
        return r.status, await r.text()


async def test_a_host_turns_points_on_and_the_leaderboard_follows_what_people_did(
    server, make_member
):
    host = await make_member("Hana", room=ROOM)
    ada = await make_member("Ada", room=ROOM, client_id="ada-browser")
    bob = await make_member("Bob", room=ROOM, client_id="bob-browser")
    assert host.meeting["participation"]["enabled"] is False

    # Only hosts and co-hosts may turn points on; bad settings are refused.
    assert (await ada.error_of("set_participation", {"enabled": True}))["code"] == "forbidden"
    bad = await host.error_of("set_participation", {"enabled": True, "visibility": "all"})
    assert bad["code"] == "invalid_payload"
    bad = await host.error_of("set_participation", {"enabled": True, "weights": {"votes": 500}})
    assert bad["code"] == "invalid_participation"
    bad = await host.error_of("set_participation", {"enabled": True, "weights": {"bonus": 1}})
    assert bad["code"] == "invalid_participation"
    assert (await ada.error_of("leaderboard"))["code"] == "participation_off"

    ack = await host.call(
        "set_participation", {"enabled": True, "visibility": "host", "weights": WEIGHTS}
    )
    assert ack["participation"] == {"enabled": True, "visibility": "host", "weights": WEIGHTS}
    for client in (host, ada, bob):
        update = await client.wait_event(
            "meeting_updated", lambda d: d.get("participation", {}).get("enabled") is True
        )
        assert update["participation"]["visibility"] == "host"

    named = await poll(host, question="Lunch?", options=["Pizza", "Soup"])
    secret = await poll(host, question="Happy?", options=["Yes", "No"], anonymous=True)
    quiz = await poll(
        host, question="2+2?", options=["4", "5"], kind="quiz", correct_option_ids=["o1"]
    )
    await ada.call("poll_vote", {"poll_id": named, "option_ids": ["o1"]})
    await ada.call("poll_vote", {"poll_id": secret, "option_ids": ["o1"]})
    await ada.call("poll_vote", {"poll_id": quiz, "option_ids": ["o1"]})
    await bob.call("poll_vote", {"poll_id": named, "option_ids": ["o2"]})
    await bob.call("poll_vote", {"poll_id": secret, "option_ids": ["o2"]})
    await bob.call("poll_vote", {"poll_id": quiz, "option_ids": ["o2"]})

    await ada.call("raise_hand")
    await bob.call("raise_hand")
    assert (await host.call("next_hand"))["participant_id"] == ada.participant_id
    assert (await host.call("next_hand"))["participant_id"] == bob.participant_id
    await ada.call("raise_hand")
    assert (await host.call("next_hand"))["participant_id"] == ada.participant_id

    for text in ("one", "two", "three", "four", "five"):
        await ada.call("chat_send", {"text": text})

    # Host-only: a participant is refused, the host sees the board.
    assert (await ada.error_of("leaderboard"))["code"] == "leaderboard_hidden"
    board = await host.call("leaderboard")
    assert board["visibility"] == "host" and board["people"] == 3
    a, b = row_of(board, "Ada"), row_of(board, "Bob")
    # The anonymous poll counts for nobody: two votes each (named + quiz).
    assert counts(a)["votes"] == 2 and counts(b)["votes"] == 2
    assert counts(a)["quiz"] == 1 and counts(b)["quiz"] == 0
    assert counts(a)["called_on"] == 2 and counts(b)["called_on"] == 1
    # Five messages, at most one a minute counted: one, or two across a minute's end.
    assert 1 <= counts(a)["chat"] <= 2 and counts(b)["chat"] == 0
    for row in (a, b):
        assert row["points"] == sum(
            count * WEIGHTS[category] for category, count in counts(row).items()
        )
    assert a["rank"] == 1 and board["top"][0]["name"] == "Ada"
    # The board is what the scoring function says of the stored state.
    state = await server.service.store.get(ROOM)
    expected = scores(state, server.service.clock())
    assert [(r["name"], r["points"]) for r in expected] == [
        (r["name"], r["points"]) for r in board["top"]
    ]

    # Everyone: a participant sees the top and their own rank (no user ids).
    await host.call("set_participation", {"enabled": True, "visibility": "everyone"})
    await bob.wait_event(
        "meeting_updated", lambda d: d.get("participation", {}).get("visibility") == "everyone"
    )
    mine = await bob.call("leaderboard")
    assert mine["me"]["name"] == "Bob" and mine["me"]["rank"] == row_of(mine, "Bob")["rank"]
    assert "user_id" not in mine["me"] and all("user_id" not in r for r in mine["top"])

    # Bob leaves and comes back in the same browser: still one person.
    await bob.call("leave")
    again = await make_member("Bob", room=ROOM, client_id="bob-browser")
    rejoined = await again.call("leaderboard")
    assert rejoined["people"] == 3
    assert counts(rejoined["me"])["called_on"] == 1 and counts(rejoined["me"])["votes"] == 2

    # Visibility off: not even a host sees the board.
    await host.call("set_participation", {"enabled": True, "visibility": "off"})
    assert (await host.error_of("leaderboard"))["code"] == "leaderboard_hidden"
    assert (await again.error_of("leaderboard"))["code"] == "leaderboard_hidden"

    # Points off: nobody sees a board; the report keeps the points.
    await host.call("set_participation", {"enabled": False})
    assert (await host.error_of("leaderboard"))["code"] == "participation_off"
    meeting_id = state.meeting_id
    status, text = await get(server, f"/api/v1/meetings/{meeting_id}/report")
    assert status == 200
    report = json.loads(text)
    people = {p["name"]: p for p in report["participation"]["people"]}
    assert set(people) == {"Hana", "Ada", "Bob"}
    assert counts(people["Ada"])["quiz"] == 1 and counts(people["Bob"])["called_on"] == 1
    status, text = await get(
        server, f"/api/v1/meetings/{meeting_id}/report?format=csv&table=participation"
    )
    assert status == 200
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"Hana", "Ada", "Bob"}
    assert rows["Ada"]["quiz_count"] == "1" and rows["Ada"]["quiz_points"] == "5"
    assert rows["Bob"]["called_on_points"] == "3"
    assert int(rows["Ada"]["points"]) == people["Ada"]["points"]


async def test_points_can_be_set_when_the_meeting_is_created(server, make_member):
    body = {"participation": {"enabled": True, "visibility": "everyone", "weights": {"chat": 2}}}
    async with aiohttp.ClientSession(headers=ADMIN) as http:
        async with http.post(f"{server.url}/api/v1/meetings", json=body) as r:
            assert r.status == 201
            created = await r.json()
        bad = {"participation": {"enabled": True, "weights": {"chat": -1}}}
        async with http.post(f"{server.url}/api/v1/meetings", json=bad) as r:
            assert r.status == 400
            assert "chat" in (await r.json())["error"]["message"]
        async with http.post(
            f"{server.url}/api/v1/meetings", json={"participation": {"visibility": "host"}}
        ) as r:
            assert r.status == 400
    host = await make_member("Hana", room=created["room"], host_key=created["host_key"])
    setting = host.meeting["participation"]
    assert setting["enabled"] is True and setting["visibility"] == "everyone"
    assert setting["weights"]["chat"] == 2
    ada = await make_member("Ada", room=created["room"])
    assert (await ada.call("leaderboard"))["me"]["name"] == "Ada"


async def test_a_meeting_without_points_has_none_in_its_report(server, make_member):
    host = await make_member("Hana", room=ROOM)
    await host.call("chat_send", {"text": "hello"})
    state = await server.service.store.get(ROOM)
    status, text = await get(server, f"/api/v1/meetings/{state.meeting_id}/report")
    assert status == 200 and "participation" not in json.loads(text)
    status, text = await get(
        server, f"/api/v1/meetings/{state.meeting_id}/report?format=csv&table=participation"
    )
    assert status == 200 and text.splitlines()[0].startswith("rank,participant_id,name")
    assert len(text.splitlines()) == 1
