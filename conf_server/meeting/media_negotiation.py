"""Media negotiation for the participants on this node: one RoomMedia per
live room, publishing, ICE candidates, the subscriber's answer, the
participant's view and muting."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from conf_server.connectivity_settings import parse_rtc_ports
from conf_server.errors import ConfServerError
from conf_server.integration.turn_credentials import server_ice_servers
from conf_server.settings import Settings
from sfu import (
    PublishTransport,
    SfuError,
    SfuSettings,
    SfuStats,
    SubscribeTransport,
    check_media_ports,
    timeline,
)
from sfu.settings import DEFAULT_SIMULCAST_LAYERS, SIMULCAST_REFERENCE

from .meeting_views import mic_locked
from .room_media import RoomMedia, ViewPreferences
from .rooms import Participant
from .service_context import ServiceContext


def client_media_settings(simulcast: bool) -> dict[str, Any]:
    """What a client needs to publish as the SFU expects (the ``media`` of the
    join acknowledgement): its camera's simulcast layers, lowest first, with
    bitrates for a camera of ``simulcast_reference`` size."""
    layers = DEFAULT_SIMULCAST_LAYERS if simulcast else ()
    media: dict[str, Any] = {
        "simulcast": [
            {"rid": layer.rid, "scale_down": layer.scale_down, "max_bitrate": layer.max_bitrate}
            for layer in layers
        ]
    }
    if layers:
        width, height = SIMULCAST_REFERENCE
        media["simulcast_reference"] = {"width": width, "height": height}
    return media


def sfu_settings(settings: Settings) -> SfuSettings:
    """The SFU's share of the deployment's settings."""
    return SfuSettings(
        ice_servers=server_ice_servers(settings.ice_servers),
        ice_addresses=settings.ice_addresses,
        announced_address=settings.announced_address,
        rtc_ports=parse_rtc_ports(settings.rtc_ports) if settings.rtc_ports else None,
        max_video_bitrate=settings.max_video_bitrate,
        simulcast_layers=DEFAULT_SIMULCAST_LAYERS if settings.simulcast else (),
        dynacast=settings.dynacast,
        audio_forward_speakers=settings.audio_forward_speakers,
        spare_slots=settings.spare_slots,
    )


def refuse_when_media_ports_full(settings: Settings, participants: int) -> None:
    """Raise ``media_ports_full`` when the media port range (``rtc_ports``)
    cannot hold one more participant besides the ``participants`` on this node."""
    if settings.rtc_ports is None:
        return
    try:
        check_media_ports(sfu_settings(settings), participants)
    except SfuError as exc:
        raise ConfServerError(exc.message, exc.code) from exc


class MediaNegotiation:
    """The media side of the meeting: each room's SFU router and transports."""

    def __init__(self, context: ServiceContext, sfu_stats: SfuStats) -> None:
        self._context = context
        self._sfu_settings = sfu_settings(context.settings)
        self.sfu_stats = sfu_stats
        self.media: dict[str, RoomMedia] = {}

    def room_media(self, room_id: str) -> RoomMedia:
        media = self.media.get(room_id)
        if media is None:
            context = self._context

            def to_participant(
                event: str,
            ) -> Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]:
                """A callback that sends ``event`` to one participant of the room."""

                async def send(participant_id: str, payload: dict[str, Any]) -> None:
                    participant = context.participant(room_id, participant_id)
                    if participant is not None and participant.sid is not None:
                        await context.events.to_client(participant.sid, event, payload)

                return send

            async def speaker_changed(participant_id: str) -> None:
                # Each node finds the speaker among the tracks it has (all of
                # them, in a room that spans nodes) and tells its own sockets.
                await context.events.to_room(
                    room_id, "active_speaker", {"participant_id": participant_id}, here_only=True
                )

            media = self.media[room_id] = RoomMedia(
                self._sfu_settings,
                to_participant("subscriber_offer"),
                speaker_changed,
                self.sfu_stats,
                to_participant("media_quality"),
                to_participant("publish_layers"),
                to_participant("subscriber_tracks"),
            )
        return media

    async def publish(self, sid: str, sdp: str, sources: dict[str, str]) -> dict[str, Any]:
        participant = self._context.participant_by_sid(sid)
        timeline.step(participant.id, "publish received")
        media = self.room_media(participant.room)
        try:
            answer = await media.publish(participant.id, sdp, sources)
        except SfuError as exc:
            raise ConfServerError(exc.message, exc.code) from exc
        # A source published while muted starts paused too.
        media.set_paused(participant.id, "microphone", participant.audio_muted)
        media.set_paused(participant.id, "camera", participant.video_muted)
        media.set_paused(participant.id, "screen", False)
        sharing = "screen" in media.sources_of(participant.id)
        if sharing != participant.screen_sharing:
            participant.screen_sharing = sharing
            await self._context.broadcast_update(participant)
        timeline.step(participant.id, "publish answered")
        return {"sdp": answer}

    async def publisher_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        participant = self._context.participant_by_sid(sid)
        transport = self.room_media(participant.room).publishers.get(participant.id)
        if transport is None:
            raise ConfServerError("send publish before ICE candidates", "invalid_state")
        await self._add_candidate(transport, candidate, sdp_mid, sdp_mline_index)

    async def subscriber_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        participant = self._context.participant_by_sid(sid)
        transport = self.room_media(participant.room).subscribers.get(participant.id)
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
        participant = self._context.participant_by_sid(sid)
        transport = self.room_media(participant.room).subscribers.get(participant.id)
        if transport is None:
            raise ConfServerError("no subscriber offer is pending", "stale_answer")
        try:
            await transport.accept_answer(revision, sdp)
        except SfuError as exc:
            raise ConfServerError(exc.message, exc.code) from exc

    async def set_view(
        self, sid: str, video: list[str], sizes: dict[str, int], pinned: list[str], later: int = 0
    ) -> None:
        participant = self._context.participant_by_sid(sid)
        self.room_media(participant.room).set_view(
            participant.id, set(video), ViewPreferences(sizes, frozenset(pinned)), later
        )

    async def mute(self, sid: str, source: str, muted: bool) -> None:
        participant = self._context.participant_by_sid(sid)
        if source == "microphone" and not muted and participant.audio_muted:
            state = await self._context.store.get(participant.room)
            if state is not None and mic_locked(state, participant.id):
                raise ConfServerError(
                    "a host has locked your microphone; ask them to let you talk",
                    "mic_locked",
                )
        self.set_muted(participant, source, muted)
        await self._context.broadcast_update(participant)

    def set_muted(self, participant: Participant, source: str, muted: bool) -> None:
        """Mute or unmute one source of a participant on the server (no notice)."""
        if source == "microphone":
            participant.audio_muted = muted
        elif source == "camera":
            participant.video_muted = muted
        elif source == "screen":
            participant.screen_sharing = not muted and participant.screen_sharing
        self.room_media(participant.room).set_paused(participant.id, source, muted)

    async def close_room_media(self, room_id: str) -> None:
        """The room has nobody here any more: stop its recorder, captions and media."""
        self._context.recording.room_closed(room_id)
        self._context.captions.room_closed(room_id)
        await self._context.spans.media_closed(room_id)
        media = self.media.pop(room_id, None)
        if media is not None:
            await media.close()

    def stats(self) -> dict[str, int]:
        totals: dict[str, int] = {"rooms": len(self.media)}
        for media in self.media.values():
            for key, value in media.stats().items():
                totals[key] = totals.get(key, 0) + value
        return totals

    async def close(self) -> None:
        for media in list(self.media.values()):
            await media.close()
        self.media.clear()
