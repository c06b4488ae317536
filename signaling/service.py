"""The interfaces between the signaling edge and the meeting domain."""

from __future__ import annotations

from typing import Any, Protocol


class MeetingService(Protocol):
    """What the namespace calls after validating a message.

    Methods raise exceptions with ``code`` and ``message`` attributes to refuse
    a request; anything else is reported as ``internal_error``.
    """

    def has_session(self, sid: str) -> bool:
        """True if the socket has joined a room (or waits in its lobby)."""
        ...

    async def join(
        self,
        sid: str,
        room: str,
        name: str,
        resume_token: str | None,
        receive: bool = True,
        passcode: str | None = None,
        host_key: str | None = None,
        client_id: str | None = None,
        mode: str = "remote",
        zone: str | None = None,
        checkin: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]: ...

    async def publish(self, sid: str, sdp: str, sources: dict[str, str]) -> dict[str, Any]: ...

    async def publisher_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None: ...

    async def subscriber_answer(self, sid: str, revision: int, sdp: str) -> None: ...

    async def subscriber_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None: ...

    async def set_view(
        self, sid: str, video: list[str], sizes: dict[str, int], pinned: list[str], later: int = 0
    ) -> None: ...

    async def mute(self, sid: str, source: str, muted: bool) -> None: ...

    async def action(self, sid: str, name: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """A meeting-interaction message (signaling.meeting_messages), validated."""
        ...

    async def leave(self, sid: str) -> None: ...

    async def disconnected(self, sid: str, network_loss: bool) -> None: ...


class EventSink(Protocol):
    """How the domain sends events to clients, without knowing Socket.IO."""

    async def to_client(self, sid: str, event: str, data: dict[str, Any]) -> None: ...

    async def to_room(
        self,
        room: str,
        event: str,
        data: dict[str, Any],
        skip_sid: str | list[str] | None = None,
        here_only: bool = False,
    ) -> None:
        """``event`` to every socket of ``room`` (on every node when the room
        spans nodes, unless ``here_only``)."""
        ...

    def set_spanning(self, room: str, spanning: bool) -> None:
        """Whether ``room`` has sockets on other nodes too (a room that spans
        nodes): then its events must reach them."""
        ...

    async def enter_room(self, sid: str, room: str) -> None: ...

    async def leave_room(self, sid: str, room: str) -> None: ...

    async def close_room(self, room: str) -> None:
        """Take every socket out of the room's broadcast group."""
        ...

    async def disconnect(self, sid: str) -> None: ...
