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
from sfu import Router

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
    #: Which process of this node's this is (caption ids stay unique).
    generation: int = 0


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
        self._generation = 0
        #: Processes stopped but not yet gone (they count against captions_max_rooms).
        self._closing = 0

    def handlers(self) -> dict[str, ActionHandler]:
        return {"set_captions": self.set_captions, "captions": self.captions}

    # -- the messages -----------------------------------------------------------------

    async def set_captions(self, actor: Participant, enabled: bool) -> dict[str, Any]:
        """A host or co-host turns the meeting's live captions on or off."""
        settings = self._service.settings
        async with self._service.store.update(actor.room) as state:
            authorize(state.roles, actor.id, Action.CONFIGURE_MEETING)
            if enabled:
                self._refuse_when_turned_off()
                caption_options(settings, state.language)  # refuses what cannot work
            changed = state.captions != enabled
            state.captions = enabled
        if changed:
            if not enabled:
                self._stop(actor.room)
            await announce_settings(self._service, state)
        return {"captions": enabled}

    def _refuse_when_turned_off(self) -> None:
        """``captions_disabled`` when this server runs no captions at all
        (switched off, or no room may have them)."""
        settings = self._service.settings
        if not settings.captions_enabled or settings.captions_max_rooms == 0:
            raise CaptionsRefused(
                "live captions are turned off on this server", "captions_disabled"
            )

    async def captions(self, actor: Participant, on: bool) -> dict[str, Any]:
        """One person shows (or hides) the captions."""
        if not on:
            room = self.rooms.get(actor.room)
            if room is not None:
                room.viewers.discard(actor.id)
                self._stop_if_unwatched(actor.room)
            return {"on": False}
        self._refuse_when_turned_off()
        state = await self._service.store.get(actor.room)
        if state is None or not state.captions:
            raise CaptionsRefused("a host has not turned on live captions", "captions_off")
        # Looked up after the store read and started without an await in
        # between: concurrent first requests share one process.
        room = self.rooms.get(actor.room)
        if room is None:
            room = self._start(state)
        room.viewers.add(actor.id)
        if room.starting is not None:
            await asyncio.shield(room.starting)
        if self.rooms.get(actor.room) is not room or actor.id not in room.viewers:
            raise CaptionsRefused("live captions were turned off meanwhile", "captions_off")
        return {"on": True}

    def participant_left(self, room_id: str, participant_id: str) -> None:
        """Someone left the room: no more captions for them (the last viewer
        leaving stops the room's captions)."""
        room = self.rooms.get(room_id)
        if room is not None:
            room.viewers.discard(participant_id)
            self._stop_if_unwatched(room_id)

    # -- the room's caption process -------------------------------------------------------

    def _start(self, state: MeetingState) -> RoomCaptions:
        """Take the room's place (synchronously: checks and insert in one
        step) and start its process in the background; ``starting`` is done
        when it runs, or fails with the reason."""
        settings = self._service.settings
        media = self._service.media.get(state.room)
        if media is None:
            raise CaptionsRefused("nobody is in this meeting right now", "meeting_not_live")
        if len(self.rooms) + self._closing >= settings.captions_max_rooms:
            raise CaptionsRefused(
                "this server captions as many meetings as it can right now; try later",
                "captions_busy",
            )
        options = caption_options(settings, state.language)
        self._generation += 1
        room = RoomCaptions(state.room, generation=self._generation)
        self.rooms[state.room] = room
        room.starting = asyncio.get_running_loop().create_future()
        room.process = CaptionProcess(
            options,
            lambda caption: self._caption(room, caption),
            lambda reason: self._died(room, reason),
        )
        self._service.tasks.spawn(self._run(room, media.router, options.engine))
        return room

    async def _run(self, room: RoomCaptions, router: Router, engine: str) -> None:
        starting = room.starting
        assert room.process is not None and starting is not None
        try:
            await room.process.start()
        except CaptionsUnavailable as exc:
            self._forget(room)
            starting.set_exception(CaptionsRefused(exc.message, exc.code))
            starting.exception()  # retrieved: the waiters get theirs
            return
        except BaseException:
            self._forget(room)
            starting.set_exception(CaptionsRefused("live captions could not start"))
            starting.exception()
            raise
        room.starting = None
        if self.rooms.get(room.room) is not room:  # stopped meanwhile
            self._close_in_background(room)
            starting.set_exception(CaptionsRefused("live captions were turned off", "captions_off"))
            starting.exception()
            return
        room.captioner = LiveCaptioner(
            router, room.process, self._service.settings.captions_max_speakers
        )
        room.captioner.start()
        starting.set_result(None)
        self._stop_if_unwatched(room.room)  # everyone who asked left meanwhile
        logger.info("live captions of room %s started (%s)", room.room, engine)

    def _forget(self, room: RoomCaptions) -> None:
        if self.rooms.get(room.room) is room:
            del self.rooms[room.room]

    def _stop(self, room_id: str) -> None:
        """Forget the room's captions now; its process ends in the background
        (a worker busy with a final may take a moment)."""
        room = self.rooms.pop(room_id, None)
        if room is None:
            return
        if room.captioner is not None:
            room.captioner.close()
            room.captioner = None
        if room.starting is None:  # a starting one is closed by _run
            self._close_in_background(room)
        logger.info("live captions of room %s stopped", room_id)

    def _close_in_background(self, room: RoomCaptions) -> None:
        process = room.process
        if process is None:
            return
        self._closing += 1  # still counts against captions_max_rooms

        async def close() -> None:
            try:
                await process.close()
            finally:
                self._closing -= 1

        self._service.tasks.spawn(close())

    def _stop_if_unwatched(self, room_id: str) -> None:
        room = self.rooms.get(room_id)
        if room is None:
            return
        room.viewers = {
            pid for pid in room.viewers if self._service.participant(room_id, pid) is not None
        }
        if not room.viewers and room.starting is None:
            self._stop(room_id)

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
            # The generation keeps ids unique across the room's processes.
            "id": f"{room.generation}.{caption.stream}.{caption.utterance}",
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
            self._stop_if_unwatched(room.room)

    def _died(self, room: RoomCaptions, reason: str | None) -> None:
        """The caption process ended on its own: tell the viewers, clean up."""
        logger.error("the caption process of room %s ended: %s", room.room, reason)
        if self.rooms.get(room.room) is not room:
            return
        viewers = list(room.viewers)
        self._stop(room.room)  # at once: a new request starts afresh
        message = "live captions stopped because of a server problem; turn them on again"

        async def tell() -> None:
            for participant_id in viewers:
                viewer = self._service.participant(room.room, participant_id)
                if viewer is not None and viewer.sid is not None:
                    await self._service.events.to_client(
                        viewer.sid,
                        "captions_stopped",
                        {"code": "captions_failed", "message": message},
                    )

        self._service.tasks.spawn(tell())

    # -- the meeting's life ---------------------------------------------------------------

    def room_closed(self, room_id: str) -> None:
        """The room's media is about to close."""
        self._stop(room_id)

    async def close(self) -> None:
        """The server stops: every caption process with it."""
        rooms = list(self.rooms.values())
        self.rooms.clear()
        for room in rooms:
            if room.captioner is not None:
                room.captioner.close()
            if room.process is not None:
                await room.process.close()
