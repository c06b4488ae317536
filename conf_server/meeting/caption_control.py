"""Live captions of the rooms on this node (docs/protocol.md, "Live captions").

A host turns captions on for the meeting (``set_captions``); then each
person chooses to see them (``captions``). A room is captioned only while
captions are on *and* somebody wants them: the first ``captions {on: true}``
starts the room's caption process (:class:`recording.caption_process.CaptionProcess`,
the deployment's transcript engine in the meeting's language) and its
:class:`recording.live_captions.LiveCaptioner` on the room's router; the
last one to leave or turn them off (or the host turning them off, or the
room closing) stops both. Each caption goes only to the people who turned
captions on, as a ``caption`` event with the speaker's name.

Limits that keep the CPU bounded: ``captions_max_speakers`` speakers of a
room at once, ``captions_max_rooms`` rooms of this node at once (beyond:
``captions_busy``); the worker runs at a lower priority than the server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from conf_server.domain import Action, authorize
from conf_server.domain.meeting_state import MeetingState
from conf_server.errors import ConfServerError
from conf_server.settings import Settings, transcript_engine_choice
from recording.caption_process import (
    Caption,
    CaptionOptions,
    CaptionProcess,
    CaptionsUnavailable,
)
from recording.errors import TranscriptError
from recording.live_captions import LiveCaptioner
from recording.speech_engines import check_language, engine_problem

from .host_controls import announce_settings
from .meeting_context import ActionHandler, MeetingContext
from .rooms import Participant

logger = logging.getLogger(__name__)

#: The longest caption text sent (an utterance is cut after a few seconds anyway).
MAX_CAPTION_CHARS = 500


class CaptionsRefused(ConfServerError):
    """``captions_disabled``, ``captions_off``, ``captions_busy``,
    ``captions_unavailable`` or the engine's ``transcript_language_unsupported``."""

    code = "captions_unavailable"
    status = 409


@dataclass
class RoomCaptions:
    """The captions of one room while someone wants them."""

    room: str
    viewers: set[str] = field(default_factory=set)  # participant ids
    process: CaptionProcess | None = None
    captioner: LiveCaptioner | None = None
    starting: asyncio.Future[None] | None = None


def caption_options(settings: Settings, language: str | None) -> CaptionOptions:
    """The caption engine of this deployment for a meeting in ``language``;
    raises :class:`CaptionsRefused` when it cannot caption that meeting."""
    choice = transcript_engine_choice(settings, language)
    try:
        spoken = check_language(choice)
    except TranscriptError as exc:
        raise CaptionsRefused(exc.message, exc.code) from exc
    problem = engine_problem(choice)
    if problem is not None:
        raise CaptionsRefused(f"live captions are not available: {problem}")
    return CaptionOptions(
        engine=choice.engine,
        model=choice.model,
        language=spoken,
        deployment_language=choice.deployment_language,
    )


class CaptionControl:
    """``set_captions`` and ``captions`` for every room of this node."""

    def __init__(self, service: MeetingContext) -> None:
        self._service = service
        self.rooms: dict[str, RoomCaptions] = {}

    def handlers(self) -> dict[str, ActionHandler]:
        return {"set_captions": self.set_captions, "captions": self.captions}

    # -- the messages -----------------------------------------------------------------

    async def set_captions(self, actor: Participant, enabled: bool) -> dict[str, Any]:
        """A host or co-host turns the meeting's live captions on or off."""
        settings = self._service.settings
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.CONFIGURE_MEETING)
            if enabled:
                if not settings.captions_enabled:
                    raise CaptionsRefused(
                        "live captions are turned off on this server", "captions_disabled"
                    )
                caption_options(settings, state.language)  # refuses what cannot work
            changed = state.captions != enabled
            state.captions = enabled
        if changed:
            await announce_settings(self._service, state)
            if not enabled:
                await self._stop(actor.room)
        return {"captions": enabled}

    async def captions(self, actor: Participant, on: bool) -> dict[str, Any]:
        """One person shows (or hides) the captions."""
        room = self.rooms.get(actor.room)
        if not on:
            if room is not None:
                room.viewers.discard(actor.id)
                await self._stop_if_unwatched(actor.room)
            return {"on": False}
        state = await self._service.store.get(actor.room)
        if state is None or not state.captions:
            raise CaptionsRefused("a host has not turned on live captions", "captions_off")
        if room is None:
            room = await self._start(state)
        room.viewers.add(actor.id)
        if room.starting is not None:
            await asyncio.shield(room.starting)
        return {"on": True}

    # -- the room's caption process -------------------------------------------------------

    async def _start(self, state: MeetingState) -> RoomCaptions:
        settings = self._service.settings
        media = self._service.media.get(state.room)
        if media is None:
            raise CaptionsRefused("nobody is in this meeting right now", "meeting_not_live")
        if len(self.rooms) >= settings.captions_max_rooms:
            raise CaptionsRefused(
                "this server captions as many meetings as it can right now; try later",
                "captions_busy",
            )
        options = caption_options(settings, state.language)
        room = RoomCaptions(state.room)
        self.rooms[state.room] = room
        loop = asyncio.get_running_loop()
        room.starting = loop.create_future()
        room.process = CaptionProcess(
            options,
            lambda caption: self._caption(room, caption),
            lambda reason: self._died(room, reason),
        )
        try:
            await room.process.start()
        except CaptionsUnavailable as exc:
            self._forget(room)
            room.starting.set_exception(CaptionsRefused(exc.message, exc.code))
            room.starting.exception()  # retrieved: the waiters get theirs below
            raise CaptionsRefused(exc.message, exc.code) from exc
        except BaseException:
            self._forget(room)
            room.starting.cancel()
            raise
        if self.rooms.get(state.room) is not room:  # stopped meanwhile
            await room.process.close()
            room.starting.set_result(None)
            raise CaptionsRefused("live captions were turned off", "captions_off")
        room.captioner = LiveCaptioner(
            media.router, room.process, self._service.settings.captions_max_speakers
        )
        room.captioner.start()
        room.starting.set_result(None)
        room.starting = None
        logger.info("live captions of room %s started (%s)", state.room, options.engine)
        return room

    def _forget(self, room: RoomCaptions) -> None:
        if self.rooms.get(room.room) is room:
            del self.rooms[room.room]

    async def _stop(self, room_id: str) -> None:
        room = self.rooms.pop(room_id, None)
        if room is None:
            return
        if room.captioner is not None:
            room.captioner.close()
        if room.process is not None:
            await room.process.close()
        logger.info("live captions of room %s stopped", room_id)

    async def _stop_if_unwatched(self, room_id: str) -> None:
        room = self.rooms.get(room_id)
        if room is None:
            return
        room.viewers = {
            pid for pid in room.viewers if self._service.participant(room_id, pid) is not None
        }
        if not room.viewers and room.starting is None:
            await self._stop(room_id)

    # -- from the caption process ---------------------------------------------------------

    def _caption(self, room: RoomCaptions, caption: Caption) -> None:
        if room.captioner is None or self.rooms.get(room.room) is not room:
            return
        speaker = room.captioner.speaker_of(caption.stream)
        if speaker is None:
            return
        logger.debug("caption %d.%d %s", caption.stream, caption.utterance, caption.final)
        who = self._service.participant(room.room, speaker.participant_id)
        payload = {
            "id": f"{caption.stream}.{caption.utterance}",
            "participant_id": speaker.participant_id,
            "name": who.name if who is not None else "",
            "text": caption.text[:MAX_CAPTION_CHARS],
            "final": caption.final,
        }
        self._service.tasks.spawn(self._send(room, payload))

    async def _send(self, room: RoomCaptions, payload: dict[str, Any]) -> None:
        gone = []
        for participant_id in list(room.viewers):
            viewer = self._service.participant(room.room, participant_id)
            if viewer is None:
                gone.append(participant_id)
            elif viewer.sid is not None:
                await self._service.events.to_client(viewer.sid, "caption", payload)
        if gone:
            room.viewers.difference_update(gone)
            await self._stop_if_unwatched(room.room)

    def _died(self, room: RoomCaptions, reason: str | None) -> None:
        """The caption process ended on its own: tell the viewers, clean up."""
        logger.error("the caption process of room %s ended: %s", room.room, reason)
        if self.rooms.get(room.room) is not room:
            return
        viewers = list(room.viewers)

        async def stopped() -> None:
            await self._stop(room.room)
            message = "live captions stopped because of a server problem; turn them on again"
            for participant_id in viewers:
                viewer = self._service.participant(room.room, participant_id)
                if viewer is not None and viewer.sid is not None:
                    await self._service.events.to_client(
                        viewer.sid,
                        "captions_stopped",
                        {"code": "captions_failed", "message": message},
                    )

        self._service.tasks.spawn(stopped())

    # -- the meeting's life ---------------------------------------------------------------

    async def room_closed(self, room_id: str) -> None:
        """The room's media is about to close."""
        await self._stop(room_id)

    async def close(self) -> None:
        for room_id in list(self.rooms):
            await self._stop(room_id)
