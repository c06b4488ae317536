"""The meeting.summary's content (bounded, anonymous polls without names) and
its durable once-only queue; the cross-node claim against a real redis-server."""

from __future__ import annotations

from pathlib import Path

from redis_server import RedisServer

from conf_server.cluster.once_claims import RedisOnceClaims
from conf_server.cluster.redis_connection import connect
from conf_server.integration.database import Database
from conf_server.integration.meeting_summary import (
    MAX_NAMES,
    SummaryQueue,
    build_summary,
    processing,
)
from conf_server.integration.webhooks import WebhookDispatcher

MEETING = {"meeting_id": "m1", "room": "r", "title": "T", "chat_id": "c", "reason": "empty"}


def visit(name: str, joined: float, left: float, user_id: str | None = None) -> dict:
    return {
        "participant_id": f"p-{name}-{joined}",
        "name": name,
        "user_id": user_id,
        "presence": "remote",
        "joined_at": joined,
        "left_at": left,
        "seconds": left - joined,
    }


def test_attendance_merges_visits_and_names_only_the_first_people() -> None:
    rows = [visit("Ada", 10, 20, "u-ada"), visit("Bob", 11, 50), visit("Ada", 30, 40, "u-ada")]
    rows += [visit(f"P{n}", 100 + n, 200) for n in range(MAX_NAMES + 5)]
    report = {"meeting_id": "m1", "created_at": 5.0, "attendance": rows, "polls": []}
    data = build_summary(report, [], MEETING, ended_at=300.0)
    attendance = data["attendance"]
    assert attendance["people"] == MAX_NAMES + 7 and attendance["visits"] == MAX_NAMES + 8
    assert attendance["truncated"] and len(attendance["participants"]) == MAX_NAMES
    ada = attendance["participants"][0]
    assert (ada["name"], ada["visits"], ada["seconds"], ada["left_at"]) == ("Ada", 2, 20.0, 40)
    assert data["started_at"] == 10 and data["ended_at"] == 300.0 and data["duration"] == 290.0


def test_polls_carry_aggregates_only_and_questionnaires_pass_through() -> None:
    results = {"poll_id": "p1", "anonymous": True, "options": [{"id": "o1", "votes": 2}]}
    report = {
        "attendance": [],
        "polls": [{"results": results, "ballots": [{"name": "Bob", "option_ids": ["o1"]}]}],
        "decisions": [{"id": 1, "text": "Ship", "by_id": "p-x", "by_name": "Ada", "at": 3.0}],
        "questionnaires": [{"id": "q1", "responses": 3}],
    }
    data = build_summary(report, [], MEETING, ended_at=9.0)
    assert data["polls"] == [results] and "Bob" not in str(data)
    assert data["decisions"] == [{"id": 1, "text": "Ship", "by_name": "Ada", "at": 3.0}]
    assert data["questionnaires"] == [{"id": "q1", "responses": 3}]
    assert "questionnaires" not in build_summary({"attendance": []}, [], MEETING, 9.0)


def test_a_recording_is_done_when_made_rendered_and_transcribed() -> None:
    ready = {"id": "a", "state": "ready", "transcript": {"state": "ready"}}
    assert not processing(ready)
    assert processing({**ready, "state": "processing"})
    assert processing({**ready, "transcript": {"state": "transcribing"}})
    assert not processing({**ready, "transcript": {"state": "disabled"}})
    assert not processing({"id": "b", "state": "failed", "transcript": {"state": "pending"}})
    data = build_summary({}, [ready, {**ready, "id": "c", "state": "processing"}], MEETING, 1.0)
    assert data["complete"] is False and data["still_processing"] == ["c"]


def test_pending_summaries_survive_a_restart_and_are_queued_once(tmp_path: Path) -> None:
    db = Database(tmp_path / "conf.sqlite3")
    queue = SummaryQueue(db)
    assert queue.add(MEETING, ended_at=100.0, wait_max=60.0)
    assert not queue.add(MEETING, ended_at=200.0, wait_max=60.0)  # a second end: no change
    db.close()
    # Another process (or the next start) sees it, with its deadline.
    db = Database(tmp_path / "conf.sqlite3")
    queue = SummaryQueue(db)
    (pending,) = queue.pending()
    assert pending.due_at == 160.0 and pending.meeting["chat_id"] == "c"
    webhooks = WebhookDispatcher(db)
    webhooks.add_endpoint("https://chat.example.com/hook", ["meeting.summary"])
    claim = lambda event_id: queue.claim("m1", event_id)  # noqa: E731
    first = webhooks.publish_claimed("meeting.summary", {"x": 1}, claim)
    second = webhooks.publish_claimed("meeting.summary", {"x": 1}, claim)
    assert first is not None and second is None
    assert queue.sent("m1") == first and queue.pending() == []
    rows = db.all("SELECT event_id FROM webhook_deliveries WHERE event_type = 'meeting.summary'")
    assert [row["event_id"] for row in rows] == [first]


async def test_one_node_wins_the_claim_and_may_claim_again(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    client = connect(redis.url)
    try:
        claims = RedisOnceClaims(client, prefix="t:")
        assert await claims.claim("summary:m1", "node-a")
        assert not await claims.claim("summary:m1", "node-b")
        # node-a died between its claim and its queueing: after its restart it goes on.
        assert await claims.claim("summary:m1", "node-a")
        assert await claims.claim("summary:m2", "node-b")
        assert 0 < await client.ttl("t:once:summary:m1") <= 30 * 24 * 3600
    finally:
        await client.aclose()
        redis.stop()
