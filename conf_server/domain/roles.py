"""Roles in a meeting and who holds them.

There are three roles, highest first: ``host``, ``co_host``, ``participant``.

- **host**: the meeting creator, or whoever joins with a host invite token. Several
  people may be host (e.g. two holders of the host invite); nobody can take the host
  role away inside the meeting.
- **co_host**: a participant the host promoted; runs the meeting with the host
  (see :mod:`conf_server.domain.permissions` for exactly what each role may do).
- **participant**: everyone else; the default for anyone not listed.

:class:`RoleBook` only stores roles; the rules for changing them live in
:mod:`conf_server.domain.moderation` and :mod:`conf_server.domain.permissions`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """A role in one meeting. The value is the wire name."""

    HOST = "host"
    CO_HOST = "co_host"
    PARTICIPANT = "participant"

    @property
    def rank(self) -> int:
        """2 for host, 1 for co-host, 0 for participant."""
        return _RANK[self]

    @property
    def label(self) -> str:
        """The role in words, for error messages ("co-host")."""
        return self.value.replace("_", "-")

    def outranks(self, other: Role) -> bool:
        """True if this role is strictly higher than ``other``."""
        return self.rank > other.rank


_RANK = {Role.HOST: 2, Role.CO_HOST: 1, Role.PARTICIPANT: 0}


class RoleBook:
    """The roles of one meeting's people, by participant id.

    Anyone not recorded is a participant, so the book stays small: it holds only
    hosts and co-hosts.
    """

    def __init__(self, roles: dict[str, Role] | None = None) -> None:
        self._roles: dict[str, Role] = {}
        for pid, role in (roles or {}).items():
            self.set_role(pid, role)

    def role_of(self, participant_id: str) -> Role:
        """The role of ``participant_id`` (participant if unknown)."""
        return self._roles.get(participant_id, Role.PARTICIPANT)

    def set_role(self, participant_id: str, role: Role) -> None:
        """Record a role without any permission check (the caller decided).

        Used when someone joins as host (creator or host invite), and by
        :mod:`conf_server.domain.moderation` after its checks.
        """
        if role is Role.PARTICIPANT:
            self._roles.pop(participant_id, None)
        else:
            self._roles[participant_id] = Role(role)

    def forget(self, participant_id: str) -> None:
        """Drop a participant that left for good (a co-host role does not survive
        leaving; a host gets the role back from its invite when rejoining)."""
        self._roles.pop(participant_id, None)

    def with_role(self, role: Role) -> list[str]:
        """Participant ids that hold ``role`` (hosts or co-hosts), sorted."""
        if role is Role.PARTICIPANT:
            raise ValueError("participants are not listed; everyone unlisted is one")
        return sorted(pid for pid, r in self._roles.items() if r is role)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state."""
        return {"roles": {pid: role.value for pid, role in sorted(self._roles.items())}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoleBook:
        """Rebuild from :meth:`to_dict` output."""
        return cls({pid: Role(role) for pid, role in data["roles"].items()})
