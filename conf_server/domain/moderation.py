"""Host controls that keep state: role changes and microphone locks.

Muting itself (and stopping video or a screen share) is a one-shot command the
media layer carries out; the only state it leaves is whether the muted person may
unmute themselves, which :class:`MuteLocks` holds.
"""

from __future__ import annotations

from typing import Any

from .permissions import Action, authorize
from .roles import Role, RoleBook


def promote(roles: RoleBook, actor_id: str, target_id: str) -> None:
    """Make ``target_id`` a co-host. Only a host may; the target must be a
    participant (raises :class:`~conf_server.domain.errors.Forbidden` or
    :class:`~conf_server.domain.errors.InvalidAction`, changing nothing)."""
    authorize(roles, actor_id, Action.PROMOTE, target_id)
    roles.set_role(target_id, Role.CO_HOST)


def demote(roles: RoleBook, actor_id: str, target_id: str) -> None:
    """Make co-host ``target_id`` a participant again. Only a host may; the host
    role itself cannot be taken away."""
    authorize(roles, actor_id, Action.DEMOTE, target_id)
    roles.set_role(target_id, Role.PARTICIPANT)


class MuteLocks:
    """Whose microphone is locked: a muted person may unmute themselves unless a
    host or co-host locked it, for that person or for everyone.

    Hosts and co-hosts are never held by a lock: they have the power to lift it
    anyway, so a lock on them would only be a nuisance.
    """

    def __init__(self) -> None:
        self.all_locked = False
        self._locked: set[str] = set()
        self._exempt: set[str] = set()  # unlocked one by one while everyone is locked

    def lock(self, participant_id: str) -> None:
        """Lock one person's microphone (after muting them)."""
        self._locked.add(participant_id)
        self._exempt.discard(participant_id)

    def unlock(self, participant_id: str) -> None:
        """Let one person unmute themselves again, also while everyone is locked
        ("allow to talk")."""
        self._locked.discard(participant_id)
        if self.all_locked:
            self._exempt.add(participant_id)

    def lock_all(self) -> None:
        """Lock everyone's microphone ("mute all, and don't let them unmute"),
        including people unlocked one by one before."""
        self.all_locked = True
        self._exempt.clear()

    def unlock_all(self) -> None:
        """Lift every lock, the meeting-wide one and the personal ones."""
        self.all_locked = False
        self._locked.clear()
        self._exempt.clear()

    def is_locked(self, participant_id: str) -> bool:
        """True if a lock holds this person (whatever their role)."""
        if participant_id in self._locked:
            return True
        return self.all_locked and participant_id not in self._exempt

    def may_unmute_self(self, participant_id: str, role: Role) -> bool:
        """True if ``participant_id`` with ``role`` may turn their own mic back on."""
        return role is not Role.PARTICIPANT or not self.is_locked(participant_id)

    def forget(self, participant_id: str) -> None:
        """Drop the personal lock of someone who left for good."""
        self._locked.discard(participant_id)
        self._exempt.discard(participant_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state."""
        return {
            "all_locked": self.all_locked,
            "locked": sorted(self._locked),
            "exempt": sorted(self._exempt),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MuteLocks:
        """Rebuild from :meth:`to_dict` output."""
        locks = cls()
        locks.all_locked = bool(data["all_locked"])
        locks._locked = set(data["locked"])
        locks._exempt = set(data["exempt"])
        return locks
