"""Polls over real Socket.IO (docs/protocol.md, "Polls").

Who may manage polls, what each person sees (drafts, live results, correct
answers), the voting rules of single / multiple / quiz polls, changing a vote,
anonymous polls (nothing stored links a voter to an option), refused votes that
move nothing, sharing and exporting results, and a promoted co-host.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import pytest
from meeting_client import ProtocolError
from signaling_client import barrier

ROOM = "polls"
LUNCH = ["Pizza", "Salad", "Soup"]
#: Live results are coalesced to about four updates a second per poll.
COALESCE = 0.25


async def settle(*clients: Any) -> None:
    """Wait out the coalescing of live results, then a barrier."""
    await asyncio.sleep(2 * COALESCE + 0.1)
    await barrier(*clients)


def changes(client: Any, poll_id: str) -> list[dict[str, Any]]:
    """Every Poll ``client`` received in ``poll_changed`` for ``poll_id``."""
    return [d["poll"] for d in client.of("poll_changed") if d["poll"]["poll_id"] == poll_id]


def latest(client: Any, poll_id: str) -> dict[str, Any] | None:
    seen = changes(client, poll_id)
    return seen[-1] if seen else None


def counts(results: dict[str, Any]) -> dict[str, int]:
    return {row["id"]: row["votes"] for row in results["options"]}


async def create(host: Any, question: str = "Lunch?", options: Any = None, **extra: Any) -> Any:
    payload = {"question": question, "options": options or LUNCH, **extra}
    return (await host.call("poll_create", payload))["poll"]


async def open_poll(host: Any, question: str = "Lunch?", **extra: Any) -> str:
    poll_id = (await create(host, question, **extra))["poll_id"]
    assert await host.call("poll_launch", {"poll_id": poll_id}) == {"ok": True}
    return poll_id


async def vote(client: Any, poll_id: str, *option_ids: str) -> dict[str, Any]:
    ack = await client.call("poll_vote", {"poll_id": poll_id, "option_ids": list(option_ids)})
    return ack["poll"]


async def stored(server: Any, room: str = ROOM) -> dict[str, Any]:
    state = await server.service.store.get(room)
    return state.to_dict()


async def stored_poll(server: Any, poll_id: str, room: str = ROOM) -> dict[str, Any]:
    polls = (await stored(server, room))["polls"]["polls"]
    return next(p for p in polls if p["id"] == poll_id)


async def live_results(host: Any, poll_id: str, voters: int, tally: dict[str, int]) -> dict:
    """Wait until the host's live results show ``voters`` and ``tally``, and stay so."""

    def shows(data: dict[str, Any]) -> bool:
        poll = data["poll"]
        results = poll["results"]
        return (
            poll["poll_id"] == poll_id
            and results is not None
            and results["voters"] == voters
            and counts(results) == tally
        )

    await host.wait_event("poll_changed", shows)
    await settle(host)
    final = latest(host, poll_id)
    assert final is not None and shows({"poll": final}), final
    return final["results"]


@pytest.fixture
async def room(make_member):
    """A host and three participants, everyone seeing everyone."""
    host = await make_member("Hana", room=ROOM)
    people = [await make_member(name, room=ROOM) for name in ("Ada", "Bob", "Cy")]
    everyone = [host, *people]
    for client in everyone:
        await client.wait_for(lambda c=client: len(c.participants) == len(everyone))
    assert host.meeting["role"] == "host"
    return [host, *people]


# -- who may manage polls ----------------------------------------------------------------


async def test_a_participant_cannot_manage_polls_and_nothing_changes(room, server):
    host, ada, bob, _cy = room
    draft = (await create(host, "Draft?"))["poll_id"]
    running = await open_poll(host, "Running?")
    await vote(bob, running, "o2")
    await settle(*room)
    before = await stored(server)
    seen = {client.name: len(client.events) for client in room}

    attempts = [
        ("poll_create", {"question": "Mine?", "options": ["a", "b"]}),
        ("poll_edit", {"poll_id": draft, "question": "Hijacked?", "options": ["x", "y"]}),
        ("poll_delete", {"poll_id": draft}),
        ("poll_launch", {"poll_id": draft}),
        ("poll_close", {"poll_id": running}),
        ("poll_share", {"poll_id": running}),
        ("poll_export", {"format": "json"}),
        ("poll_export", {"format": "csv"}),
        ("poll_export", {"format": "csv", "ballots": True}),
    ]
    for event, payload in attempts:
        error = await ada.error_of(event, payload)
        assert error["code"] == "forbidden", (event, error)
        assert error["message"]
    # Nothing in a payload can claim a role.
    error = await ada.error_of("poll_launch", {"poll_id": draft, "role": "host"})
    assert error["code"] == "invalid_payload"

    await settle(*room)
    assert {client.name: len(client.events) for client in room} == seen
    assert await stored(server) == before


# -- drafts ------------------------------------------------------------------------------


async def test_host_prepares_a_draft_alone_and_participants_never_see_drafts(make_member, server):
    host = await make_member("Hana", room=ROOM)
    poll = await create(host, "Where to?", ["Lake", "Mountains"])
    assert poll["state"] == "draft"
    assert poll["results"] is None
    assert poll["question"] == "Where to?"
    assert poll["options"] == [{"id": "o1", "text": "Lake"}, {"id": "o2", "text": "Mountains"}]
    assert poll["kind"] == "single" and poll["anonymous"] is False
    assert poll["voted"] is False and poll["my_choice"] is None
    assert poll["results_shared"] is False

    ada = await make_member("Ada", room=ROOM)
    assert ada.meeting["polls"] == []
    # Drafts made and edited while a participant is there reach hosts only.
    second = await create(host, "Snacks?", ["Chips", "Fruit"])
    edited = await host.call(
        "poll_edit",
        {"poll_id": second["poll_id"], "question": "Snacks, really?", "options": ["A", "B", "C"]},
    )
    assert edited["poll"]["question"] == "Snacks, really?"
    assert [o["text"] for o in edited["poll"]["options"]] == ["A", "B", "C"]
    await host.call("poll_delete", {"poll_id": poll["poll_id"]})
    await barrier(host, ada)
    assert host.last("poll_deleted") == {"poll_id": poll["poll_id"]}
    assert latest(host, second["poll_id"])["question"] == "Snacks, really?"
    assert not ada.of("poll_changed")
    assert not ada.of("poll_deleted")

    late = await make_member("Late", room=ROOM)
    assert late.meeting["polls"] == []
    # Another host (by host key) does see the draft, as prepared.
    other_host = await make_member("Otto", room=ROOM, host_key=host.meeting["host_key"])
    assert other_host.meeting["role"] == "host"
    assert [p["poll_id"] for p in other_host.meeting["polls"]] == [second["poll_id"]]
    assert other_host.meeting["polls"][0]["state"] == "draft"


async def test_only_drafts_can_be_edited_or_deleted(room):
    host, ada, _bob, _cy = room
    running = await open_poll(host)
    error = await host.error_of(
        "poll_edit", {"poll_id": running, "question": "Changed?", "options": ["a", "b"]}
    )
    assert error["code"] == "invalid_action"
    assert (await host.error_of("poll_delete", {"poll_id": running}))["code"] == "invalid_action"
    await barrier(ada)
    assert latest(ada, running)["question"] == "Lunch?"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"question": "One?", "options": ["only"]}, "invalid_action"),
        ({"question": "Many?", "options": [f"choice {i}" for i in range(21)]}, "invalid_action"),
        ({"question": "Twice?", "options": ["same", "same"]}, "invalid_action"),
        ({"question": "Blank?", "options": ["a", "   "]}, "invalid_action"),
        ({"question": "", "options": ["a", "b"]}, "invalid_action"),
        ({"question": "q" * 501, "options": ["a", "b"]}, "invalid_action"),
        ({"question": "Long?", "options": ["a", "o" * 201]}, "invalid_action"),
        ({"question": "Quiz?", "options": ["a", "b"], "kind": "quiz"}, "invalid_action"),
        (
            {
                "question": "Secret quiz?",
                "options": ["a", "b"],
                "kind": "quiz",
                "anonymous": True,
                "correct_option_ids": ["o1"],
            },
            "invalid_action",
        ),
        (
            {"question": "Right?", "options": ["a", "b"], "correct_option_ids": ["o1"]},
            "invalid_action",
        ),
        (
            {
                "question": "Which?",
                "options": ["a", "b"],
                "kind": "quiz",
                "correct_option_ids": ["o3"],
            },
            "invalid_action",
        ),
        ({"question": "Ranked?", "options": ["a", "b"], "kind": "ranked"}, "invalid_payload"),
        ({"question": "Types?", "options": "a,b"}, "invalid_payload"),
        ({"question": 7, "options": ["a", "b"]}, "invalid_payload"),
        ({"options": ["a", "b"]}, "invalid_payload"),
        ({"question": "Anon?", "options": ["a", "b"], "anonymous": "yes"}, "invalid_payload"),
    ],
)
async def test_bad_polls_are_refused(room, server, payload, code):
    host, _ada, _bob, _cy = room
    error = await host.error_of("poll_create", payload)
    assert error["code"] == code
    await barrier(*room)
    assert all(not client.of("poll_changed") for client in room)
    assert (await stored(server))["polls"]["polls"] == []


async def test_the_limits_themselves_are_allowed(room):
    host = room[0]
    poll = await create(host, "q" * 500, [f"choice {i}" for i in range(19)] + ["o" * 200])
    assert len(poll["options"]) == 20
    assert poll["options"][-1] == {"id": "o20", "text": "o" * 200}


# -- launching and live results ------------------------------------------------------------


async def test_launch_shows_the_poll_to_everyone_without_results(room, make_member):
    host, ada, bob, cy = room
    poll_id = (await create(host))["poll_id"]
    await barrier(*room)
    assert all(not changes(p, poll_id) for p in (ada, bob, cy))

    assert await host.call("poll_launch", {"poll_id": poll_id}) == {"ok": True}
    await barrier(*room)
    for participant in (ada, bob, cy):
        seen = changes(participant, poll_id)
        assert len(seen) == 1, participant.name
        assert seen[0]["state"] == "open"
        assert seen[0]["results"] is None
        assert seen[0]["question"] == "Lunch?"
        assert [o["text"] for o in seen[0]["options"]] == LUNCH
        assert "correct_option_ids" not in seen[0]
    hosts_view = latest(host, poll_id)
    assert hosts_view["state"] == "open"
    assert hosts_view["results"]["voters"] == 0
    assert counts(hosts_view["results"]) == {"o1": 0, "o2": 0, "o3": 0}

    late = await make_member("Late", room=ROOM)
    (seen,) = late.meeting["polls"]
    assert seen["poll_id"] == poll_id and seen["state"] == "open"
    assert seen["results"] is None and seen["voted"] is False and seen["my_choice"] is None

    # Launching twice makes no sense.
    assert (await host.error_of("poll_launch", {"poll_id": poll_id}))["code"] == "invalid_action"


async def test_the_host_sees_live_results_and_participants_do_not(room):
    host, ada, bob, cy = room
    poll_id = await open_poll(host)
    mine = await vote(ada, poll_id, "o1")
    assert mine["voted"] is True and mine["my_choice"] == ["o1"]
    assert mine["results"] is None
    await vote(bob, poll_id, "o2")
    results = await live_results(host, poll_id, 2, {"o1": 1, "o2": 1, "o3": 0})
    await vote(cy, poll_id, "o1")
    results = await live_results(host, poll_id, 3, {"o1": 2, "o2": 1, "o3": 0})
    assert [row["percent"] for row in results["options"]] == [66.7, 33.3, 0.0]
    assert [row["text"] for row in results["options"]] == LUNCH
    assert "scores" not in results
    for participant in (ada, bob, cy):
        assert all(poll["results"] is None for poll in changes(participant, poll_id))


# -- voting rules --------------------------------------------------------------------------


async def test_single_choice_takes_exactly_one_option(room, server):
    host, ada, bob, _cy = room
    poll_id = await open_poll(host)
    await vote(bob, poll_id, "o3")
    for option_ids in (["o1", "o2"], [], ["o1", "o1"]):
        error = await ada.error_of("poll_vote", {"poll_id": poll_id, "option_ids": option_ids})
        assert error["code"] == "invalid_action", option_ids
    await live_results(host, poll_id, 1, {"o1": 0, "o2": 0, "o3": 1})
    assert (await stored_poll(server, poll_id))["ballots"] == {bob.participant_id: ["o3"]}


async def test_multiple_choice_takes_one_or_more_distinct_options(room):
    host, ada, bob, cy = room
    poll_id = await open_poll(host, "Which days?", kind="multiple")
    mine = await vote(ada, poll_id, "o3", "o1")
    assert mine["my_choice"] == ["o1", "o3"]  # in option order
    await vote(bob, poll_id, "o1")
    for option_ids in ([], ["o2", "o2"]):
        error = await cy.error_of("poll_vote", {"poll_id": poll_id, "option_ids": option_ids})
        assert error["code"] == "invalid_action", option_ids
    results = await live_results(host, poll_id, 2, {"o1": 2, "o2": 0, "o3": 1})
    # percent is the share of voters: 100 + 50 here.
    assert [row["percent"] for row in results["options"]] == [100.0, 0.0, 50.0]


async def test_quiz_with_one_answer_scores_for_hosts_and_reveals_after_close(room):
    host, ada, bob, cy = room
    created = await create(
        host,
        "Capital of Australia?",
        ["Sydney", "Canberra", "Melbourne"],
        kind="quiz",
        correct_option_ids=["o2"],
    )
    assert created["correct_option_ids"] == ["o2"]  # the host sees the answer
    poll_id = created["poll_id"]
    await host.call("poll_launch", {"poll_id": poll_id})
    await barrier(ada)
    assert "correct_option_ids" not in latest(ada, poll_id)

    ada_view = await vote(ada, poll_id, "o2")
    assert "correct_option_ids" not in ada_view
    await vote(bob, poll_id, "o1")
    error = await cy.error_of("poll_vote", {"poll_id": poll_id, "option_ids": ["o1", "o2"]})
    assert error["code"] == "invalid_action"

    results = await live_results(host, poll_id, 2, {"o1": 1, "o2": 1, "o3": 0})
    assert results["scores"] == {ada.participant_id: 1, bob.participant_id: 0}
    assert all("correct" not in row for row in results["options"])  # not revealed yet

    await host.call("poll_close", {"poll_id": poll_id})
    await barrier(*room)
    for participant in (ada, bob, cy):
        closed = latest(participant, poll_id)
        assert closed["state"] == "closed"
        assert closed["correct_option_ids"] == ["o2"], participant.name
        assert closed["results"] is None  # not shared (yet)
    hosts_view = latest(host, poll_id)
    assert [row["correct"] for row in hosts_view["results"]["options"]] == [False, True, False]
    assert hosts_view["results"]["scores"] == {ada.participant_id: 1, bob.participant_id: 0}

    await host.call("poll_share", {"poll_id": poll_id})
    await barrier(*room)
    for participant in (ada, bob, cy):
        shared = latest(participant, poll_id)["results"]
        assert counts(shared) == {"o1": 1, "o2": 1, "o3": 0}
        assert [row["correct"] for row in shared["options"]] == [False, True, False]
        assert "scores" not in shared, participant.name


async def test_quiz_with_several_answers_scores_only_the_exact_set(room):
    host, ada, bob, cy = room
    poll_id = await open_poll(
        host,
        "Which are prime?",
        options=["2", "4", "5", "9"],
        kind="quiz",
        correct_option_ids=["o1", "o3"],
    )
    await vote(ada, poll_id, "o1", "o3")
    await vote(bob, poll_id, "o1")
    await vote(cy, poll_id, "o1", "o3", "o4")
    results = await live_results(host, poll_id, 3, {"o1": 3, "o2": 0, "o3": 2, "o4": 1})
    assert results["scores"] == {
        ada.participant_id: 1,
        bob.participant_id: 0,
        cy.participant_id: 0,
    }


async def test_changing_a_vote_in_a_named_poll_moves_the_count(room, server):
    host, ada, bob, _cy = room
    poll_id = await open_poll(host)
    await vote(ada, poll_id, "o1")
    await vote(bob, poll_id, "o1")
    await live_results(host, poll_id, 2, {"o1": 2, "o2": 0, "o3": 0})
    changed = await vote(ada, poll_id, "o3")
    assert changed["voted"] is True and changed["my_choice"] == ["o3"]
    # The same vote again changes nothing; the tally counts each voter once.
    await vote(bob, poll_id, "o1")
    await live_results(host, poll_id, 2, {"o1": 1, "o2": 0, "o3": 1})
    ballots = (await stored_poll(server, poll_id))["ballots"]
    assert ballots == {ada.participant_id: ["o3"], bob.participant_id: ["o1"]}


async def test_votes_racing_the_close_are_counted_exactly_when_accepted(room, server):
    host, ada, bob, cy = room
    poll_id = await open_poll(host)
    voters = [(ada, "o1"), (bob, "o2"), (cy, "o3"), (host, "o1")]  # hosts vote too

    async def ballot(client: Any, option: str) -> dict[str, Any]:
        payload = {"poll_id": poll_id, "option_ids": [option]}
        return await client.sio.call("poll_vote", payload, timeout=15)

    *acks, closed = await asyncio.gather(
        *(ballot(client, option) for client, option in voters),
        host.call("poll_close", {"poll_id": poll_id}),
    )
    assert closed == {"ok": True}
    accepted = {}
    for (client, option), ack in zip(voters, acks, strict=True):
        if ack["ok"]:
            accepted[client.participant_id] = [option]
        else:
            assert ack["error"]["code"] == "poll_closed", ack
    await settle(host)
    final = latest(host, poll_id)
    assert final["state"] == "closed"
    assert final["results"]["voters"] == len(accepted)
    tally = {"o1": 0, "o2": 0, "o3": 0}
    for (option,) in accepted.values():
        tally[option] += 1
    assert counts(final["results"]) == tally
    assert (await stored_poll(server, poll_id))["ballots"] == accepted


async def test_an_anonymous_poll_refuses_a_second_vote_and_stores_no_link(room, server):
    host, ada, bob, cy = room
    poll_id = await open_poll(host, "Rate the offsite", anonymous=True)
    # Vote in an order that is not the order of the ids.
    voters = sorted((ada, bob, cy), key=lambda c: c.participant_id, reverse=True)
    choices = ["o2", "o1", "o2"]
    for voter, choice in zip(voters, choices, strict=True):
        mine = await vote(voter, poll_id, choice)
        assert mine["voted"] is True
        assert mine["my_choice"] is None  # the server does not know
    for voter, other in ((voters[0], "o3"), (voters[1], "o1")):
        error = await voter.error_of("poll_vote", {"poll_id": poll_id, "option_ids": [other]})
        assert error["code"] == "already_voted"
    await live_results(host, poll_id, 3, {"o1": 1, "o2": 2, "o3": 0})

    ids = sorted(c.participant_id for c in voters)
    poll = await stored_poll(server, poll_id)
    assert poll["voted"] == ids  # sorted: not even the order of voting is kept
    assert poll["counts"] == {"o1": 1, "o2": 2, "o3": 0}
    assert "ballots" not in poll
    without_marks = json.dumps({k: v for k, v in poll.items() if k != "voted"})
    assert not any(pid in without_marks for pid in ids)
    # The JSON the memory store holds says no more than that.
    raw = json.loads(server.service.store._data[ROOM])
    (raw_poll,) = [p for p in raw["polls"]["polls"] if p["id"] == poll_id]
    assert raw_poll == poll


# -- refused votes -----------------------------------------------------------------------


async def test_refused_votes_do_not_move_the_tally(room, server):
    host, ada, bob, _cy = room
    draft = (await create(host, "Not yet?"))["poll_id"]
    poll_id = await open_poll(host)
    await vote(ada, poll_id, "o1")
    await live_results(host, poll_id, 1, {"o1": 1, "o2": 0, "o3": 0})

    refused = [
        (bob, {"poll_id": poll_id, "option_ids": ["o9"]}, "unknown_option"),
        (bob, {"poll_id": poll_id, "option_ids": ["o2", "o9"]}, "unknown_option"),
        (ada, {"poll_id": poll_id, "option_ids": ["o4"]}, "unknown_option"),
        (bob, {"poll_id": draft, "option_ids": ["o1"]}, "poll_not_open"),
        (bob, {"poll_id": "p999", "option_ids": ["o1"]}, "unknown_poll"),
        (bob, {"poll_id": poll_id, "option_ids": "o1"}, "invalid_payload"),
        (bob, {"poll_id": poll_id, "option_ids": [1]}, "invalid_payload"),
        (bob, {"option_ids": ["o1"]}, "invalid_payload"),
    ]
    for client, payload, code in refused:
        assert (await client.error_of("poll_vote", payload))["code"] == code, payload
    await live_results(host, poll_id, 1, {"o1": 1, "o2": 0, "o3": 0})
    assert (await stored_poll(server, poll_id))["ballots"] == {ada.participant_id: ["o1"]}
    assert (await stored_poll(server, draft))["ballots"] == {}

    await host.call("poll_close", {"poll_id": poll_id})
    assert await host.call("poll_close", {"poll_id": poll_id}) == {"ok": True}  # harmless
    for client, option in ((bob, "o2"), (ada, "o3"), (ada, "o1")):
        error = await client.error_of("poll_vote", {"poll_id": poll_id, "option_ids": [option]})
        assert error["code"] == "poll_closed"
    assert (await host.error_of("poll_launch", {"poll_id": poll_id}))["code"] == "poll_closed"
    await settle(*room)
    final = latest(host, poll_id)
    assert final["state"] == "closed"
    assert final["results"]["voters"] == 1
    assert counts(final["results"]) == {"o1": 1, "o2": 0, "o3": 0}
    assert (await stored_poll(server, poll_id))["ballots"] == {ada.participant_id: ["o1"]}

    # Managing an unknown poll is unknown_poll too.
    for event in ("poll_launch", "poll_close", "poll_share", "poll_delete"):
        assert (await host.error_of(event, {"poll_id": "p999"}))["code"] == "unknown_poll"


async def test_a_socket_that_has_not_joined_cannot_vote(room, make_member, server):
    host, _ada, _bob, cy = room
    poll_id = await open_poll(host)
    outsider = await make_member("Outsider")
    with pytest.raises(ProtocolError) as refused:
        await outsider.call("poll_vote", {"poll_id": poll_id, "option_ids": ["o1"]})
    assert refused.value.code == "not_joined"
    # Someone who left has not joined any more either.
    await cy.call("leave")
    error = await cy.error_of("poll_vote", {"poll_id": poll_id, "option_ids": ["o1"]})
    assert error["code"] == "not_joined"
    await settle(host)
    assert latest(host, poll_id)["results"]["voters"] == 0
    assert (await stored_poll(server, poll_id))["ballots"] == {}


async def test_a_person_in_the_lobby_cannot_vote_or_manage(room, make_member, server):
    host, _ada, _bob, _cy = room
    poll_id = await open_poll(host)
    settings = await host.call("configure_meeting", {"lobby_enabled": True})
    assert settings["lobby_enabled"] is True
    waiting = await make_member("Waiting")
    ack = await waiting.join(ROOM)
    assert ack["waiting"] is True
    for event, payload in (
        ("poll_vote", {"poll_id": poll_id, "option_ids": ["o1"]}),
        ("poll_create", {"question": "Me?", "options": ["a", "b"]}),
        ("poll_export", {"format": "json"}),
    ):
        assert (await waiting.error_of(event, payload))["code"] == "in_lobby", event
    # Nor does a waiting person receive the meeting's polls.
    draft = (await create(host, "Draft while waiting?"))["poll_id"]
    await host.call("poll_share", {"poll_id": poll_id})
    await settle(host, waiting)
    assert not waiting.of("poll_changed")
    assert latest(host, poll_id)["results"]["voters"] == 0
    assert (await stored_poll(server, poll_id))["ballots"] == {}

    # Once admitted they see the open poll (no drafts) and may vote.
    await host.call("admit", {"lobby_id": ack["lobby_id"]})
    admitted = await waiting.wait_event("lobby_admitted")
    assert [p["poll_id"] for p in admitted["meeting"]["polls"]] == [poll_id]
    assert draft not in [p["poll_id"] for p in admitted["meeting"]["polls"]]
    await vote(waiting, poll_id, "o2")
    await live_results(host, poll_id, 1, {"o1": 0, "o2": 1, "o3": 0})


async def test_polls_of_one_room_are_not_seen_or_voted_in_another(room, make_member, server):
    host, ada, _bob, _cy = room
    poll_id = await open_poll(host)
    other_host = await make_member("Otto", room="other-room")
    other = await make_member("Olga", room="other-room")
    assert other.meeting["polls"] == []
    # The same poll id names nothing in the other room.
    error = await other.error_of("poll_vote", {"poll_id": poll_id, "option_ids": ["o1"]})
    assert error["code"] == "unknown_poll"
    # Its own poll gets the same id, and votes stay in their room.
    other_poll = await open_poll(other_host, "Other room?")
    assert other_poll == poll_id
    await vote(other, other_poll, "o3")
    await vote(ada, poll_id, "o1")
    await live_results(host, poll_id, 1, {"o1": 1, "o2": 0, "o3": 0})
    await live_results(other_host, other_poll, 1, {"o1": 0, "o2": 0, "o3": 1})
    await barrier(*room)
    assert all(p["question"] == "Lunch?" for c in room for p in changes(c, poll_id))
    assert (await stored_poll(server, poll_id))["ballots"] == {ada.participant_id: ["o1"]}


# -- sharing ------------------------------------------------------------------------------


async def test_shared_results_reach_everyone_live_and_final(room, make_member):
    host, ada, bob, cy = room
    poll_id = await open_poll(host)
    await vote(ada, poll_id, "o1")
    await vote(bob, poll_id, "o1")
    await live_results(host, poll_id, 2, {"o1": 2, "o2": 0, "o3": 0})
    assert await host.call("poll_share", {"poll_id": poll_id}) == {"ok": True}
    await barrier(*room)
    for client in room:
        shared = latest(client, poll_id)
        assert shared["results_shared"] is True, client.name
        assert shared["results"]["voters"] == 2, client.name
        assert counts(shared["results"]) == {"o1": 2, "o2": 0, "o3": 0}
        assert [row["percent"] for row in shared["results"]["options"]] == [100.0, 0.0, 0.0]

    # While open, shared results stay live for everyone.
    await vote(cy, poll_id, "o3")
    for client in room:
        await client.wait_event(
            "poll_changed",
            lambda d: (
                d["poll"]["poll_id"] == poll_id and (d["poll"]["results"] or {}).get("voters") == 3
            ),
        )
    await host.call("poll_close", {"poll_id": poll_id})
    await settle(*room)
    for client in room:
        final = latest(client, poll_id)
        assert final["state"] == "closed"
        assert counts(final["results"]) == {"o1": 2, "o2": 0, "o3": 1}, client.name

    late = await make_member("Late", room=ROOM)
    (seen,) = late.meeting["polls"]
    assert seen["results_shared"] is True and seen["state"] == "closed"
    assert counts(seen["results"]) == {"o1": 2, "o2": 0, "o3": 1}


async def test_a_drafts_results_cannot_be_shared(room):
    host, ada, _bob, _cy = room
    draft = (await create(host))["poll_id"]
    assert (await host.error_of("poll_share", {"poll_id": draft}))["code"] == "invalid_action"
    assert (await host.error_of("poll_close", {"poll_id": draft}))["code"] == "invalid_action"
    await barrier(ada)
    assert not ada.of("poll_changed")


async def test_a_participants_poll_changed_keeps_their_own_vote(room):
    host, ada, bob, _cy = room
    named = await open_poll(host, "Named?")
    secret = await open_poll(host, "Secret?", anonymous=True)
    await vote(ada, named, "o2")
    await vote(ada, secret, "o1")
    for poll_id in (named, secret):
        await host.call("poll_share", {"poll_id": poll_id})
        await host.call("poll_close", {"poll_id": poll_id})
    await settle(*room)
    named_view, secret_view = latest(ada, named), latest(ada, secret)
    assert named_view["voted"] is True and named_view["my_choice"] == ["o2"]
    assert secret_view["voted"] is True and secret_view["my_choice"] is None
    # Someone who did not vote is told so.
    assert latest(bob, named)["voted"] is False


# -- export ------------------------------------------------------------------------------


async def test_export_json_and_csv_of_results_and_ballots(room):
    host, ada, bob, cy = room
    await create(host, "Only a draft?")  # drafts are not exported
    named = await open_poll(host, "Lunch?")
    secret = await open_poll(host, "Mood?", options=["Good", "Bad"], anonymous=True)
    multi = await open_poll(host, "Drinks?", options=["Tea", "Coffee", "Water"], kind="multiple")
    await vote(ada, named, "o1")
    await vote(bob, named, "o3")
    await vote(cy, named, "o1")
    await vote(ada, secret, "o1")
    await vote(bob, secret, "o2")
    await vote(ada, multi, "o1", "o3")
    await host.call("poll_close", {"poll_id": named})

    exported = await host.call("poll_export", {"format": "json"})
    assert exported["filename"].endswith(".json")
    assert exported["content_type"].startswith("application/json")
    data = json.loads(exported["content"])
    by_id = {entry["results"]["poll_id"]: entry for entry in data["polls"]}
    assert set(by_id) == {named, secret, multi}
    named_results = by_id[named]["results"]
    assert named_results["question"] == "Lunch?" and named_results["voters"] == 3
    assert counts(named_results) == {"o1": 2, "o2": 0, "o3": 1}
    assert named_results["state"] == "closed"
    assert by_id[secret]["results"]["voters"] == 2
    assert counts(by_id[secret]["results"]) == {"o1": 1, "o2": 1}
    assert counts(by_id[multi]["results"]) == {"o1": 1, "o2": 0, "o3": 1}
    # Nothing in the anonymous poll's export names a voter.
    voters = [ada.participant_id, bob.participant_id, cy.participant_id]
    assert not any(pid in json.dumps(by_id[secret]) for pid in voters)

    results_csv = await host.call("poll_export", {"format": "csv"})
    assert results_csv["filename"].endswith(".csv")
    assert results_csv["content_type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(results_csv["content"])))
    assert [(row["poll_id"], row["option_id"]) for row in rows] == [
        (named, "o1"),
        (named, "o2"),
        (named, "o3"),
        (secret, "o1"),
        (secret, "o2"),
        (multi, "o1"),
        (multi, "o2"),
        (multi, "o3"),
    ]
    table = {(row["poll_id"], row["option_id"]): row for row in rows}
    assert table[(named, "o1")]["option"] == "Pizza"
    assert table[(named, "o1")]["question"] == "Lunch?"
    assert [table[(named, o)]["votes"] for o in ("o1", "o2", "o3")] == ["2", "0", "1"]
    assert table[(named, "o1")]["voters"] == "3"
    assert float(table[(named, "o1")]["percent"]) == 66.7
    assert [table[(secret, o)]["votes"] for o in ("o1", "o2")] == ["1", "1"]
    assert table[(secret, "o1")]["anonymous"] == "yes"
    assert table[(named, "o1")]["anonymous"] == "no"
    assert not any(pid in results_csv["content"] for pid in voters)

    ballots_csv = await host.call("poll_export", {"format": "csv", "ballots": True})
    assert ballots_csv["filename"].endswith(".csv")
    assert ballots_csv["filename"] != results_csv["filename"]
    rows = list(csv.DictReader(io.StringIO(ballots_csv["content"])))
    assert all(row["poll_id"] != secret for row in rows)  # anonymous: no ballots
    ballots = {(row["poll_id"], row["name"]): row for row in rows}
    assert set(ballots) == {(named, "Ada"), (named, "Bob"), (named, "Cy"), (multi, "Ada")}
    assert ballots[(named, "Ada")]["voter_id"] == ada.participant_id
    assert ballots[(named, "Ada")]["option_ids"] == "o1"
    assert ballots[(named, "Ada")]["options"] == "Pizza"
    assert ballots[(named, "Bob")]["options"] == "Soup"
    assert ballots[(multi, "Ada")]["option_ids"].split(";") == ["o1", "o3"]
    assert ballots[(multi, "Ada")]["options"].split(";") == ["Tea", "Water"]


# -- co-hosts ----------------------------------------------------------------------------


async def test_a_promoted_co_host_manages_polls_and_gets_drafts(room):
    host, ada, bob, _cy = room
    draft = await create(host, "Quiz draft", ["yes", "no"], kind="quiz", correct_option_ids=["o1"])
    running = await open_poll(host, "Running?")
    await vote(bob, running, "o2")
    await barrier(ada)
    assert (await ada.error_of("poll_launch", {"poll_id": draft["poll_id"]}))["code"] == (
        "forbidden"
    )

    await host.call("set_role", {"participant_id": ada.participant_id, "role": "co_host"})
    state = await ada.wait_event("meeting_state")
    meeting = state["meeting"]
    assert meeting["role"] == "co_host"
    polls = {p["poll_id"]: p for p in meeting["polls"]}
    assert polls[draft["poll_id"]]["state"] == "draft"
    assert polls[draft["poll_id"]]["correct_option_ids"] == ["o1"]
    assert polls[running]["results"]["voters"] == 1  # live results for co-hosts

    # The co-host runs polls now: create, edit, launch, see live results, close,
    # share, export.
    made = await create(ada, "Co-host's poll", ["a", "b"])
    await ada.call(
        "poll_edit", {"poll_id": made["poll_id"], "question": "Edited", "options": ["a", "b"]}
    )
    await barrier(host, bob)
    assert latest(host, made["poll_id"])["question"] == "Edited"
    assert not changes(bob, made["poll_id"])
    await ada.call("poll_launch", {"poll_id": made["poll_id"]})
    await vote(bob, made["poll_id"], "o2")
    await live_results(ada, made["poll_id"], 1, {"o1": 0, "o2": 1})
    await ada.call("poll_close", {"poll_id": made["poll_id"]})
    await ada.call("poll_share", {"poll_id": made["poll_id"]})
    exported = json.loads((await ada.call("poll_export", {"format": "json"}))["content"])
    assert {entry["results"]["poll_id"] for entry in exported["polls"]} == {
        running,
        made["poll_id"],
    }
    # New drafts by the host reach the co-host, not participants.
    another = await create(host, "Another draft?")
    await barrier(ada, bob)
    assert latest(ada, another["poll_id"])["state"] == "draft"
    assert not changes(bob, another["poll_id"])

    # Taken away again: back to a participant's view and rights.
    await host.call("set_role", {"participant_id": ada.participant_id, "role": "participant"})
    state = await ada.wait_event("meeting_state", lambda d: d["meeting"]["role"] == "participant")
    assert all(p["state"] != "draft" for p in state["meeting"]["polls"])
    assert all(p["results"] is None for p in state["meeting"]["polls"] if not p["results_shared"])
    assert (await ada.error_of("poll_launch", {"poll_id": another["poll_id"]}))["code"] == (
        "forbidden"
    )
    # ... and no more drafts or live results reach the former co-host.
    latest_draft = await create(host, "After the demotion?")
    running_now = await open_poll(host, "Open after the demotion?")
    await vote(bob, running_now, "o1")
    await settle(ada)
    assert not changes(ada, latest_draft["poll_id"])
    assert all(p["results"] is None for p in changes(ada, running_now))


async def test_every_viewer_is_told_how_many_options_a_vote_takes(make_member):
    host = await make_member("Hana", room="choose")
    voter = await make_member("Vic", room="choose")
    kinds = [
        ({"kind": "single"}, "one"),
        ({"kind": "multiple"}, "several"),
        ({"kind": "quiz", "correct_option_ids": ["o2"]}, "one"),
        ({"kind": "quiz", "correct_option_ids": ["o1", "o2"]}, "several"),
    ]
    for extra, expected in kinds:
        ack = await host.call("poll_create", {"question": "Q?", "options": ["a", "b"], **extra})
        poll_id = ack["poll"]["poll_id"]
        assert ack["poll"]["choose"] == expected
        await host.call("poll_launch", {"poll_id": poll_id})
        seen = await voter.wait_event(
            "poll_changed", lambda d, p=poll_id: d["poll"]["poll_id"] == p
        )
        assert seen["poll"]["choose"] == expected
        assert "correct_option_ids" not in seen["poll"]
