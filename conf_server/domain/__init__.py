"""The meeting domain: roles and permissions, host controls, lobby and access,
raised hands, polls, chat and reactions.

Plain classes with no I/O, no asyncio and no clock of their own: callers pass the
server time (``now`` / ``at``) and check permissions with
:mod:`conf_server.domain.permissions` from the sender's session. Every stateful
class turns into a plain JSON-able dict (``to_dict``) and back (``from_dict``), so
a store (memory now, Redis later) can keep it.
"""

from .access import Admission, MeetingAccess
from .chat import ChatLog, ChatMessage
from .errors import (
    AlreadyVoted,
    Banned,
    DomainError,
    Forbidden,
    InvalidAction,
    InvalidMessage,
    MeetingEnded,
    MeetingLocked,
    MessageTooLong,
    NotAMember,
    PollClosed,
    PollNotOpen,
    RateLimited,
    UnknownOption,
    UnknownParticipant,
    UnknownPoll,
    UnknownReaction,
    WrongPasscode,
)
from .hands import HandQueue
from .lobby import Lobby, LobbyEntry
from .moderation import MuteLocks, demote, promote
from .permissions import PERMISSIONS, Action, authorize, check, check_target
from .poll_book import PollBook
from .polls import Poll, PollKind, PollOption, PollSpec, PollState
from .reactions import ALLOWED_REACTIONS, Reaction, Reactions
from .roles import Role, RoleBook

__all__ = [
    "ALLOWED_REACTIONS",
    "PERMISSIONS",
    "Action",
    "Admission",
    "AlreadyVoted",
    "Banned",
    "ChatLog",
    "ChatMessage",
    "DomainError",
    "Forbidden",
    "HandQueue",
    "InvalidAction",
    "InvalidMessage",
    "Lobby",
    "LobbyEntry",
    "MeetingAccess",
    "MeetingEnded",
    "MeetingLocked",
    "MessageTooLong",
    "MuteLocks",
    "NotAMember",
    "Poll",
    "PollBook",
    "PollClosed",
    "PollKind",
    "PollNotOpen",
    "PollOption",
    "PollSpec",
    "PollState",
    "RateLimited",
    "Reaction",
    "Reactions",
    "Role",
    "RoleBook",
    "UnknownOption",
    "UnknownParticipant",
    "UnknownPoll",
    "UnknownReaction",
    "WrongPasscode",
    "authorize",
    "check",
    "check_target",
    "demote",
    "promote",
]
