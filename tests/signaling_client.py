"""A media-free protocol-v1 client for tests of meeting interaction.

It speaks Socket.IO only (``receive: false``, no peer connections), records
every event the server sends, and is written against docs/protocol.md alone.
``SignalingClientBase`` is what it shares with the multi-node ``NodeClient``
(tests/deployment.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import socketio
from meeting_client import (
    ACK_WAIT_SECONDS,
    CONNECT_WAIT_SECONDS,
    ProtocolError,
    update_roster,
    wait_until_changed,
)


class SignalingClientBase:
    """What every media-free client does: it records every event the server
    sends and keeps the roster they describe, asks with ``call`` and
    ``error_of``, and joins with ``receive: false``. Subclasses say which socket
    is asked (``_socket``) and what else an event means (``_follow``)."""

    #: How long ``call`` and ``error_of`` wait for an acknowledgement.
    ack_wait: float = ACK_WAIT_SECONDS
    #: What ``call`` raises when a request is refused.
    refused: type[ProtocolError] = ProtocolError

    def __init__(self, name: str) -> None:
        self.name = name
        self.participant_id: str | None = None
        self.meeting: dict[str, Any] = {}
        self.participants: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()

    def _socket(self) -> socketio.AsyncClient:
        raise NotImplementedError

    async def _record(self, event: str, data: Any) -> None:
        self.events.append((event, data))
        update_roster(self.participants, event, data)
        self._follow(event, data)
        self._changed.set()

    def _follow(self, event: str, data: Any) -> None:
        """Act on a received event beyond the roster (nothing by default)."""

    def _joined(self, ack: dict[str, Any]) -> None:
        self.participant_id = ack["participant_id"]
        self.meeting = ack["meeting"]
        self.participants = {p["id"]: p for p in ack["participants"]}

    async def _ask(self, event: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        ack: dict[str, Any] = await self._socket().call(event, payload or {}, timeout=self.ack_wait)
        return ack

    async def call(self, event: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a message; return the acknowledgement or raise ``refused``."""
        ack = await self._ask(event, payload)
        if not ack.get("ok"):
            raise self.refused(ack["error"])
        return ack

    async def error_of(self, event: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a message that must be refused; return the error object."""
        ack = await self._ask(event, payload)
        assert ack["ok"] is False, f"{event} was accepted: {ack}"
        return ack["error"]  # type: ignore[no-any-return]

    def _join_payload(self, room: str, extra: dict[str, Any]) -> dict[str, Any]:
        return {"protocol": 1, "room": room, "name": self.name, "receive": False, **extra}

    async def _send_join(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``join``; unless the ack says to wait in the lobby, take it in."""
        ack = await self.call("join", payload)
        if not ack.get("waiting"):
            self._joined(ack)
        return ack

    def of(self, event: str) -> list[Any]:
        """Payloads of every ``event`` received so far, oldest first."""
        return [data for name, data in self.events if name == event]

    def last(self, event: str) -> Any:
        found = self.of(event)
        assert found, f"{self.name} got no {event!r}"
        return found[-1]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true, re-checking after every event."""
        await wait_until_changed(self._changed, predicate, timeout)

    async def wait_event(
        self, event: str, predicate: Callable[[Any], bool] = lambda _: True, timeout: float = 5.0
    ) -> Any:
        """Wait for an ``event`` whose payload satisfies ``predicate``; return it."""
        found: list[Any] = []

        def seen() -> bool:
            found[:] = [d for d in self.of(event) if predicate(d)]
            return bool(found)

        await self.wait_for(seen, timeout)
        return found[-1]


class SignalingClient(SignalingClientBase):
    """A client on one server, over one socket."""

    def __init__(self, base_url: str, name: str, client_id: str | None = None) -> None:
        super().__init__(name)
        self.base_url = base_url
        self.client_id = client_id
        self.sio = socketio.AsyncClient(reconnection=False)
        self.disconnected = asyncio.Event()
        self.sio.on("*", self._record)
        self.sio.on("disconnect", self._on_disconnect)

    def _socket(self) -> socketio.AsyncClient:
        return self.sio

    def _follow(self, event: str, data: Any) -> None:
        if event == "lobby_admitted":
            self._joined(data)
        elif event == "meeting_state":
            self.meeting = data["meeting"]

    async def _on_disconnect(self, *args: Any) -> None:
        self.disconnected.set()
        self._changed.set()

    async def connect(self) -> None:
        await self.sio.connect(
            self.base_url, transports=["websocket"], wait_timeout=CONNECT_WAIT_SECONDS
        )

    async def join(self, room: str, **extra: Any) -> dict[str, Any]:
        fields = {"client_id": self.client_id} if self.client_id else {}
        return await self._send_join(self._join_payload(room, {**fields, **extra}))

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def barrier(*clients: SignalingClient) -> None:
    """One round trip per client: every event the server sent a client before
    answering this has been received (one socket delivers in order)."""

    async def one(client: SignalingClient) -> None:
        ack = await client.sio.call("no_such_event", {}, timeout=ACK_WAIT_SECONDS)
        assert ack["error"]["code"] == "unknown_event"

    await asyncio.gather(*(one(client) for client in clients))
