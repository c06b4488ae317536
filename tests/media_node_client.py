"""A media client (aiortc, like :class:`MeetingClient`) for deployments of
several nodes: ``join`` follows ``wrong_node`` redirects the way the web client
does (a new Socket.IO connection to the node's URL, the same ``join`` again, at
most 5 redirects in a row). Media then flows between this process and the node
that hosts the room.
"""

from __future__ import annotations

from typing import Any

import socketio
from meeting_client import MeetingClient, ProtocolError

_EVENTS = (
    "participant_joined",
    "participant_updated",
    "participant_left",
    "subscriber_offer",
    "active_speaker",
)


class MediaNodeClient(MeetingClient):
    def __init__(self, entry_url: str, name: str) -> None:
        super().__init__(entry_url, name)
        self.entry_url = entry_url
        self.redirects: list[str] = []

    def _new_socket(self, url: str) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        for event in _EVENTS:
            self.sio.on(event, self._make_handler(event))
        self.base_url = url

    async def join(
        self, room: str, resume_token: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"protocol": 1, "room": room, "name": self.name, **extra}
        if resume_token:
            payload["resume_token"] = resume_token
        for _ in range(6):
            if not self.sio.connected:
                await self.connect()
            ack = await self.call("join", payload, raw=True)
            if ack.get("ok"):
                self.participant_id = ack["participant_id"]
                self.resume_token = ack["resume_token"]
                self.participants = {p["id"]: p for p in ack["participants"]}
                return ack
            error = ack["error"]
            if error["code"] != "wrong_node":
                raise ProtocolError(error)
            self.redirects.append(error["url"])
            await self.sio.disconnect()
            self._new_socket(error["url"])
        raise AssertionError(f"{self.name}: more than 5 redirects: {self.redirects}")
