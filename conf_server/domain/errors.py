"""Errors of the meeting domain.

Every error has a stable machine-readable ``code`` (what clients switch on) and a
human ``message``; an HTTP ``status`` is a hint for the REST edge. They subclass
:class:`conf_server.errors.ConfServerError`, so the edges that already turn those
into acknowledgements and HTTP responses handle these unchanged. A domain method
that raises has changed nothing.
"""

from __future__ import annotations

from conf_server.errors import ConfServerError


class DomainError(ConfServerError):
    """Base of every meeting-domain error."""

    code = "domain_error"
    status = 400


class Forbidden(DomainError):
    """The actor's role does not allow this action (or not on this target)."""

    code = "forbidden"
    status = 403


class InvalidAction(DomainError):
    """The action is malformed or makes no sense in the current state."""

    code = "invalid_action"
    status = 400


class NotAMember(DomainError):
    """Only members of the meeting may do this (e.g. vote)."""

    code = "not_a_member"
    status = 403


class UnknownParticipant(DomainError):
    """No participant (or lobby entry) with that id."""

    code = "unknown_participant"
    status = 404


class UnknownPoll(DomainError):
    """No poll with that id in this meeting."""

    code = "unknown_poll"
    status = 404


class PollNotOpen(DomainError):
    """The poll is not accepting votes (still a draft, or closed)."""

    code = "poll_not_open"
    status = 409


class PollClosed(PollNotOpen):
    """The poll has been closed; votes and changes are refused."""

    code = "poll_closed"
    status = 409


class UnknownOption(DomainError):
    """A vote names an option the poll does not have."""

    code = "unknown_option"
    status = 400


class AlreadyVoted(DomainError):
    """A second vote in a poll that cannot take a changed vote (anonymous polls)."""

    code = "already_voted"
    status = 409


class UnknownQuestionnaire(DomainError):
    """No questionnaire with that id in this meeting."""

    code = "unknown_questionnaire"
    status = 404


class QuestionnaireNotOpen(DomainError):
    """The questionnaire is not taking answers (still a draft, or closed)."""

    code = "questionnaire_not_open"
    status = 409


class QuestionnaireClosed(QuestionnaireNotOpen):
    """The questionnaire has been closed; answers and changes are refused."""

    code = "questionnaire_closed"
    status = 409


class AlreadyAnswered(DomainError):
    """A second answer to an anonymous questionnaire without its answer handle."""

    code = "already_answered"
    status = 409


class RateLimited(DomainError):
    """Too many messages or reactions; ``retry_after`` says when one is allowed again."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MessageTooLong(DomainError):
    """A chat message is longer than the limit."""

    code = "message_too_long"
    status = 400


class InvalidMessage(DomainError):
    """A chat message is empty or holds control or invisible characters."""

    code = "invalid_message"
    status = 400


class UnknownReaction(DomainError):
    """A reaction that is not in the allowed set."""

    code = "unknown_reaction"
    status = 400


class WrongPasscode(DomainError):
    """The passcode is missing or wrong."""

    code = "wrong_passcode"
    status = 403


class MeetingLocked(DomainError):
    """The meeting is locked: nobody new may join."""

    code = "meeting_locked"
    status = 403


class Banned(DomainError):
    """This identity was removed from the meeting and may not come back."""

    code = "banned"
    status = 403


class MeetingEnded(DomainError):
    """The meeting has been ended for everyone."""

    code = "meeting_ended"
    status = 410


class InvalidParticipation(DomainError):
    """A participation setting out of range (an unknown visibility or weight)."""

    code = "invalid_participation"
    status = 400


class LeaderboardHidden(DomainError):
    """Participation points are off, or the leaderboard is not shown to this
    person (``participation_off``, ``leaderboard_hidden``)."""

    code = "leaderboard_hidden"
    status = 403
