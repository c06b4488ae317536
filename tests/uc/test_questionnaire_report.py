"""Questionnaires through the REST API and webhooks: drafts prepared with
``POST /api/v1/meetings``, the report's ``questionnaires`` entries (JSON and the
``table=questionnaires`` CSV, live and archived), and the signed
``questionnaire.launched`` / ``questionnaire.closed`` webhooks (aggregates only)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from dataclasses import replace
from typing import Any

import pytest
from api_client import call
from server_keys import ADMIN_KEY
from webhook_receiver import Receiver

from conf_server import Settings

PULSE = {
    "title": "Retro pulse",
    "questions": [
        {"kind": "single", "prompt": "Ship it?", "options": ["Yes", "No"]},
        {"kind": "rating", "prompt": "Mood?"},
        {"kind": "text", "prompt": "One thing to change?", "max_length": 80},
    ],
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, webhook_allowed_networks=("127.0.0.0/8",))


async def events(receiver: Receiver, kind: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        found = [r.body for r in receiver.requests if r.body["type"] == kind]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"no {kind} webhook"
        await asyncio.sleep(0.05)


async def test_drafts_in_post_meetings_are_checked_and_need_a_key(server):
    status, body = await call(server, "POST", "/meetings", json={"questionnaires": [PULSE]})
    assert status == 401 and "questionnaires" in body["error"]["message"], body
    bad = [
        ({**PULSE, "questions": []}, "1 to 20 questions"),
        ({**PULSE, "questions": [{"kind": "poll", "prompt": "x"}]}, "questionnaires[0]"),
        ({**PULSE, "extra": 1}, "unknown field"),
        ("nope", "must be an object"),
        ({**PULSE, "title": ""}, "title"),
    ]
    for draft, message in bad:
        status, body = await call(
            server, "POST", "/meetings", ADMIN_KEY, json={"questionnaires": [draft]}
        )
        assert status == 400 and body["error"]["code"] == "invalid_request", body
        assert message in body["error"]["message"], body


async def test_prepared_questionnaire_report_and_webhooks(server, make_member):
    receiver = await Receiver().start()
    try:
        status, hook = await call(
            server,
            "POST",
            "/admin/webhooks",
            ADMIN_KEY,
            json={
                "url": receiver.url,
                "events": ["questionnaire.launched", "questionnaire.closed"],
            },
        )
        assert status == 201, hook
        status, meeting = await call(
            server,
            "POST",
            "/meetings",
            ADMIN_KEY,
            json={
                "room": "retro",
                "questionnaires": [PULSE, {**PULSE, "title": "Secret pulse", "anonymous": True}],
            },
        )
        assert status == 201, meeting
        host = await make_member("Hana", room="retro", host_key=meeting["host_key"])
        ada = await make_member("Ada", room="retro")
        bob = await make_member("Bob", room="retro")
        drafts = host.meeting["questionnaires"]
        assert [(q["questionnaire_id"], q["state"]) for q in drafts] == [
            ("qn1", "draft"),
            ("qn2", "draft"),
        ]
        assert ada.meeting["questionnaires"] == []  # drafts are for hosts only
        for qid in ("qn1", "qn2"):
            await host.call("questionnaire_launch", {"questionnaire_id": qid})
        for client, (ship, mood, text) in ((ada, ("o1", 4, "=SUM(A1)")), (bob, ("o2", 2, "less"))):
            for qid in ("qn1", "qn2"):
                await client.call(
                    "questionnaire_answer",
                    {"questionnaire_id": qid, "answers": {"q1": ship, "q2": mood, "q3": text}},
                )
        await host.call("questionnaire_close", {"questionnaire_id": "qn1"})

        launched = await events(receiver, "questionnaire.launched", 2)
        assert launched[0]["data"]["questionnaire"]["title"] == "Retro pulse"
        assert launched[0]["data"]["meeting_id"] == meeting["meeting_id"]
        (closed,) = await events(receiver, "questionnaire.closed")
        data = closed["data"]["questionnaire"]
        assert data["respondents"] == 2 and data["state"] == "closed"
        assert [o["votes"] for o in data["questions"][0]["options"]] == [1, 1]
        assert data["questions"][1]["mean"] == 3.0
        assert data["questions"][2]["answered"] == 2 and "answers" not in data["questions"][2]
        raw = json.dumps(closed)
        assert ada.participant_id not in raw and "Ada" not in raw and "less" not in raw
        assert all(r.verifies(hook["secret"]) for r in receiver.requests)

        path = f"/meetings/{meeting['meeting_id']}/report"
        status, report = await call(server, "GET", path, ADMIN_KEY)
        assert status == 200
        named, secret = report["questionnaires"]
        assert named["results"]["questionnaire_id"] == "qn1"
        assert {(a["name"], a["answers"]["q1"]) for a in named["answers"]} == {
            ("Ada", "o1"),
            ("Bob", "o2"),
        }
        texts = named["results"]["questions"][2]["answers"]
        assert {(t["name"], t["text"]) for t in texts} == {("Ada", "=SUM(A1)"), ("Bob", "less")}
        # The anonymous one: aggregates and texts, nobody's name or id.
        assert "answers" not in secret and secret["results"]["respondents"] == 2
        assert secret["results"]["questions"][2]["answers"] == [
            {"text": "=SUM(A1)"},
            {"text": "less"},
        ]
        assert ada.participant_id not in json.dumps(secret) and "Ada" not in json.dumps(secret)

        # Ending the meeting closes the open one (its webhook too) and the
        # archived report keeps the questionnaires.
        await host.call("end_meeting")
        await events(receiver, "questionnaire.closed", 2)
        await asyncio.sleep(0.3)
        await server.service.store.delete("retro")
        status, archived = await call(server, "GET", path, ADMIN_KEY)
        assert status == 200 and archived["ended"] is True
        assert [q["results"]["state"] for q in archived["questionnaires"]] == ["closed", "closed"]
        status, text = await call(
            server, "GET", f"{path}?format=csv&table=questionnaires", ADMIN_KEY
        )
        assert status == 200
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {r["questionnaire_id"] for r in rows} == {"qn1", "qn2"}
        free = sorted(r["text"] for r in rows if r["item"] == "answer")
        assert free == ["'=SUM(A1)", "'=SUM(A1)", "less", "less"]  # formula made harmless
        assert "Ada" not in text and ada.participant_id not in text
        ratings = [r for r in rows if r["questionnaire_id"] == "qn1" and r["kind"] == "rating"]
        assert [r["count"] for r in ratings] == ["0", "1", "0", "1", "0"]
        assert {r["mean"] for r in ratings} == {"3.0"}
    finally:
        await receiver.stop()
