"""kill -9 mid-meeting (issue 13, point 8): after a restart the meeting's report
is complete up to the crash, and the meeting ends with its webhooks, once.

Real ``python -m conf_server`` processes on a data dir that outlives them, a
real webhook receiver, media-free Socket.IO members (tests/signaling_client.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from deployment import NodeProcess, http
from redis_server import RedisServer, free_port
from server_keys import ADMIN_KEY
from signaling_client import SignalingClient
from webhook_receiver import Receiver

from conf_server import create_app
from conf_server.domain.meeting_state import MeetingState, Member
from conf_server.http.keys import MEETINGS
from conf_server.integration.database import Database
from conf_server.integration.reports import ReportArchive, build_report, interrupted_report

#: Webhooks to the test receiver on 127.0.0.1 are allowed (the address policy
#: refuses loopback otherwise).
WEBHOOK_ENV = {"CONF_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}
ROOM = "crash"


class ServerProcess:
    """One embedded-store ``conf-server`` on ``data_dir`` (no Redis)."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "conf_server", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*command, "--data-dir", str(data_dir), "--ice-address", "127.0.0.1"],
            stdout=open(log, "ab"),  # noqa: SIM115 (the child owns it)
            stderr=subprocess.STDOUT,
            env={**os.environ, **WEBHOOK_ENV, "CONF_ADMIN_API_KEY": ADMIN_KEY},
        )
        self.log = log

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            with contextlib.suppress(Exception):
                if (await http(self.url, "GET", "/readyz"))[0] == 200:
                    return
            await asyncio.sleep(0.1)
        raise AssertionError(f"conf-server not ready:\n{self.log.read_text()}")

    def kill(self) -> None:
        """``kill -9``: no drain, no clean-up of any kind."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = await Receiver().start()
    yield hook
    await hook.stop()


@pytest.fixture
async def members() -> AsyncIterator[Callable[[str, str], Awaitable[SignalingClient]]]:
    made: list[SignalingClient] = []

    async def join(url: str, name: str) -> SignalingClient:
        client = SignalingClient(url, name)
        made.append(client)
        await client.connect()
        await client.join(ROOM)
        return client

    yield join
    for client in made:
        with contextlib.suppress(Exception):
            await client.close()


async def register_webhook(url: str, receiver: Receiver) -> str:
    events = ["participant.left", "meeting.ended"]
    status, body = await http(
        url, "POST", "/api/v1/admin/webhooks", json={"url": receiver.url, "events": events}
    )
    assert status == 201, body
    return str(body["id"])


async def meeting_with_chat_and_open_poll(
    url: str, join: Callable[[str, str], Awaitable[SignalingClient]]
) -> tuple[str, str]:
    """Ada (host) and Bob: two chat messages, a poll still open with both
    votes. Returns the meeting id and the poll id."""
    ada = await join(url, "Ada")
    bob = await join(url, "Bob")
    poll = (await ada.call("poll_create", {"question": "Ship it?", "options": ["Yes", "No"]}))[
        "poll"
    ]
    await ada.call("poll_launch", {"poll_id": poll["poll_id"]})
    await ada.call("poll_vote", {"poll_id": poll["poll_id"], "option_ids": ["o1"]})
    await bob.call("poll_vote", {"poll_id": poll["poll_id"], "option_ids": ["o2"]})
    await ada.call("chat_send", {"text": "hello before the crash"})
    await bob.call("chat_send", {"text": "last words"})
    return ada.meeting["meeting_id"], poll["poll_id"]


def saved_snapshot(data_dir: Path, meeting_id: str) -> tuple[int, float, float] | None:
    """``(chat messages, saved at, alive at)`` of the server's live snapshot of
    the meeting: how much chat it holds, when it was saved, and when the
    server last said the meeting still ran (read from its database)."""
    path = data_dir / "conf.sqlite3"
    if not path.exists():
        return None
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
        row = db.execute(
            "SELECT (SELECT COUNT(*) FROM live_report_chat c WHERE c.meeting_id = l.meeting_id),"
            " saved_at, alive_at FROM live_reports l WHERE meeting_id = ?",
            (meeting_id,),
        ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


async def until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def events_of(receiver: Receiver, kind: str, meeting_id: str) -> dict[str, dict[str, Any]]:
    """Distinct events (by id: a redelivery is the same event) of one meeting."""
    return {
        r.body["id"]: r.body["data"]
        for r in receiver.requests
        if r.body["type"] == kind and r.body["data"]["meeting_id"] == meeting_id
    }


def check_report(report: dict[str, Any], poll_id: str) -> None:
    """Both attendees, both chat messages, the poll with both votes."""
    assert {row["name"] for row in report["attendance"]} == {"Ada", "Bob"}
    assert all(row["left_at"] is not None for row in report["attendance"])
    assert [m["text"] for m in report["chat"]] == ["hello before the crash", "last words"]
    (poll,) = report["polls"]
    assert poll["results"]["poll_id"] == poll_id
    assert [o["votes"] for o in poll["results"]["options"]] == [1, 1]
    assert {b["name"]: b["option_ids"] for b in poll["ballots"]} == {
        "Ada": ["o1"],
        "Bob": ["o2"],
    }


async def test_after_kill_9_and_a_restart_the_report_is_complete_and_meeting_ended_is_sent_once(
    tmp_path, receiver, members
):
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    server = ServerProcess(data_dir, log)
    try:
        await server.wait_ready()
        webhook_id = await register_webhook(server.url, receiver)
        meeting_id, poll_id = await meeting_with_chat_and_open_poll(server.url, members)

        # The server saves as the meeting runs: wait until what was said and
        # voted is saved, and the meeting was marked running after that save.
        def saved_and_stamped() -> float | None:
            saved = saved_snapshot(data_dir, meeting_id)
            if saved is None or saved[0] < 2:
                return None
            _, saved_at, alive_at = saved
            return alive_at if alive_at >= saved_at + 1.0 else None

        stamped = await until(saved_and_stamped, "the live report saved and stamped")
        server.kill()
        killed_at = time.time()  # after the process is gone: it stamped nothing later
        assert not receiver.requests  # nobody left before the crash

        server = ServerProcess(data_dir, log)
        await server.wait_ready()
        path = f"/api/v1/meetings/{meeting_id}/report"
        status, report = await http(server.url, "GET", path)
        assert status == 200, report
        check_report(report, poll_id)
        assert report["ended"] is True and report["end_reason"] == "server_restart"
        for row in report["attendance"]:
            # Left when the server died (to within one save interval).
            assert stamped <= row["left_at"] <= killed_at, (row, stamped, killed_at)
        status, text = await http(server.url, "GET", path + "?format=csv&table=polls")
        assert status == 200 and "Ship it?" in text

        await until(lambda: events_of(receiver, "meeting.ended", meeting_id), "meeting.ended")
        (ended,) = events_of(receiver, "meeting.ended", meeting_id).values()
        assert ended["reason"] == "server_restart" and ended["room"] == ROOM
        await until(
            lambda: len(events_of(receiver, "participant.left", meeting_id)) == 2,
            "participant.left of both",
        )
        left = events_of(receiver, "participant.left", meeting_id).values()
        assert {e["participant"]["name"] for e in left} == {"Ada", "Bob"}
        assert {e["reason"] for e in left} == {"server_restart"}

        # Crash again, start again: the meeting is not ended a second time.
        server.kill()
        server = ServerProcess(data_dir, log)
        await server.wait_ready()  # start-up recovery has run by now
        status, body = await http(
            server.url, "GET", f"/api/v1/admin/webhooks/{webhook_id}/deliveries?limit=500"
        )
        assert status == 200, body
        queued = [d for d in body["deliveries"] if d["event_type"] == "meeting.ended"]
        assert len(queued) == 1, queued
        assert (await http(server.url, "GET", path))[1]["ended"] is True
        assert len(events_of(receiver, "meeting.ended", meeting_id)) == 1
    finally:
        server.stop()


async def test_with_redis_the_restarted_node_ends_the_meeting_it_hosted_with_its_report(
    tmp_path, receiver, members
):
    redis = RedisServer(tmp_path)
    node = NodeProcess(tmp_path, "solo", redis.url, "crash:", env=WEBHOOK_ENV)
    try:
        await node.wait_ready()
        await register_webhook(node.url, receiver)
        meeting_id, poll_id = await meeting_with_chat_and_open_poll(node.url, members)
        node.kill()
        await node.wait_exit()

        # Same name, same data dir: the meeting state waited in Redis; the node
        # adopts the room, nobody comes back, the grace ends the meeting.
        node = NodeProcess(tmp_path, "solo", redis.url, "crash:", env=WEBHOOK_ENV)
        await node.wait_ready()
        await until(lambda: events_of(receiver, "meeting.ended", meeting_id), "meeting.ended")
        (ended,) = events_of(receiver, "meeting.ended", meeting_id).values()
        assert ended["reason"] == "empty"
        status, report = await http(node.url, "GET", f"/api/v1/meetings/{meeting_id}/report")
        assert status == 200, report
        check_report(report, poll_id)
        left = events_of(receiver, "participant.left", meeting_id).values()
        assert {e["participant"]["name"] for e in left} == {"Ada", "Bob"}
    finally:
        node.stop()
        redis.stop()


async def test_a_meeting_that_emptied_is_not_ended_again_by_the_next_start(settings):
    first = TestServer(create_app(settings), host="127.0.0.1")
    await first.start_server()
    try:
        ada = SignalingClient(str(first.make_url("")).rstrip("/"), "Ada")
        await ada.connect()
        await ada.join(ROOM)
        await ada.call("chat_send", {"text": "bye"})
        await ada.call("leave")
        await ada.close()
        meeting_id = ada.meeting["meeting_id"]
    finally:
        await first.close()

    second = TestServer(create_app(settings), host="127.0.0.1")
    await second.start_server()
    try:
        archive = second.app[MEETINGS].archive
        assert archive is not None and list(archive.live_snapshots()) == []
        report, _ = archive.get(meeting_id) or ({}, "")
        assert "end_reason" not in report and [m["text"] for m in report["chat"]] == ["bye"]
    finally:
        await second.close()


def test_a_live_snapshot_keeps_its_newest_chat_and_is_finished_only_once(tmp_path):
    state = MeetingState(ROOM, created_at=1.0)
    state.members["p1"] = Member("p1", "Ada", "participant:p1", 2.0)
    chat = [{"id": i, "text": f"m{i}"} for i in range(1, 6)]
    one, other = (ReportArchive(Database(tmp_path / "conf.sqlite3")) for _ in range(2))
    one.save_live(build_report(state, [], now=3.0), "", chat[:2], keep_chat=3)
    one.save_live(build_report(state, [], now=4.0), "", chat[2:], keep_chat=3)
    stamp = time.time() + 60  # the node said the meeting still ran then
    one.touch_live([state.meeting_id], stamp)

    (snapshot,) = list(other.live_snapshots())
    assert [m["id"] for m in snapshot.report["chat"]] == [3, 4, 5]
    assert snapshot.alive_at == stamp
    final, cut_short = interrupted_report(snapshot.report, snapshot.alive_at, "server_restart")
    assert [(row["name"], row["left_at"]) for row in cut_short] == [("Ada", stamp)]
    assert other.finish(snapshot, final) is True
    assert one.finish(snapshot, final) is False  # another process finished it first
    assert list(one.live_snapshots()) == []
    report, _ = one.get(state.meeting_id) or ({}, "")
    assert report["ended"] is True and report["end_reason"] == "server_restart"
    assert [m["text"] for m in report["chat"]] == ["m3", "m4", "m5"]


async def test_a_meeting_still_in_the_store_is_left_to_the_node_that_runs_it(server, make_member):
    await make_member("Ada", room=ROOM)
    archive = server.service.archive
    await until(lambda: list(archive.live_snapshots()), "the live snapshot")
    # As a node starting next to Redis that still holds the meeting would see it.
    assert await server.service.live_reports.recover() == 0
    (snapshot,) = list(archive.live_snapshots())
    assert snapshot.report["ended"] is False
