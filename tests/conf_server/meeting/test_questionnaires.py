"""Questionnaires over real Socket.IO (docs/protocol.md, "Questionnaires").

Who may manage them, what each person sees (drafts, live results for hosts,
shared results for everyone, names only for hosts of a named questionnaire),
one form answered and edited until it closes, anonymous questionnaires edited
only with the answer handle (nothing stored links a person to a sheet), bad
input refused with stable codes, export, and the meeting's end closing them.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import pytest
from signaling_client import barrier

ROOM = "survey"
COALESCE = 0.25
QUESTIONS = [
    {"kind": "single", "prompt": "Which day?", "options": ["Mon", "Tue", "Wed"]},
    {"kind": "multiple", "prompt": "Snacks?", "options": ["Tea", "Cake", "Fruit"]},
    {"kind": "rating", "prompt": "How was it?"},
    {"kind": "text", "prompt": "Anything else?", "max_length": 40},
]


async def settle(*clients: Any) -> None:
    await asyncio.sleep(2 * COALESCE + 0.1)
    await barrier(*clients)


def latest(client: Any, questionnaire_id: str) -> dict[str, Any] | None:
    seen = [
        d["questionnaire"]
        for d in client.of("questionnaire_changed")
        if d["questionnaire"]["questionnaire_id"] == questionnaire_id
    ]
    return seen[-1] if seen else None


async def launch(host: Any, anonymous: bool = False, title: str = "Offsite") -> str:
    created = await host.call(
        "questionnaire_create", {"title": title, "questions": QUESTIONS, "anonymous": anonymous}
    )
    qid: str = created["questionnaire"]["questionnaire_id"]
    assert await host.call("questionnaire_launch", {"questionnaire_id": qid}) == {"ok": True}
    return qid


async def answer(client: Any, qid: str, answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return await client.call(
        "questionnaire_answer", {"questionnaire_id": qid, "answers": answers, **extra}
    )


async def stored(server: Any, qid: str) -> dict[str, Any]:
    state = await server.service.store.get(ROOM)
    items = state.to_dict()["questionnaires"]["items"]
    return next(item for item in items if item["id"] == qid)


@pytest.fixture
async def room(make_member):
    host = await make_member("Hana", room=ROOM)
    people = [await make_member(name, room=ROOM) for name in ("Ada", "Bob")]
    everyone = [host, *people]
    for client in everyone:
        await client.wait_for(lambda c=client: len(c.participants) == len(everyone))
    assert host.meeting["role"] == "host"
    return everyone


async def test_participants_cannot_manage_and_see_no_drafts(room, server, make_member):
    host, ada, _bob = room
    draft = (await host.call("questionnaire_create", {"title": "T", "questions": QUESTIONS}))[
        "questionnaire"
    ]
    assert draft["state"] == "draft" and draft["results"] is None
    running = await launch(host)
    await settle(*room)
    assert latest(ada, draft["questionnaire_id"]) is None  # drafts are for hosts only
    before = await stored(server, running)
    for event, payload in [
        ("questionnaire_create", {"title": "Mine", "questions": QUESTIONS}),
        (
            "questionnaire_edit",
            {"questionnaire_id": draft["questionnaire_id"], "title": "X", "questions": QUESTIONS},
        ),
        ("questionnaire_delete", {"questionnaire_id": draft["questionnaire_id"]}),
        ("questionnaire_launch", {"questionnaire_id": draft["questionnaire_id"]}),
        ("questionnaire_close", {"questionnaire_id": running}),
        ("questionnaire_share", {"questionnaire_id": running}),
        ("questionnaire_export", {"format": "json"}),
    ]:
        error = await ada.error_of(event, payload)
        assert error["code"] == "forbidden", (event, error)
    assert await stored(server, running) == before
    # Someone joining now sees the open form but no draft and no results; a
    # host joining sees both.
    late = await make_member("Lou", room=ROOM)
    listed = late.meeting["questionnaires"]
    assert [(q["questionnaire_id"], q["results"]) for q in listed] == [(running, None)]
    assert listed[0]["answered"] is False and listed[0]["my_answers"] is None


async def test_answer_edit_live_results_share_and_close(room, server):
    host, ada, bob = room
    qid = await launch(host)
    form = await ada.wait_event(
        "questionnaire_changed", lambda d: d["questionnaire"]["state"] == "open"
    )
    assert form["questionnaire"]["results"] is None
    assert [q["kind"] for q in form["questionnaire"]["questions"]] == [
        "single",
        "multiple",
        "rating",
        "text",
    ]
    ack = await answer(ada, qid, {"q1": "o1", "q2": ["o2"], "q3": 2, "q4": "more tea"})
    assert "handle" not in ack
    assert ack["questionnaire"]["answered"] is True
    assert ack["questionnaire"]["my_answers"] == {
        "q1": "o1",
        "q2": ["o2"],
        "q3": 2,
        "q4": "more tea",
    }
    # Editing: the whole sheet is replaced.
    ack = await answer(ada, qid, {"q1": "o2", "q3": 5, "q4": "cake please"})
    assert ack["questionnaire"]["my_answers"] == {"q1": "o2", "q3": 5, "q4": "cake please"}
    await answer(bob, qid, {"q1": "o2", "q2": ["o1", "o3"], "q3": 4})

    def settled(data: dict[str, Any]) -> bool:
        results = data["questionnaire"]["results"]
        return (
            results is not None
            and results["respondents"] == 2
            and (results["questions"][2]["mean"] == 4.5)
        )

    live = (await host.wait_event("questionnaire_changed", settled))["questionnaire"]["results"]
    q1, q2, q3, q4 = live["questions"]
    assert [o["votes"] for o in q1["options"]] == [0, 2, 0]
    assert [o["votes"] for o in q2["options"]] == [1, 0, 1] and q2["answered"] == 1
    assert [d["count"] for d in q3["distribution"]] == [0, 0, 0, 1, 1]
    assert q4["answers"] == [
        {"text": "cake please", "participant_id": ada.participant_id, "name": "Ada"}
    ]
    await settle(*room)
    # Participants got no results while the host had not shared them.
    assert all(d["questionnaire"]["results"] is None for d in bob.of("questionnaire_changed"))

    await host.call("questionnaire_close", {"questionnaire_id": qid})
    error = await bob.error_of(
        "questionnaire_answer", {"questionnaire_id": qid, "answers": {"q3": 1}}
    )
    assert error["code"] == "questionnaire_closed"
    error = await host.error_of("questionnaire_launch", {"questionnaire_id": qid})
    assert error["code"] == "questionnaire_closed"
    await host.call("questionnaire_share", {"questionnaire_id": qid})
    shared = (
        await bob.wait_event(
            "questionnaire_changed", lambda d: d["questionnaire"]["results_shared"]
        )
    )["questionnaire"]
    assert shared["state"] == "closed"
    assert shared["results"]["respondents"] == 2
    # Everyone sees the free texts, but only hosts see who wrote them.
    assert shared["results"]["questions"][3]["answers"] == [{"text": "cake please"}]
    assert shared["my_answers"] == {"q1": "o2", "q2": ["o1", "o3"], "q3": 4}

    exported = await host.call("questionnaire_export", {"format": "json"})
    data = json.loads(exported["content"])
    assert exported["filename"] == f"questionnaires-{ROOM}.json"
    assert data["questionnaires"][0]["answers"][0]["name"] == "Ada"
    table = await host.call("questionnaire_export", {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(table["content"])))
    assert {"question_id": "q4", "text": "cake please"}.items() <= next(
        r for r in rows if r["item"] == "answer"
    ).items()
    answers = await host.call("questionnaire_export", {"format": "csv", "answers": True})
    assert "Ada" in answers["content"] and answers["filename"].endswith("-answers.csv")


async def test_anonymous_answers_edit_with_the_handle_only(room, server):
    host, ada, bob = room
    qid = await launch(host, anonymous=True)
    await ada.wait_event("questionnaire_changed", lambda d: d["questionnaire"]["state"] == "open")
    first = await answer(ada, qid, {"q3": 1, "q4": "secret"})
    handle = first["handle"]
    assert first["questionnaire"]["answered"] is True
    assert first["questionnaire"]["my_answers"] is None
    error = await ada.error_of(
        "questionnaire_answer", {"questionnaire_id": qid, "answers": {"q3": 2}}
    )
    assert error["code"] == "already_answered"
    again = await answer(ada, qid, {"q3": 5, "q4": "changed"}, handle=handle)
    assert again["handle"] == handle
    # Bob cannot guess his way into Ada's sheet; his own first answer is new.
    bobs = await answer(bob, qid, {"q3": 3}, handle="not-a-handle")
    assert bobs["handle"] != handle

    def settled(data: dict[str, Any]) -> bool:
        results = data["questionnaire"]["results"]
        return (
            results is not None
            and results["respondents"] == 2
            and (results["questions"][2]["mean"] == 4.0)
        )

    live = (await host.wait_event("questionnaire_changed", settled))["questionnaire"]
    assert live["results"]["questions"][3]["answers"] == [{"text": "changed"}]  # no names
    item = await stored(server, qid)
    text = json.dumps(item)
    assert handle not in text
    assert item["answered"] == sorted([ada.participant_id, bob.participant_id])
    for sheet in item["sheets"].values():
        assert ada.participant_id not in json.dumps(sheet)
    exported = json.loads((await host.call("questionnaire_export", {"format": "json"}))["content"])
    assert "answers" not in exported["questionnaires"][0]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"title": "T", "questions": []}, "invalid_action"),
        ({"title": "T", "questions": [{"kind": "poll", "prompt": "x"}]}, "invalid_payload"),
        (
            {"title": "T", "questions": [{"kind": "text", "prompt": "x", "max_length": 9999}]},
            "invalid_action",
        ),
        ({"title": "T", "questions": "nope"}, "invalid_payload"),
        (
            {"title": "T", "questions": [{"kind": "rating", "prompt": "x", "extra": 1}]},
            "invalid_payload",
        ),
        ({"title": "x" * 5000, "questions": QUESTIONS}, "invalid_payload"),
        ({"questions": QUESTIONS}, "invalid_payload"),
    ],
)
async def test_bad_questionnaires_get_stable_codes(room, payload, code):
    host = room[0]
    error = await host.error_of("questionnaire_create", payload)
    assert error["code"] == code, error


async def test_bad_answers_get_stable_codes(room):
    host, ada, _bob = room
    draft = (await host.call("questionnaire_create", {"title": "T", "questions": QUESTIONS}))[
        "questionnaire"
    ]["questionnaire_id"]
    error = await ada.error_of(
        "questionnaire_answer", {"questionnaire_id": draft, "answers": {"q3": 1}}
    )
    assert error["code"] == "questionnaire_not_open"
    qid = await launch(host)
    for answers, code in [
        ({"q1": "o9"}, "unknown_option"),
        ({"q3": 7}, "invalid_action"),
        ({"q4": "x" * 41}, "invalid_action"),
        ({}, "invalid_action"),
        ({"q1": {"a": 1}}, "invalid_payload"),
        ("q1", "invalid_payload"),
    ]:
        error = await ada.error_of(
            "questionnaire_answer", {"questionnaire_id": qid, "answers": answers}
        )
        assert error["code"] == code, (answers, error)
    error = await ada.error_of(
        "questionnaire_answer", {"questionnaire_id": "qn99", "answers": {"q3": 1}}
    )
    assert error["code"] == "unknown_questionnaire"


async def test_ending_the_meeting_closes_open_questionnaires(room, server):
    host, ada, _bob = room
    qid = await launch(host)
    await answer(ada, qid, {"q3": 3})
    await host.call("end_meeting")
    await asyncio.sleep(0.2)
    state = await server.service.store.get(ROOM)
    if state is not None:  # the state may already be archived away
        assert state.questionnaires.get(qid).state.value == "closed"


async def test_a_promoted_co_host_manages_questionnaires_and_sees_results(room):
    host, ada, bob = room
    qid = await launch(host)
    await answer(bob, qid, {"q4": "hello"})
    await host.call("set_role", {"participant_id": ada.participant_id, "role": "co_host"})
    state = await ada.wait_event("meeting_state", lambda d: d["meeting"]["role"] == "co_host")
    (listed,) = state["meeting"]["questionnaires"]
    # A co-host sees live results, with the names of a named questionnaire.
    assert listed["results"]["questions"][3]["answers"] == [
        {"text": "hello", "participant_id": bob.participant_id, "name": "Bob"}
    ]
    draft = await ada.call("questionnaire_create", {"title": "Mine", "questions": QUESTIONS})
    assert draft["questionnaire"]["state"] == "draft"
    await ada.call("questionnaire_close", {"questionnaire_id": qid})
    closed = await bob.wait_event(
        "questionnaire_changed", lambda d: d["questionnaire"]["state"] == "closed"
    )
    assert closed["questionnaire"]["results"] is None  # not shared yet
