"""Participation points: everyone's score from a meeting's state.

What counts and how is described in :mod:`conf_server.domain.participation`
(and docs/protocol.md, "Participation points"). :func:`scores` is pure: the
meeting's state and the server time in, the rows out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .participation import CATEGORIES
from .polls import PollKind, PollState

if TYPE_CHECKING:
    from .meeting_state import MeetingState


@dataclass
class _Person:
    participant_id: str
    name: str
    user_id: str | None
    visits: list[tuple[float, float]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))


def _attended_seconds(visits: list[tuple[float, float]]) -> float:
    """The length of the union of the visits (two tabs at once count once)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(visits):
        start = max(start, reach)
        if end > start:
            total += end - start
        reach = max(reach, end)
    return total


def _people(state: MeetingState, now: float) -> tuple[dict[str, _Person], dict[str, str]]:
    """Each identity with its visits (room devices left out), and participant
    id -> identity."""
    people: dict[str, _Person] = {}
    identity_of: dict[str, str] = {}
    for member in state.members.values():  # in join order: the latest visit wins
        if member.mode == "room":
            continue
        identity_of[member.participant_id] = member.identity
        person = people.get(member.identity)
        if person is None:
            person = people[member.identity] = _Person(
                member.participant_id, member.name, member.user_id
            )
        person.participant_id, person.name = member.participant_id, member.name
        person.user_id = member.user_id or person.user_id
        end = member.left_at if member.left_at is not None else now
        person.visits.append((member.joined_at, max(member.joined_at, end)))
    return people, identity_of


def _count_polls(
    state: MeetingState, people: dict[str, _Person], identity_of: dict[str, str]
) -> None:
    for poll in state.polls.polls():
        if poll.anonymous or poll.state is PollState.DRAFT:
            continue  # anonymous polls never award per-person points
        voted = {identity_of[pid] for pid in poll.voters() if pid in identity_of}
        for identity in voted:
            people[identity].counts["votes"] += 1
        if poll.kind is PollKind.QUIZ:
            right = {
                identity_of[pid]
                for pid, score in poll.scores().items()
                if score and pid in identity_of
            }
            for identity in right:
                people[identity].counts["quiz"] += 1


def public_row(row: dict[str, Any], user_id: bool = True) -> dict[str, Any]:
    """A row of :func:`scores` as others may see it: never the identity (a
    browser's id could be replayed), and the chat app's user id only if
    ``user_id``."""
    hidden = {"identity"} if user_id else {"identity", "user_id"}
    return {key: value for key, value in row.items() if key not in hidden}


def scores(state: MeetingState, now: float) -> list[dict[str, Any]]:
    """Every person's points at server time ``now``, best first (ties by name):
    ``[{"rank", "identity", "participant_id", "name", "user_id", "points",
    "breakdown": {category: {"count", "points"}}}]``; equal points share a
    rank. ``participant_id`` is the person's latest visit; ``identity`` is for
    the server only (:func:`public_row` leaves it out)."""
    record = state.participation
    weights = record.weights.to_dict()
    people, identity_of = _people(state, now)
    for identity, person in people.items():
        person.counts["attendance"] = int(_attended_seconds(person.visits) // 60)
        person.counts["called_on"] = record.calls.get(identity, 0)
        chat = record.chat.get(identity)
        person.counts["chat"] = chat.counted if chat else 0
    _count_polls(state, people, identity_of)
    rows: list[dict[str, Any]] = []
    for identity, person in people.items():
        breakdown = {
            category: {"count": count, "points": count * weights[category]}
            for category, count in person.counts.items()
        }
        rows.append(
            {
                "identity": identity,
                "participant_id": person.participant_id,
                "name": person.name,
                "user_id": person.user_id,
                "points": sum(item["points"] for item in breakdown.values()),
                "breakdown": breakdown,
            }
        )
    rows.sort(key=lambda row: (-row["points"], row["name"].casefold(), row["participant_id"]))
    for index, row in enumerate(rows):
        same = index and rows[index - 1]["points"] == row["points"]
        row["rank"] = rows[index - 1]["rank"] if same else index + 1
    return rows
