"""The lobby: people waiting for a host or co-host to let them in.

Entries are listed in arrival order. Knocking again with the same entry id (a
reload) keeps the original place. Admitting or denying takes the entry out of the
lobby; what happens next (join, or a "denied" screen) is the caller's job. Denying
is not banning: the person may knock again. Whether a host may admit or deny is the
``admit`` / ``deny`` permission the caller checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .errors import InvalidAction, UnknownParticipant

MAX_WAITING = 500


@dataclass(frozen=True, slots=True)
class LobbyEntry:
    """One person waiting: ``id`` names the entry (the would-be participant id),
    ``identity`` is the ban key (see :class:`~conf_server.domain.access.MeetingAccess`),
    ``since`` the server time they started waiting."""

    id: str
    name: str
    identity: str
    since: float
    seq: int

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able form."""
        return asdict(self)

    def to_wire(self) -> dict[str, Any]:
        """What hosts see in their lobby panel (no identity key)."""
        return {"id": self.id, "name": self.name, "since": self.since}


class Lobby:
    """The waiting room of one meeting, at most ``max_waiting`` people."""

    def __init__(self, max_waiting: int = MAX_WAITING) -> None:
        self.max_waiting = max_waiting
        self._entries: dict[str, LobbyEntry] = {}
        self._next_seq = 1

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._entries

    def add(self, entry_id: str, name: str, identity: str, now: float) -> LobbyEntry:
        """Put someone in the lobby (or return their existing entry)."""
        existing = self._entries.get(entry_id)
        if existing is not None:
            return existing
        if len(self._entries) >= self.max_waiting:
            raise InvalidAction("the lobby is full; try again later")
        entry = LobbyEntry(entry_id, name, identity, now, self._next_seq)
        self._next_seq += 1
        self._entries[entry_id] = entry
        return entry

    def leave(self, entry_id: str) -> bool:
        """The waiting person gave up (closed the page); False if not waiting."""
        return self._entries.pop(entry_id, None) is not None

    def admit(self, entry_id: str) -> LobbyEntry:
        """Let one person in: returns and removes their entry."""
        return self._take(entry_id)

    def deny(self, entry_id: str) -> LobbyEntry:
        """Turn one person away: returns and removes their entry."""
        return self._take(entry_id)

    def admit_all(self) -> list[LobbyEntry]:
        """Let everyone in, in arrival order."""
        admitted = self.waiting()
        self._entries.clear()
        return admitted

    def clear(self) -> list[LobbyEntry]:
        """Empty the lobby without admitting anyone (the meeting ended); returns
        who was waiting, in arrival order."""
        gone = self.waiting()
        self._entries.clear()
        return gone

    def remove_identity(self, identity: str) -> list[LobbyEntry]:
        """Take out every entry with ``identity`` (it was banned)."""
        gone = [e for e in self.waiting() if e.identity == identity]
        for entry in gone:
            del self._entries[entry.id]
        return gone

    def waiting(self) -> list[LobbyEntry]:
        """Everyone waiting, first come first."""
        return sorted(self._entries.values(), key=lambda e: (e.since, e.seq))

    def _take(self, entry_id: str) -> LobbyEntry:
        entry = self._entries.pop(entry_id, None)
        if entry is None:
            raise UnknownParticipant("nobody with that id is waiting in the lobby")
        return entry

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state."""
        return {
            "max_waiting": self.max_waiting,
            "next_seq": self._next_seq,
            "entries": [e.to_dict() for e in self.waiting()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lobby:
        """Rebuild from :meth:`to_dict` output."""
        lobby = cls(int(data["max_waiting"]))
        lobby._next_seq = int(data["next_seq"])
        for item in data["entries"]:
            entry = LobbyEntry(
                str(item["id"]),
                str(item["name"]),
                str(item["identity"]),
                float(item["since"]),
                int(item["seq"]),
            )
            lobby._entries[entry.id] = entry
        return lobby
