"""200 people vote at once over real Socket.IO: each valid voter counts exactly once.

Every voter is its own SignalingClient (its own Socket.IO connection). They vote
all at the same time; some vote twice, some change their mind, a few name an
option the poll does not have. The host's live results and the closed poll's
shared results must both count every voter with a valid vote exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from meeting_client import ProtocolError

from conf_server import Settings

VOTERS = 200
ROOM = "town-hall"
OPTIONS = ["Monday", "Tuesday", "Wednesday", "Thursday"]
OPTION_IDS = ["o1", "o2", "o3", "o4"]
#: Seconds to wait for what the crowd causes: a bound for a hang, not a speed
#: (server and 201 clients share this process; a loaded machine is slow).
WAIT = 30


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The default room holds 100 people; this meeting has 200 voters and a host.
    return Settings(
        data_dir=tmp_path / "data",
        ice_addresses=("127.0.0.1",),
        reconnect_grace_seconds=2.0,
        max_participants_per_room=VOTERS + 10,
    )


def ballot_plan(index: int) -> list[list[str]]:
    """What voter ``index`` sends, in order (each entry one ``poll_vote``)."""
    first = OPTION_IDS[index % 4]
    other = OPTION_IDS[(index + 1) % 4]
    if index % 20 == 7:
        return [["o9"]]  # only an unknown option: not a valid voter
    if index % 20 == 13:
        return [["o9"], [first]]  # a wrong option first, then a valid vote
    if index % 10 == 3:
        return [[first], [first]]  # votes twice for the same option
    if index % 10 == 5:
        return [[first], [other]]  # changes their mind
    if index % 10 == 9:
        return [[first], [other], [first]]  # changes it back
    return [[first]]


def expected_tally() -> tuple[int, dict[str, int]]:
    final: dict[int, str] = {}
    for index in range(VOTERS):
        valid = [choice for choice in ballot_plan(index) if choice[0] in OPTION_IDS]
        if valid:
            final[index] = valid[-1][0]
    counts = Counter(final.values())
    return len(final), {option: counts.get(option, 0) for option in OPTION_IDS}


def counts_of(results: dict[str, Any]) -> dict[str, int]:
    return {row["id"]: row["votes"] for row in results["options"]}


async def send_plan(voter: Any, poll_id: str, plan: list[list[str]]) -> list[dict[str, Any]]:
    """Send every vote of one voter without waiting for acknowledgements in between."""
    return await asyncio.gather(
        *(
            voter.sio.call("poll_vote", {"poll_id": poll_id, "option_ids": choice}, timeout=WAIT)
            for choice in plan
        )
    )


async def test_200_concurrent_voters_are_counted_exactly_once(server, make_member):
    started = time.monotonic()
    host = await make_member("Host", room=ROOM)
    gate = asyncio.Semaphore(20)

    async def join(index: int) -> Any:
        async with gate:
            return await make_member(f"Voter {index:03d}", room=ROOM)

    voters = await asyncio.gather(*(join(index) for index in range(VOTERS)))
    assert len({voter.participant_id for voter in voters}) == VOTERS
    assert all(voter.meeting["role"] == "participant" for voter in voters)
    await host.wait_for(lambda: len(host.participants) == VOTERS + 1, timeout=WAIT)
    joined = time.monotonic()

    created = await host.call(
        "poll_create", {"question": "Which day for the offsite?", "options": OPTIONS}
    )
    poll_id = created["poll"]["poll_id"]
    await host.call("poll_launch", {"poll_id": poll_id})
    await asyncio.gather(
        *(
            voter.wait_event(
                "poll_changed",
                lambda d: d["poll"]["poll_id"] == poll_id and d["poll"]["state"] == "open",
                timeout=WAIT,
            )
            for voter in voters
        )
    )

    plans = [ballot_plan(index) for index in range(VOTERS)]
    acks = await asyncio.gather(
        *(send_plan(voter, poll_id, plan) for voter, plan in zip(voters, plans, strict=True))
    )
    voted = time.monotonic()

    # Every acknowledgement says what the protocol promises for that vote.
    for voter, plan, answers in zip(voters, plans, acks, strict=True):
        for choice, ack in zip(plan, answers, strict=True):
            if choice[0] in OPTION_IDS:
                assert ack["ok"] is True, (voter.name, choice, ack)
                assert ack["poll"]["voted"] is True
                assert ack["poll"]["my_choice"] == choice
            else:
                assert ack == {"ok": False, "error": ack["error"]}
                assert ack["error"]["code"] == "unknown_option", (voter.name, ack)

    unique_voters, counts = expected_tally()
    assert unique_voters == VOTERS - VOTERS // 20  # 10 voted only for an unknown option
    assert sum(counts.values()) == unique_voters

    def settled(data: dict[str, Any]) -> bool:
        results = data["poll"]["results"]
        return (
            data["poll"]["poll_id"] == poll_id
            and results is not None
            and results["voters"] == unique_voters
            and counts_of(results) == counts
        )

    # The host's live results (coalesced) settle on the exact tally ...
    await host.wait_event("poll_changed", settled, timeout=WAIT)
    await asyncio.sleep(0.6)  # ... and no later (coalesced) update moves it again
    live = host.last("poll_changed")["poll"]
    assert settled({"poll": live}), live["results"]

    await host.call("poll_close", {"poll_id": poll_id})
    await host.call("poll_share", {"poll_id": poll_id})
    final = await host.wait_event(
        "poll_changed",
        lambda d: d["poll"]["state"] == "closed" and d["poll"]["results_shared"],
        timeout=WAIT,
    )
    assert settled(final), final["poll"]["results"]
    for row in final["poll"]["results"]["options"]:
        assert row["percent"] == round(100.0 * row["votes"] / unique_voters, 1)

    # Every voter sees the same shared final results.
    shared = await asyncio.gather(
        *(
            voter.wait_event(
                "poll_changed",
                lambda d: d["poll"]["results_shared"] and d["poll"]["state"] == "closed",
                timeout=WAIT,
            )
            for voter in voters
        )
    )
    for data in shared:
        assert settled(data), data["poll"]["results"]

    # The stored poll holds one ballot per valid voter, with their last choice.
    state = await server.service.store.get(ROOM)
    stored = next(p for p in state.to_dict()["polls"]["polls"] if p["id"] == poll_id)
    by_id = {voter.participant_id: index for index, voter in enumerate(voters)}
    assert len(stored["ballots"]) == unique_voters
    for participant_id, ballot in stored["ballots"].items():
        plan = plans[by_id[participant_id]]
        assert ballot == [choice for choice in plan if choice[0] in OPTION_IDS][-1]

    # A vote after the close is refused and moves nothing.
    with pytest.raises(ProtocolError) as refused:
        await voters[0].call("poll_vote", {"poll_id": poll_id, "option_ids": ["o2"]})
    assert refused.value.code == "poll_closed"

    # The same crowd in an anonymous poll: a second vote is refused, the tally
    # still counts each voter once, and the store links nobody to an option.
    created = await host.call(
        "poll_create",
        {"question": "How was the offsite?", "options": OPTIONS, "anonymous": True},
    )
    secret = created["poll"]["poll_id"]
    await host.call("poll_launch", {"poll_id": secret})

    def secret_plan(index: int) -> list[list[str]]:
        choice = [OPTION_IDS[index % 4]]
        if index % 10 == 3:
            return [choice, [OPTION_IDS[(index + 1) % 4]]]  # second vote: already_voted
        if index % 20 == 7:
            return [["o9"], choice]  # unknown_option, then a valid vote
        return [choice]

    secret_acks = await asyncio.gather(
        *(send_plan(voter, secret, secret_plan(index)) for index, voter in enumerate(voters))
    )
    for index, answers in enumerate(secret_acks):
        codes = [None if ack["ok"] else ack["error"]["code"] for ack in answers]
        if index % 10 == 3:
            assert codes == [None, "already_voted"], (index, answers)
        elif index % 20 == 7:
            assert codes == ["unknown_option", None], (index, answers)
        else:
            assert codes == [None], (index, answers)
        valid = next(ack for ack in answers if ack["ok"])
        assert valid["poll"]["voted"] is True and valid["poll"]["my_choice"] is None
    even = {option: VOTERS // 4 for option in OPTION_IDS}

    def secret_settled(data: dict[str, Any]) -> bool:
        results = data["poll"]["results"]
        return (
            data["poll"]["poll_id"] == secret
            and results is not None
            and results["voters"] == VOTERS
            and counts_of(results) == even
        )

    await host.wait_event("poll_changed", secret_settled, timeout=WAIT)
    await host.call("poll_close", {"poll_id": secret})
    await host.call("poll_share", {"poll_id": secret})
    shared = await asyncio.gather(
        *(
            voter.wait_event(
                "poll_changed",
                lambda d: d["poll"]["poll_id"] == secret and d["poll"]["results_shared"],
                timeout=WAIT,
            )
            for voter in voters
        )
    )
    assert all(secret_settled(data) for data in shared)
    state = await server.service.store.get(ROOM)
    stored = next(p for p in state.to_dict()["polls"]["polls"] if p["id"] == secret)
    assert "ballots" not in stored
    assert stored["counts"] == even
    assert stored["voted"] == sorted(voter.participant_id for voter in voters)

    closing = time.monotonic()
    await asyncio.gather(*(voter.close() for voter in voters))
    print(
        f"\n{VOTERS} voters: join {joined - started:.1f} s, vote {voted - joined:.1f} s, "
        f"check and anonymous poll {closing - voted:.1f} s, "
        f"leave {time.monotonic() - closing:.1f} s"
    )
