"""The life cycle polls and questionnaires share: ``draft`` (prepared,
editable) -> ``open`` (launched once: takes answers) -> ``closed`` (final),
and results shared with everyone on a host's word."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from .errors import DomainError, InvalidAction


class PollState(StrEnum):
    """Where a poll or questionnaire is in its life: draft -> open -> closed."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class LifeCycle:
    """State, times and sharing; a subclass names itself (``noun``) and the
    error of acting on it once closed (``closed_error``)."""

    noun: ClassVar[str]
    closed_error: ClassVar[type[DomainError]]

    def __init__(self) -> None:
        self.state = PollState.DRAFT
        self.results_shared = False
        self.launched_at: float | None = None
        self.closed_at: float | None = None

    def launch(self, now: float) -> None:
        """Open a draft at server time ``now``; launched once only."""
        if self.state is PollState.CLOSED:
            raise self.closed_error(f"the {self.noun} is closed and cannot be launched again")
        if self.state is PollState.OPEN:
            raise InvalidAction(f"the {self.noun} is already open")
        self.state = PollState.OPEN
        self.launched_at = now

    def close(self, now: float) -> bool:
        """Stop taking answers. Closing a closed one changes nothing (False)."""
        if self.state is PollState.DRAFT:
            raise InvalidAction(f"a draft {self.noun} cannot be closed; launch it or delete it")
        if self.state is PollState.CLOSED:
            return False
        self.state = PollState.CLOSED
        self.closed_at = now
        return True

    def share_results(self) -> None:
        """Let everyone see the aggregate results (live while open, or final)."""
        if self.state is PollState.DRAFT:
            raise InvalidAction(f"a draft {self.noun} has no results to share")
        self.results_shared = True
