"""Sockets whose owners wait in a meeting's lobby on this node.

The lobby itself (who waits, in which order) is shared meeting state
(:mod:`conf_server.domain.lobby`); this is the node's side of it: which
socket waits for which lobby entry, so that admitting or denying the entry
can answer that socket.
"""

from __future__ import annotations

from dataclasses import dataclass

from conf_server.cluster.store import NoMeeting
from conf_server.domain import LobbyEntry

from .meeting_context import RoomView
from .meeting_views import lobby_payload


@dataclass
class WaitingJoin:
    """A socket whose owner waits in the lobby."""

    sid: str
    room: str
    entry_id: str
    name: str
    receive: bool
    mode: str
    zone: str | None


class LobbyWaiting:
    """The lobby's sockets on this node, by socket id."""

    def __init__(self, context: RoomView) -> None:
        self._context = context
        self._waiting: dict[str, WaitingJoin] = {}

    def __contains__(self, sid: str) -> bool:
        return sid in self._waiting

    def add(self, waiting: WaitingJoin) -> None:
        self._waiting[waiting.sid] = waiting

    def discard(self, sid: str) -> None:
        self._waiting.pop(sid, None)

    def rooms(self) -> set[str]:
        """Rooms with someone waiting in their lobby on this node."""
        return {w.room for w in self._waiting.values()}

    def entries(self, room_id: str) -> set[str]:
        """Lobby entry ids of this room whose sockets wait on this node."""
        return {w.entry_id for w in self._waiting.values() if w.room == room_id}

    def drop(self, room_id: str) -> list[str]:
        """Forget this room's lobby sockets (the room moves); returns their ids."""
        sids = [w.sid for w in self._waiting.values() if w.room == room_id]
        for sid in sids:
            del self._waiting[sid]
        return sids

    def by_entry(self, entry_id: str) -> WaitingJoin | None:
        for waiting in self._waiting.values():
            if waiting.entry_id == entry_id:
                return waiting
        return None

    async def deny(self, entries: list[LobbyEntry], code: str, message: str) -> None:
        for entry in entries:
            waiting = self.by_entry(entry.id)
            if waiting is not None:
                del self._waiting[waiting.sid]
                await self._context.events.to_client(
                    waiting.sid, "lobby_denied", {"code": code, "message": message}
                )

    async def leave(self, sid: str) -> str:
        """The socket gives up waiting (left or disconnected); returns its room."""
        waiting = self._waiting.pop(sid)
        try:
            async with self._context.store.update(waiting.room) as state:
                state.access.lobby.leave(waiting.entry_id)
        except NoMeeting:
            return waiting.room
        await self._context.to_moderators(state, "lobby_changed", lobby_payload(state))
        return waiting.room
