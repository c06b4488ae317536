"""MeetingService: the domain behind the signaling edge.

Implements ``signaling.MeetingService``: it keeps the roster (RoomDirectory),
owns one RoomMedia per live room, and tells clients what changed through an
``EventSink``. Reconnect grace timers live here too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sfu import PublishTransport, SfuError, SfuSettings, SfuStats, SubscribeTransport
from sfu.tasks import TaskGroup
from signaling import PROTOCOL_VERSION, EventSink

from .errors import ConfServerError
from .room_media import RoomMedia
from .rooms import Participant, RoomDirectory
from .settings import Settings

logger = logging.getLogger(__name__)


class NotInRoom(ConfServerError):
    code = "not_joined"
    status = 409


class MeetingService:
    """Rooms, participants and their media on this node."""

    def __init__(self, settings: Settings, events: EventSink) -> None:
        self.settings = settings
        self.directory = RoomDirectory(settings.max_participants_per_room)
        self.media: dict[str, RoomMedia] = {}
        self._events = events
        self._sfu_settings = SfuSettings(
            ice_servers=settings.ice_servers,
            ice_addresses=settings.ice_addresses,
            max_video_bitrate=settings.max_video_bitrate,
        )
        #: Media counters of every room on this node (exported at /metrics).
        self.sfu_stats = SfuStats()
        self._grace: dict[str, asyncio.TimerHandle] = {}
        self._tasks = TaskGroup("meeting service")

    # -- helpers -------------------------------------------------------------------

    def _participant(self, sid: str) -> Participant:
        participant = self.directory.by_sid(sid)
        if participant is None:
            raise NotInRoom("join a room first")
        return participant

    def _room_media(self, room_id: str) -> RoomMedia:
        media = self.media.get(room_id)
        if media is None:

            async def send_offer(participant_id: str, offer: dict[str, Any]) -> None:
                room = self.directory.rooms.get(room_id)
                participant = room.participants.get(participant_id) if room else None
                if participant is not None and participant.sid is not None:
                    await self._events.to_client(participant.sid, "subscriber_offer", offer)

            async def speaker_changed(participant_id: str) -> None:
                await self._events.to_room(
                    room_id, "active_speaker", {"participant_id": participant_id}
                )

            media = self.media[room_id] = RoomMedia(
                self._sfu_settings, send_offer, speaker_changed, self.sfu_stats
            )
        return media

    async def _broadcast_update(self, participant: Participant) -> None:
        await self._events.to_room(
            participant.room, "participant_updated", {"participant": participant.to_wire()}
        )

    # -- MeetingService ------------------------------------------------------------

    async def join(
        self, sid: str, room: str, name: str, resume_token: str | None, receive: bool = True
    ) -> dict[str, Any]:
        participant, previous_sid = self.directory.join(room, name, sid, resume_token)
        resumed = previous_sid is not None
        if previous_sid:
            # The owner came back on a new socket before the old one timed out.
            await self._events.leave_room(previous_sid, room)
            await self._events.disconnect(previous_sid)
        self._cancel_grace(participant)
        media = self._room_media(room)
        if resumed:
            # Fresh peer connections: whatever was left of the old ones goes.
            await media.remove_participant(participant.id)
            participant.screen_sharing = False
        await self._events.enter_room(sid, room)
        if receive:
            media.add_subscriber(participant.id)
        if resumed:
            await self._broadcast_update(participant)
        else:
            await self._events.to_room(
                room, "participant_joined", {"participant": participant.to_wire()}, skip_sid=sid
            )
        return {
            "protocol": PROTOCOL_VERSION,
            "room": room,
            "participant_id": participant.id,
            "resume_token": participant.resume_token,
            "resumed": resumed,
            "participants": self.directory.rooms[room].roster(),
            "ice_servers": [{"urls": url} for url in self.settings.ice_servers],
        }

    async def publish(self, sid: str, sdp: str, sources: dict[str, str]) -> dict[str, Any]:
        participant = self._participant(sid)
        media = self._room_media(participant.room)
        try:
            answer = await media.publish(participant.id, sdp, sources)
        except SfuError as exc:
            raise ConfServerError(exc.message, exc.code) from exc
        # A source published while muted starts paused too.
        media.set_paused(participant.id, "microphone", participant.audio_muted)
        media.set_paused(participant.id, "camera", participant.video_muted)
        sharing = "screen" in media.sources_of(participant.id)
        if sharing != participant.screen_sharing:
            participant.screen_sharing = sharing
            await self._broadcast_update(participant)
        return {"sdp": answer}

    async def publisher_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        participant = self._participant(sid)
        transport = self._room_media(participant.room).publishers.get(participant.id)
        if transport is None:
            raise ConfServerError("send publish before ICE candidates", "invalid_state")
        await self._add_candidate(transport, candidate, sdp_mid, sdp_mline_index)

    async def subscriber_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        participant = self._participant(sid)
        transport = self._room_media(participant.room).subscribers.get(participant.id)
        if transport is None or transport.pc.remoteDescription is None:
            raise ConfServerError(
                "answer a subscriber_offer before ICE candidates", "invalid_state"
            )
        await self._add_candidate(transport, candidate, sdp_mid, sdp_mline_index)

    @staticmethod
    async def _add_candidate(
        transport: PublishTransport | SubscribeTransport,
        candidate: str,
        sdp_mid: str | None,
        sdp_mline_index: int | None,
    ) -> None:
        if not candidate:
            return  # end-of-candidates: aiortc needs no notice
        try:
            await transport.add_ice_candidate(candidate, sdp_mid, sdp_mline_index)
        except SfuError as exc:
            raise ConfServerError(exc.message, exc.code) from exc

    async def subscriber_answer(self, sid: str, revision: int, sdp: str) -> None:
        participant = self._participant(sid)
        transport = self._room_media(participant.room).subscribers.get(participant.id)
        if transport is None:
            raise ConfServerError("no subscriber offer is pending", "stale_answer")
        try:
            await transport.accept_answer(revision, sdp)
        except SfuError as exc:
            raise ConfServerError(exc.message, exc.code) from exc

    async def set_view(self, sid: str, video: list[str]) -> None:
        participant = self._participant(sid)
        self._room_media(participant.room).set_view(participant.id, set(video))

    async def mute(self, sid: str, source: str, muted: bool) -> None:
        participant = self._participant(sid)
        if source == "microphone":
            participant.audio_muted = muted
        else:
            participant.video_muted = muted
        self._room_media(participant.room).set_paused(participant.id, source, muted)
        await self._broadcast_update(participant)

    async def leave(self, sid: str) -> None:
        participant = self._participant(sid)
        await self._events.leave_room(sid, participant.room)
        await self._remove(participant, "left")

    async def disconnected(self, sid: str, network_loss: bool) -> None:
        participant = self.directory.by_sid(sid)
        if participant is None:
            return
        if not network_loss:
            await self._remove(participant, "disconnected")
            return
        self.directory.detach(participant)
        media = self.media.get(participant.room)
        if media is not None:
            await media.remove_participant(participant.id)
        participant.screen_sharing = False
        await self._broadcast_update(participant)
        loop = asyncio.get_running_loop()
        self._grace[participant.id] = loop.call_later(
            self.settings.reconnect_grace_seconds, self._grace_expired, participant
        )

    def _cancel_grace(self, participant: Participant) -> None:
        timer = self._grace.pop(participant.id, None)
        if timer is not None:
            timer.cancel()

    def _grace_expired(self, participant: Participant) -> None:
        self._grace.pop(participant.id, None)
        if not participant.connected:
            self._tasks.spawn(self._remove(participant, "timeout"))

    async def _remove(self, participant: Participant, reason: str) -> None:
        self._cancel_grace(participant)
        room_id = participant.room
        media = self.media.get(room_id)
        if media is not None:
            await media.remove_participant(participant.id)
        room = self.directory.remove(participant)
        await self._events.to_room(
            room_id, "participant_left", {"participant_id": participant.id, "reason": reason}
        )
        if room is None and media is not None:
            self.media.pop(room_id, None)
            await media.close()

    # -- introspection and shutdown -------------------------------------------------

    def room_info(self, room_id: str) -> dict[str, Any]:
        room = self.directory.rooms.get(room_id)
        return {
            "room": room_id,
            "meeting_id": room.meeting_id if room else None,
            "participants": room.roster() if room else [],
        }

    def media_stats(self) -> dict[str, int]:
        totals: dict[str, int] = {"rooms": len(self.media)}
        for media in self.media.values():
            for key, value in media.stats().items():
                totals[key] = totals.get(key, 0) + value
        return totals

    async def close(self) -> None:
        for timer in self._grace.values():
            timer.cancel()
        self._grace.clear()
        await self._tasks.cancel_all()
        for media in list(self.media.values()):
            await media.close()
        self.media.clear()
