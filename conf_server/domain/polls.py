"""Polls: single choice, multiple choice and quiz; open or anonymous.

Life cycle: ``draft`` (prepared, also before the meeting starts, editable) ->
``open`` (launched: takes votes) -> ``closed`` (final). Who may create, launch and
close is a permission (``manage_polls``) the caller checks.

Voting rules (:meth:`Poll.vote`), checked in this order, and a refused vote leaves
every count as it was:

1. the poll must be open (:class:`PollNotOpen` for a draft, :class:`PollClosed`);
2. the voter must be a member of the meeting (:class:`NotAMember`);
3. every option id must exist (:class:`UnknownOption`) and appear once;
4. ``single``: exactly one option; ``multiple``: at least one; ``quiz``: exactly one
   when the quiz has one correct option, at least one when it has several
   ("select all that apply").

**Changing a vote.** In an open (named) poll a voter may vote again until the poll
closes: the new ballot replaces the old one and the counts follow.

**Anonymous polls never store who voted for what.** They keep only the aggregate
count per option and the set of voter ids that have voted (the "has voted" mark that
stops double voting). Without the old choice the server cannot take it out of the
counts, so **in an anonymous poll a second vote is refused** with
:class:`AlreadyVoted`; clients should say so before the vote is sent. (The set is
serialised sorted, so not even the order of voting is kept.) One limit no storage
rule can remove: whoever watches the live counts while one person votes sees which
count moved.

**Quiz polls cannot be anonymous.** A per-person score is a function of the person's
choice (with one correct answer out of two, the score *is* the choice), so keeping
scores would break the promise above; the combination is refused with
:class:`InvalidAction`.

A quiz scores 1 point per voter whose set of options equals the correct set, else 0;
:meth:`~conf_server.domain.poll_book.PollBook.quiz_scores` adds them up per person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import (
    AlreadyVoted,
    InvalidAction,
    NotAMember,
    PollClosed,
    PollNotOpen,
    UnknownOption,
)
from .life_cycle import LifeCycle
from .life_cycle import PollState as PollState  # re-exported: callers import it from here
from .text import describe_char, first_forbidden_char, has_visible_char

MAX_QUESTION = 500
MAX_OPTION_TEXT = 200
MIN_OPTIONS = 2
MAX_OPTIONS = 20


class PollKind(StrEnum):
    """What a voter may pick."""

    SINGLE = "single"
    MULTIPLE = "multiple"
    QUIZ = "quiz"


@dataclass(frozen=True, slots=True)
class PollSpec:
    """What a poll asks, as its author wrote it: the content of a new poll or of
    an edit. :class:`Poll` checks it (see there for the rules) and keeps the
    cleaned texts; ``correct_option_ids`` (quiz only) name options by their
    generated ids (``o1`` is the first option)."""

    question: str
    options: Sequence[str]
    kind: PollKind = PollKind.SINGLE
    anonymous: bool = False
    correct_option_ids: Iterable[str] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PollSpec:
        """From a message's or a stored poll's fields (other keys are ignored);
        ``kind`` defaults to single, ``anonymous`` to false, with no correct
        options."""
        try:
            kind = PollKind(data.get("kind", PollKind.SINGLE))
        except ValueError:
            raise InvalidAction("kind must be single, multiple or quiz") from None
        return cls(
            data["question"],
            data["options"],
            kind,
            bool(data.get("anonymous", False)),
            data.get("correct_option_ids", ()),
        )


@dataclass(frozen=True, slots=True)
class PollOption:
    """One answer a voter can pick; ids are ``o1``, ``o2``, ... in the given order."""

    id: str
    text: str


def clean_line(raw: str, what: str, limit: int) -> str:
    """``raw`` as one line (runs of white space made one space), or
    :class:`InvalidAction` when it is not text, empty, longer than ``limit`` or
    holds a forbidden character (polls and questionnaires share this rule)."""
    if not isinstance(raw, str):
        raise InvalidAction(f"{what} must be text")
    text = " ".join(raw.split())
    if not has_visible_char(text) or len(text) > limit:
        raise InvalidAction(f"{what} must be 1 to {limit} characters")
    bad = first_forbidden_char(text, allow_newline=False)
    if bad is not None:
        raise InvalidAction(f"{what} must not contain the character {describe_char(bad)}")
    return text


class Poll(LifeCycle):
    """One poll of a meeting, with its votes.

    Raises :class:`InvalidAction` for a :class:`PollSpec` with a bad question,
    fewer than 2 or more than 20 options, duplicate options, correct answers on a
    non-quiz poll, a quiz without a correct answer, or an anonymous quiz.
    """

    noun = "poll"
    closed_error = PollClosed

    def __init__(self, poll_id: str, spec: PollSpec) -> None:
        super().__init__()
        self.id = poll_id
        self._counts: dict[str, int] = {}
        self._voted: set[str] = set()  # anonymous polls only
        self._ballots: dict[str, tuple[str, ...]] = {}  # named polls only
        self._configure(spec)

    def _configure(self, spec: PollSpec) -> None:
        kind, options, anonymous = PollKind(spec.kind), spec.options, spec.anonymous
        question = clean_line(spec.question, "the question", MAX_QUESTION)
        if isinstance(options, str) or not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise InvalidAction(f"a poll needs {MIN_OPTIONS} to {MAX_OPTIONS} options")
        texts = [clean_line(text, "an option", MAX_OPTION_TEXT) for text in options]
        if len(set(texts)) != len(texts):
            raise InvalidAction("two options have the same text")
        parsed = [PollOption(f"o{index}", text) for index, text in enumerate(texts, start=1)]
        known = {option.id for option in parsed}
        correct = frozenset(spec.correct_option_ids)
        if kind is PollKind.QUIZ:
            if anonymous:
                raise InvalidAction("a quiz cannot be anonymous: scores would reveal answers")
            if not correct:
                raise InvalidAction("a quiz needs at least one correct option")
            if not correct <= known:
                raise InvalidAction("a correct option is not one of the poll's options")
        elif correct:
            raise InvalidAction("only a quiz has correct options")
        self.question = question
        self.options: tuple[PollOption, ...] = tuple(parsed)
        self.kind = kind
        self.anonymous = bool(anonymous)
        self.correct_option_ids = correct
        self._counts = {option.id: 0 for option in parsed}

    # -- life cycle ---------------------------------------------------------------

    def edit(self, spec: PollSpec) -> None:
        """Replace the content of a draft (same rules as the constructor)."""
        if self.state is not PollState.DRAFT:
            raise InvalidAction("only a draft poll can be edited")
        self._configure(spec)

    # -- voting ---------------------------------------------------------------------

    def vote(self, voter_id: str, option_ids: Sequence[str], is_member: bool) -> None:
        """Record ``voter_id``'s ballot; see the module docstring for the rules."""
        if self.state is PollState.DRAFT:
            raise PollNotOpen("the poll has not been launched yet")
        if self.state is PollState.CLOSED:
            raise PollClosed("the poll is closed; votes are no longer accepted")
        if not is_member:
            raise NotAMember("only members of the meeting may vote")
        choice = self._valid_choice(option_ids)
        if self.anonymous:
            if voter_id in self._voted:
                raise AlreadyVoted("you have already voted; an anonymous vote cannot be changed")
            self._voted.add(voter_id)
        else:
            for option_id in self._ballots.get(voter_id, ()):
                self._counts[option_id] -= 1
            self._ballots[voter_id] = choice
        for option_id in choice:
            self._counts[option_id] += 1

    def _valid_choice(self, option_ids: Sequence[str]) -> tuple[str, ...]:
        if isinstance(option_ids, str) or not all(isinstance(o, str) for o in option_ids):
            raise InvalidAction("option_ids must be a list of option ids")
        unknown = [o for o in option_ids if o not in self._counts]
        if unknown:
            raise UnknownOption(f"the poll has no option {', '.join(sorted(set(unknown)))}")
        if len(set(option_ids)) != len(option_ids):
            raise InvalidAction("an option can be chosen only once")
        exactly_one = self.kind is PollKind.SINGLE or (
            self.kind is PollKind.QUIZ and len(self.correct_option_ids) == 1
        )
        if exactly_one and len(option_ids) != 1:
            raise InvalidAction("choose exactly one option")
        if not option_ids:
            raise InvalidAction("choose at least one option")
        order = {option.id: index for index, option in enumerate(self.options)}
        return tuple(sorted(option_ids, key=order.__getitem__))

    def has_voted(self, voter_id: str) -> bool:
        """The "has voted" mark: True once ``voter_id`` voted."""
        return voter_id in self._voted or voter_id in self._ballots

    def ballot_of(self, voter_id: str) -> list[str] | None:
        """What ``voter_id`` chose in a named poll (None if not voted). An anonymous
        poll does not know, and raises :class:`InvalidAction`."""
        if self.anonymous:
            raise InvalidAction("an anonymous poll does not know who voted for what")
        ballot = self._ballots.get(voter_id)
        return None if ballot is None else list(ballot)

    def voters(self) -> list[str]:
        """Sorted ids of everyone who has voted (the "has voted" marks)."""
        return sorted(self._voted | self._ballots.keys())

    @property
    def voter_count(self) -> int:
        """How many distinct people have voted."""
        return len(self._voted) + len(self._ballots)

    def tally(self) -> dict[str, int]:
        """Votes per option id, in option order."""
        return {option.id: self._counts[option.id] for option in self.options}

    def scores(self) -> dict[str, int]:
        """Quiz only: 1 per voter whose choice equals the correct set, else 0."""
        if self.kind is not PollKind.QUIZ:
            raise InvalidAction("only a quiz has scores")
        return {
            voter: int(frozenset(ballot) == self.correct_option_ids)
            for voter, ballot in sorted(self._ballots.items())
        }

    # -- views ----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What every member sees: the question and options, without results.
        A quiz's correct options are shown only once the poll is closed."""
        view: dict[str, Any] = {
            "poll_id": self.id,
            "question": self.question,
            "kind": self.kind.value,
            "anonymous": self.anonymous,
            "state": self.state.value,
            "results_shared": self.results_shared,
            "options": [{"id": o.id, "text": o.text} for o in self.options],
        }
        if self.kind is PollKind.QUIZ and self.state is PollState.CLOSED:
            view["correct_option_ids"] = sorted(self.correct_option_ids)
        return view

    def results(self, reveal_correct: bool | None = None) -> dict[str, Any]:
        """Aggregate results, JSON-able, with no per-voter data: the live view for
        hosts, and for everyone once shared.

        ``percent`` is the share of voters who chose an option (in a multiple-choice
        poll they add up to more than 100). A quiz marks its correct options when
        ``reveal_correct`` is true; by default only once the poll is closed.
        """
        if reveal_correct is None:
            reveal_correct = self.state is PollState.CLOSED
        voters = self.voter_count
        rows = []
        for option in self.options:
            votes = self._counts[option.id]
            row: dict[str, Any] = {
                "id": option.id,
                "text": option.text,
                "votes": votes,
                "percent": round(100.0 * votes / voters, 1) if voters else 0.0,
            }
            if self.kind is PollKind.QUIZ and reveal_correct:
                row["correct"] = option.id in self.correct_option_ids
            rows.append(row)
        return {
            "poll_id": self.id,
            "question": self.question,
            "kind": self.kind.value,
            "anonymous": self.anonymous,
            "state": self.state.value,
            "voters": voters,
            "options": rows,
        }

    # -- storage --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state. An anonymous poll's dict has counts and a sorted
        list of who has voted, and nothing that links the two."""
        data: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "options": [o.text for o in self.options],
            "kind": self.kind.value,
            "anonymous": self.anonymous,
            "correct_option_ids": sorted(self.correct_option_ids),
            "state": self.state.value,
            "results_shared": self.results_shared,
            "launched_at": self.launched_at,
            "closed_at": self.closed_at,
        }
        if self.anonymous:
            data["counts"] = self.tally()
            data["voted"] = sorted(self._voted)
        else:
            data["ballots"] = {voter: list(b) for voter, b in sorted(self._ballots.items())}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Poll:
        """Rebuild from :meth:`to_dict` output (a named poll's counts come from its
        ballots)."""
        poll = cls(data["id"], PollSpec.from_dict(data))
        poll.state = PollState(data["state"])
        poll.results_shared = bool(data["results_shared"])
        poll.launched_at = data["launched_at"]
        poll.closed_at = data["closed_at"]
        if poll.anonymous:
            if "ballots" in data:
                raise ValueError("an anonymous poll must not carry ballots")
            for option_id, count in data["counts"].items():
                if option_id not in poll._counts:
                    raise ValueError(f"stored count for unknown option {option_id}")
                poll._counts[option_id] = int(count)
            poll._voted = set(data["voted"])
        else:
            for voter, ballot in data["ballots"].items():
                poll._ballots[voter] = tuple(ballot)
                for option_id in ballot:
                    poll._counts[option_id] += 1
        return poll
