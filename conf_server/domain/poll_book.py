"""All polls of one meeting, prepared (as drafts) before or during it.

The book does not check roles: the caller checks ``manage_polls`` (create, edit,
delete, launch, close, share) and ``vote`` with
:mod:`conf_server.domain.permissions` before calling in. Several polls may be open
at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import poll_export
from .errors import InvalidAction, UnknownPoll
from .polls import Poll, PollKind, PollSpec, PollState

#: Most polls one meeting may hold (drafts included), so the state stays bounded.
MAX_POLLS = 200


class PollBook:
    """The polls of one meeting, in creation order, with ids ``p1``, ``p2``, ..."""

    def __init__(self, max_polls: int = MAX_POLLS) -> None:
        self.max_polls = max_polls
        self._polls: dict[str, Poll] = {}
        self._next_number = 1

    def create(self, spec: PollSpec) -> Poll:
        """Add a draft poll (see :class:`~conf_server.domain.polls.Poll` for the rules)."""
        if len(self._polls) >= self.max_polls:
            raise InvalidAction(f"a meeting holds at most {self.max_polls} polls")
        poll = Poll(f"p{self._next_number}", spec)
        self._next_number += 1
        self._polls[poll.id] = poll
        return poll

    def get(self, poll_id: str) -> Poll:
        """The poll with ``poll_id``, or :class:`UnknownPoll`."""
        poll = self._polls.get(poll_id)
        if poll is None:
            raise UnknownPoll(f"no poll {poll_id!r} in this meeting")
        return poll

    def edit(self, poll_id: str, spec: PollSpec) -> Poll:
        """Replace a draft's content."""
        poll = self.get(poll_id)
        poll.edit(spec)
        return poll

    def delete(self, poll_id: str) -> None:
        """Delete a draft. Launched polls stay, so their results are never lost."""
        if self.get(poll_id).state is not PollState.DRAFT:
            raise InvalidAction("only a draft poll can be deleted")
        del self._polls[poll_id]

    def launch(self, poll_id: str, now: float) -> Poll:
        """Open a draft for votes."""
        poll = self.get(poll_id)
        poll.launch(now)
        return poll

    def close(self, poll_id: str, now: float) -> Poll:
        """Stop a poll taking votes (closing twice is harmless)."""
        poll = self.get(poll_id)
        poll.close(now)
        return poll

    def close_all(self, now: float) -> list[Poll]:
        """Close every open poll (when the meeting ends); returns those closed."""
        closed = [p for p in self._polls.values() if p.state is PollState.OPEN]
        for poll in closed:
            poll.close(now)
        return closed

    def share_results(self, poll_id: str) -> Poll:
        """Show a poll's aggregate results to everyone."""
        poll = self.get(poll_id)
        poll.share_results()
        return poll

    def vote(self, poll_id: str, voter_id: str, option_ids: Sequence[str], is_member: bool) -> Poll:
        """Record a vote (see :meth:`Poll.vote`)."""
        poll = self.get(poll_id)
        poll.vote(voter_id, option_ids, is_member)
        return poll

    def polls(self, state: PollState | None = None) -> list[Poll]:
        """Polls in creation order, all or only those in ``state``."""
        return [p for p in self._polls.values() if state is None or p.state is state]

    def quiz_scores(self) -> dict[str, int]:
        """Points per person over every launched quiz (1 per right answer), sorted by id."""
        totals: dict[str, int] = {}
        for poll in self._polls.values():
            if poll.kind is PollKind.QUIZ and poll.state is not PollState.DRAFT:
                for voter, score in poll.scores().items():
                    totals[voter] = totals.get(voter, 0) + score
        return dict(sorted(totals.items()))

    def results_csv(self) -> str:
        """Aggregate results of every launched poll as CSV text."""
        return poll_export.results_csv(self._launched())

    def ballots_csv(self, names: Mapping[str, str] | None = None) -> str:
        """Per-voter choices of every launched named poll as CSV text."""
        return poll_export.ballots_csv(self._launched(), names)

    def export(self) -> dict[str, Any]:
        """Every launched poll's export (see :func:`poll_export.export`), JSON-able."""
        return {
            "polls": [poll_export.export(p) for p in self._launched()],
            "quiz_scores": self.quiz_scores(),
        }

    def _launched(self) -> list[Poll]:
        return [p for p in self._polls.values() if p.state is not PollState.DRAFT]

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state."""
        return {
            "max_polls": self.max_polls,
            "next_number": self._next_number,
            "polls": [p.to_dict() for p in self._polls.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PollBook:
        """Rebuild from :meth:`to_dict` output."""
        book = cls(int(data["max_polls"]))
        book._next_number = int(data["next_number"])
        for item in data["polls"]:
            poll = Poll.from_dict(item)
            book._polls[poll.id] = poll
        return book
