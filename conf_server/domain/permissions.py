"""Who may do what: one table of actions and roles, and the rules about targets.

Every check works on the role the server holds for the sender's session, never on
anything the payload claims. A check that fails raises
:class:`~conf_server.domain.errors.Forbidden` (or
:class:`~conf_server.domain.errors.InvalidAction` for a nonsensical target) and the
caller changes nothing.

Decisions (beyond the table):

- Only the **host** promotes participants to co-host and demotes co-hosts. A co-host
  cannot hand out or take away the role it holds itself.
- Nobody can demote the host; ``demote`` applies to co-hosts only.
- ``remove`` needs a strictly higher role than the target: a host removes co-hosts
  and participants, a co-host removes participants only (never the host, nor another
  co-host, since removing is heavier than demoting, which a co-host may not do).
  Nobody removes themselves with ``remove``: leaving is ``leave``.
- ``mute_one``, ``lock_mute``, ``stop_video`` and ``stop_screen`` need a role at
  least as high as the target's: a co-host may mute another co-host but never the
  host.
- ``lower_any_hand`` works on anyone's hand, the host's included (harmless).
- ``end_meeting`` is allowed to hosts and co-hosts, as issue 4 lists it among the
  host/co-host controls.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from .errors import Forbidden, InvalidAction
from .roles import Role, RoleBook


class Action(StrEnum):
    """Everything a permission is checked for. The value is the wire name."""

    # Everyone
    RAISE_HAND = "raise_hand"
    LOWER_OWN_HAND = "lower_own_hand"
    SEND_CHAT = "send_chat"
    SEND_REACTION = "send_reaction"
    VOTE = "vote"
    # Hosts and co-hosts
    MUTE_ONE = "mute_one"
    MUTE_ALL = "mute_all"
    LOCK_MUTE = "lock_mute"
    STOP_VIDEO = "stop_video"
    STOP_SCREEN = "stop_screen"
    REMOVE = "remove"
    LOCK_MEETING = "lock_meeting"
    CONFIGURE_MEETING = "configure_meeting"
    END_MEETING = "end_meeting"
    ADMIT = "admit"
    DENY = "deny"
    MANAGE_POLLS = "manage_polls"
    VIEW_LIVE_RESULTS = "view_live_results"
    LOWER_ANY_HAND = "lower_any_hand"
    HAND_NEXT = "hand_next"
    SPOTLIGHT = "spotlight"
    RECORD = "record"
    MARK_DECISION = "mark_decision"
    # Host only
    PROMOTE = "promote"
    DEMOTE = "demote"


_EVERYONE = frozenset(Role)
_MODERATORS = frozenset({Role.HOST, Role.CO_HOST})
_HOST = frozenset({Role.HOST})

#: The one table: which roles may do each action.
PERMISSIONS: MappingProxyType[Action, frozenset[Role]] = MappingProxyType(
    {
        Action.RAISE_HAND: _EVERYONE,
        Action.LOWER_OWN_HAND: _EVERYONE,
        Action.SEND_CHAT: _EVERYONE,
        Action.SEND_REACTION: _EVERYONE,
        Action.VOTE: _EVERYONE,
        Action.MUTE_ONE: _MODERATORS,
        Action.MUTE_ALL: _MODERATORS,
        Action.LOCK_MUTE: _MODERATORS,
        Action.STOP_VIDEO: _MODERATORS,
        Action.STOP_SCREEN: _MODERATORS,
        Action.REMOVE: _MODERATORS,
        Action.LOCK_MEETING: _MODERATORS,
        Action.CONFIGURE_MEETING: _MODERATORS,
        Action.END_MEETING: _MODERATORS,
        Action.ADMIT: _MODERATORS,
        Action.DENY: _MODERATORS,
        Action.MANAGE_POLLS: _MODERATORS,
        Action.VIEW_LIVE_RESULTS: _MODERATORS,
        Action.LOWER_ANY_HAND: _MODERATORS,
        Action.HAND_NEXT: _MODERATORS,
        Action.SPOTLIGHT: _MODERATORS,
        Action.RECORD: _MODERATORS,
        Action.MARK_DECISION: _MODERATORS,
        Action.PROMOTE: _HOST,
        Action.DEMOTE: _HOST,
    }
)

#: What each action is, in words, for error messages ("... may not <text>").
ACTION_TEXT: MappingProxyType[Action, str] = MappingProxyType(
    {
        Action.RAISE_HAND: "raise a hand",
        Action.LOWER_OWN_HAND: "lower their own hand",
        Action.SEND_CHAT: "send chat messages",
        Action.SEND_REACTION: "send reactions",
        Action.VOTE: "vote",
        Action.MUTE_ONE: "mute other people",
        Action.MUTE_ALL: "mute everyone",
        Action.LOCK_MUTE: "lock or unlock someone's microphone",
        Action.STOP_VIDEO: "stop someone's video",
        Action.STOP_SCREEN: "stop someone's screen share",
        Action.REMOVE: "remove people from the meeting",
        Action.LOCK_MEETING: "lock or unlock the meeting",
        Action.CONFIGURE_MEETING: "change the passcode or lobby settings",
        Action.END_MEETING: "end the meeting for everyone",
        Action.ADMIT: "admit people from the lobby",
        Action.DENY: "deny people in the lobby",
        Action.MANAGE_POLLS: "create, launch or close polls",
        Action.VIEW_LIVE_RESULTS: "see live poll results",
        Action.LOWER_ANY_HAND: "lower other people's hands",
        Action.HAND_NEXT: "call on the next raised hand",
        Action.SPOTLIGHT: "spotlight someone for everyone",
        Action.RECORD: "start, pause, resume or stop recording",
        Action.MARK_DECISION: "mark or remove the meeting's decisions",
        Action.PROMOTE: "make people co-host",
        Action.DEMOTE: "take the co-host role away",
    }
)

#: Targeted actions that need a role at least as high as the target's.
_AT_LEAST_TARGET = frozenset(
    {Action.MUTE_ONE, Action.LOCK_MUTE, Action.STOP_VIDEO, Action.STOP_SCREEN}
)


def allowed(role: Role, action: Action) -> bool:
    """True if ``role`` may do ``action`` at all (the table, no target rules)."""
    return role in PERMISSIONS[action]


def check(actor_role: Role, action: Action) -> None:
    """Raise :class:`Forbidden` unless ``actor_role`` may do ``action``."""
    if not allowed(actor_role, action):
        raise Forbidden(f"a {actor_role.label} may not {ACTION_TEXT[action]}")


def check_target(
    actor_id: str, actor_role: Role, action: Action, target_id: str, target_role: Role
) -> None:
    """Check ``action`` by one person on another: the table, then the target rules
    of this module's docstring. Raises :class:`Forbidden` or :class:`InvalidAction`.
    """
    check(actor_role, action)
    if action is Action.REMOVE:
        if actor_id == target_id:
            raise InvalidAction("you cannot remove yourself; leave the meeting instead")
        if not actor_role.outranks(target_role):
            raise Forbidden(f"a {actor_role.label} may not remove a {target_role.label}")
    elif action is Action.PROMOTE:
        if target_role is not Role.PARTICIPANT:
            raise InvalidAction(f"that person is already {target_role.label}")
    elif action is Action.DEMOTE:
        if target_role is Role.HOST:
            raise Forbidden("the host cannot be demoted")
        if target_role is not Role.CO_HOST:
            raise InvalidAction("that person is not a co-host")
    elif action in _AT_LEAST_TARGET and target_role.outranks(actor_role):
        raise Forbidden(
            f"a {actor_role.label} may not {ACTION_TEXT[action]} when that person "
            f"is {target_role.label}"
        )


def authorize(roles: RoleBook, actor_id: str, action: Action, target_id: str | None = None) -> Role:
    """Look up the roles in ``roles`` and check ``action`` (on ``target_id`` if
    given). Returns the actor's role."""
    actor_role = roles.role_of(actor_id)
    if target_id is None:
        check(actor_role, action)
    else:
        check_target(actor_id, actor_role, action, target_id, roles.role_of(target_id))
    return actor_role
