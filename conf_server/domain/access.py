"""Who gets into a meeting: passcode, lock, lobby, bans, and the end.

:meth:`MeetingAccess.request_entry` decides for one person, in this order:

1. the meeting has ended -> :class:`MeetingEnded`;
2. the identity was removed earlier -> :class:`Banned`;
3. a host (``privileged=True``: the creator, or a host invite) is admitted: the host
   invite is a stronger credential than the passcode, and hosts must be able to
   enter a locked meeting;
4. a passcode is set and the given one is wrong or missing -> :class:`WrongPasscode`
   (checked before the lock, so only people with the passcode learn it is locked);
5. the meeting is locked -> :class:`MeetingLocked`;
6. the lobby is on, or the meeting is **invite-only** (made from a chat) and
   the identity is not invited -> the person waits (``Admission.WAITING``);
7. otherwise -> ``Admission.ADMITTED``.

An invited identity of an invite-only meeting counts as privileged (step 3):
its signed invite is a personal credential, like the host invite.

**Identity key.** A removed participant cannot come back with the same invite: the
caller bans an *identity key* it derives from whatever the person joined with (the
personal invite token's id, an authenticated user id, or a resume-token owner id).
A link shared by everyone gives no personal key, so banning it would ban everyone;
the caller must pick a key that names one person.

The passcode is compared in constant time (:func:`secrets.compare_digest` on SHA-256
digests, so not even its length leaks) and kept in clear in
:meth:`MeetingAccess.to_dict` because hosts need to read it back to share it; the
store holding that dict must be trusted like the server.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from .errors import Banned, InvalidAction, MeetingEnded, MeetingLocked, WrongPasscode
from .lobby import Lobby, LobbyEntry
from .text import first_forbidden_char

MAX_PASSCODE = 64


class Admission(StrEnum):
    """The outcome of asking to enter."""

    ADMITTED = "admitted"
    WAITING = "waiting"


class MeetingAccess:
    """The entry rules of one meeting and its lobby."""

    def __init__(
        self,
        passcode: str | None = None,
        lobby_enabled: bool = False,
        locked: bool = False,
        invited: Iterable[str] | None = None,
    ) -> None:
        self.lobby = Lobby()
        self.lobby_enabled = lobby_enabled
        self.locked = locked
        self.ended = False
        self._passcode: str | None = None
        self._banned: set[str] = set()
        #: None: anyone may enter (subject to the rules); a set: invite-only.
        self._invited: set[str] | None = None if invited is None else set(invited)
        self.set_passcode(passcode)

    # -- settings (``configure_meeting`` / ``lock_meeting`` permissions) -----------

    @property
    def has_passcode(self) -> bool:
        """True if entering needs a passcode."""
        return self._passcode is not None

    @property
    def passcode(self) -> str | None:
        """The passcode, for hosts to share (None if there is none)."""
        return self._passcode

    def set_passcode(self, passcode: str | None) -> None:
        """Set (1 to 64 characters, no control characters) or clear (None or
        blank) the passcode."""
        if passcode is None or not passcode.strip():
            self._passcode = None
            return
        passcode = passcode.strip()
        if len(passcode) > MAX_PASSCODE or first_forbidden_char(passcode, False) is not None:
            raise InvalidAction(
                f"a passcode must be 1 to {MAX_PASSCODE} characters without control characters"
            )
        self._passcode = passcode

    def check_passcode(self, given: str | None) -> bool:
        """True if no passcode is set, or ``given`` matches it (constant time)."""
        if self._passcode is None:
            return True
        if not isinstance(given, str):
            return False
        # Hash first, so the comparison does not even reveal the passcode's length.
        given_digest = hashlib.sha256(given.strip().encode()).digest()
        expected_digest = hashlib.sha256(self._passcode.encode()).digest()
        return secrets.compare_digest(given_digest, expected_digest)

    def lock(self) -> None:
        """Let nobody new in (hosts still can; people already waiting can still be
        admitted by a host)."""
        self.locked = True

    def unlock(self) -> None:
        """Let people in again."""
        self.locked = False

    def set_lobby_enabled(self, enabled: bool) -> list[LobbyEntry]:
        """Turn the lobby on or off. Turning it off admits everyone waiting (so
        people who came earlier do not wait while later ones walk in); returns them."""
        self.lobby_enabled = enabled
        return [] if enabled else self.lobby.admit_all()

    @property
    def invite_only(self) -> bool:
        """True if only invited identities walk in (the rest wait in the lobby)."""
        return self._invited is not None

    def invite(self, identities: Iterable[str]) -> None:
        """Add identities to an invite-only meeting's invitees."""
        if self._invited is None:
            raise InvalidAction("this meeting is not invite-only")
        self._invited.update(identities)

    def is_invited(self, identity: str) -> bool:
        """True if ``identity`` is an invitee of this invite-only meeting."""
        return self._invited is not None and identity in self._invited

    # -- entering -------------------------------------------------------------------

    def request_entry(
        self,
        entry_id: str,
        identity: str,
        name: str,
        now: float,
        passcode: str | None = None,
        privileged: bool = False,
    ) -> Admission:
        """Decide whether ``entry_id`` enters now, waits in the lobby, or is refused
        (see the module docstring for the order of the rules)."""
        if self.ended:
            raise MeetingEnded("this meeting has ended")
        if identity in self._banned:
            raise Banned("you were removed from this meeting and cannot rejoin")
        if privileged or self.is_invited(identity):
            return Admission.ADMITTED
        if not self.check_passcode(passcode):
            raise WrongPasscode("the passcode is wrong" if passcode else "a passcode is needed")
        if self.locked:
            raise MeetingLocked("the meeting is locked; nobody new can join")
        if self.lobby_enabled or self.invite_only:
            self.lobby.add(entry_id, name, identity, now)
            return Admission.WAITING
        return Admission.ADMITTED

    # -- bans and the end ---------------------------------------------------------

    def ban(self, identity: str) -> list[LobbyEntry]:
        """Keep ``identity`` out for the rest of the meeting (after ``remove``);
        returns lobby entries of that identity, which are dropped."""
        self._banned.add(identity)
        return self.lobby.remove_identity(identity)

    def unban(self, identity: str) -> None:
        """Let a banned identity in again."""
        self._banned.discard(identity)

    def is_banned(self, identity: str) -> bool:
        """True if ``identity`` was banned."""
        return identity in self._banned

    def end(self) -> list[LobbyEntry]:
        """End the meeting for everyone: nobody enters any more; returns the people
        who were still waiting (to be told)."""
        self.ended = True
        return self.lobby.clear()

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state (passcode included, see the module docstring)."""
        return {
            "passcode": self._passcode,
            "lobby_enabled": self.lobby_enabled,
            "locked": self.locked,
            "ended": self.ended,
            "banned": sorted(self._banned),
            "invited": None if self._invited is None else sorted(self._invited),
            "lobby": self.lobby.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeetingAccess:
        """Rebuild from :meth:`to_dict` output."""
        access = cls(
            data["passcode"], bool(data["lobby_enabled"]), bool(data["locked"]), data["invited"]
        )
        access.ended = bool(data["ended"])
        access._banned = set(data["banned"])
        access.lobby = Lobby.from_dict(data["lobby"])
        return access
