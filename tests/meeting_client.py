"""A protocol-v1 client for tests: python-socketio plus two aiortc peer connections.

It is written against docs/protocol.md only, the way a third-party client would be.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import socketio
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)

#: How long ``connect`` waits for the server's answer to the namespace CONNECT
#: before python-socketio gives up with "Unexpected connection error", and how
#: long ``call`` waits for an acknowledgement. Bounds for a hang, not speeds:
#: the tests' server and all their clients share one event loop, and 200
#: clients joining at once on a loaded 2-core machine have seen the CONNECT
#: answer take more than 5 s and a join's acknowledgement more than 15 s
#: (a refusal or an error still comes back at once).
CONNECT_WAIT_SECONDS = 30
ACK_WAIT_SECONDS = 30


class ProtocolError(Exception):
    def __init__(self, error: dict[str, str]) -> None:
        super().__init__(f"{error['code']}: {error['message']}")
        self.code = error["code"]
        self.message = error["message"]


async def wait_until_changed(changed: asyncio.Event, predicate: Any, timeout: float) -> None:
    """Wait until ``predicate()`` is true, re-checking whenever ``changed`` is set
    (and at least every 0.2 s)."""

    async def loop() -> None:
        while not predicate():
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), 0.2)

    await asyncio.wait_for(loop(), timeout)


def update_roster(participants: dict[str, dict[str, Any]], event: str, data: Any) -> None:
    """Keep ``participants`` (by id) up to date with one received event."""
    if event in ("participant_joined", "participant_updated"):
        participants[data["participant"]["id"]] = data["participant"]
    elif event == "participant_left":
        participants.pop(data["participant_id"], None)


#: The events a MeetingClient listens to.
_EVENTS = (
    "participant_joined",
    "participant_updated",
    "participant_left",
    "subscriber_offer",
    "subscriber_tracks",
    "active_speaker",
    "meeting_updated",
    "caption",
    "captions_stopped",
    "decisions",
)


class MeetingClient:
    def __init__(self, base_url: str, name: str, max_bundle: bool = True) -> None:
        """``max_bundle``: the receiving connection bundles as docs/architecture.md
        asks clients to (``max-bundle``, as the web client does); the default.
        aiortc's own default (``balanced``, ``max_bundle=False``) loses a track
        when one offer brings the first two m-sections of a kind that is not
        the first m-section's: the second is left on the first's own
        transport, which bundling then stops. A test whose joins happen to
        share an offer would fail for the client's sake."""
        self.name = name
        self.participant_id: str | None = None
        self.resume_token: str | None = None
        self.participants: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.tracks: dict[str, dict[str, Any]] = {}  # by mid: the Track objects
        self.remote_tracks: dict[str, Any] = {}  # by mid: aiortc receiver tracks
        self.publish_pc: RTCPeerConnection | None = None
        policy = RTCBundlePolicy.MAX_BUNDLE if max_bundle else RTCBundlePolicy.BALANCED
        self.subscribe_pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=policy))
        self.offers_answered = 0
        #: The newest track list received (docs/protocol.md, spare m-sections):
        #: its ``tracks_version`` and its tracks.
        self._track_list: tuple[int, list[dict[str, Any]]] = (0, [])
        self.auto_answer = True
        self._changed = asyncio.Event()
        self._open_socket(base_url)

    def _open_socket(self, url: str) -> None:
        """A new Socket.IO client for ``url`` (connected by ``connect``)."""
        self.base_url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        for event in _EVENTS:
            self.sio.on(event, self._make_handler(event))

    def _make_handler(self, event: str) -> Any:
        async def handler(data: dict[str, Any]) -> None:
            self.events.append((event, data))
            update_roster(self.participants, event, data)
            if event == "subscriber_offer" and self.auto_answer:
                await self.answer_offer(data)
            elif event == "subscriber_tracks" and self._keep_track_list(data, restart=False):
                self._map_tracks()
            self._changed.set()

        return handler

    async def connect(self) -> None:
        await self.sio.connect(
            self.base_url, transports=["websocket"], wait_timeout=CONNECT_WAIT_SECONDS
        )

    async def call(self, event: str, payload: Any = None, raw: bool = False) -> dict[str, Any]:
        """Send a message and return its acknowledgement (raise on error unless raw)."""
        args = () if payload is ... else (payload if payload is not None else {},)
        ack = (
            await self.sio.call(event, *args, timeout=ACK_WAIT_SECONDS)
            if args
            else await self.sio.call(event, timeout=ACK_WAIT_SECONDS)
        )
        if raw:
            return ack  # type: ignore[no-any-return]
        if not ack.get("ok"):
            raise ProtocolError(ack["error"])
        return ack  # type: ignore[no-any-return]

    async def join(
        self, room: str, resume_token: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        ack = await self.call("join", self._join_payload(room, resume_token, extra))
        self._joined(ack)
        return ack

    def _join_payload(
        self, room: str, resume_token: str | None, extra: dict[str, Any]
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"protocol": 1, "room": room, "name": self.name, **extra}
        if resume_token:
            payload["resume_token"] = resume_token
        return payload

    def _joined(self, ack: dict[str, Any]) -> None:
        self.participant_id = ack["participant_id"]
        self.resume_token = ack["resume_token"]
        self.participants = {p["id"]: p for p in ack["participants"]}

    async def publish(self, tracks: dict[str, MediaStreamTrack]) -> None:
        """Publish tracks by source name ("microphone", "camera", "screen")."""
        if self.publish_pc is None:
            self.publish_pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc = self.publish_pc
        by_track = {}
        for source, track in tracks.items():
            by_track[source] = pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        sources = {t.mid: source for source, t in by_track.items()}
        ack = await self.call("publish", {"sdp": pc.localDescription.sdp, "sources": sources})
        await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))

    async def answer_offer(self, offer: dict[str, Any]) -> None:
        pc = self.subscribe_pc
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self._keep_track_list(offer, restart=offer["revision"] == 1)
        self._map_tracks()
        await self.call(
            "subscriber_answer",
            {"revision": offer["revision"], "sdp": pc.localDescription.sdp},
        )
        self.offers_answered += 1

    def _keep_track_list(self, track_list: dict[str, Any], restart: bool) -> bool:
        """Keep ``track_list`` if it is newer than the one kept (as the web client does)."""
        version = track_list.get("tracks_version", 0)
        if not restart and version <= self._track_list[0]:
            return False
        self._track_list = (version, track_list["tracks"])
        return True

    def _map_tracks(self) -> None:
        """Map the newest track list onto the receiving connection's mids."""
        self.tracks = {t["mid"]: t for t in self._track_list[1]}
        for transceiver in self.subscribe_pc.getTransceivers():
            if transceiver.mid in self.tracks:
                self.remote_tracks[transceiver.mid] = transceiver.receiver.track

    def track_of(self, participant_id: str, source: str) -> Any | None:
        for mid, info in self.tracks.items():
            if info["participant_id"] == participant_id and info["source"] == source:
                return self.remote_tracks.get(mid)
        return None

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` is true, re-checking after every event."""
        await wait_until_changed(self._changed, predicate, timeout)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        if self.publish_pc is not None:
            await self.publish_pc.close()
        await self.subscribe_pc.close()
