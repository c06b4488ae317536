"""A media client (aiortc, like :class:`MeetingClient`) for deployments of
several nodes: ``join`` follows ``wrong_node`` redirects the way the web client
does (a new Socket.IO connection to the node's URL, the same ``join`` again, at
most 5 redirects in a row). Media then flows between this process and the node
that hosts the room.
"""

from __future__ import annotations

from typing import Any

from meeting_client import MeetingClient, ProtocolError


class MediaNodeClient(MeetingClient):
    def __init__(self, entry_url: str, name: str) -> None:
        super().__init__(entry_url, name)
        self.entry_url = entry_url
        self.redirects: list[str] = []

    async def join(
        self, room: str, resume_token: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        payload = self._join_payload(room, resume_token, extra)
        for _ in range(6):
            if not self.sio.connected:
                await self.connect()
            ack = await self.call("join", payload, raw=True)
            if ack.get("ok"):
                self._joined(ack)
                return ack
            error = ack["error"]
            if error["code"] != "wrong_node":
                raise ProtocolError(error)
            self.redirects.append(error["url"])
            await self.sio.disconnect()
            self._open_socket(error["url"])
        raise AssertionError(f"{self.name}: more than 5 redirects: {self.redirects}")
