"""Recording control: start, pause, resume and stop the recording of a room,
under the deployment's policy (see docs/protocol.md, "Recording").

The media work is :class:`recording.RoomRecorder`'s; this module decides who
may record and when, keeps one recorder per live room on this node, tells
everyone in the room (``recording_changed``), has the gallery composite of
each stopped recording rendered in a worker process (the recording is
``processing`` meanwhile), then its transcript made in another (when the
deployment and the meeting want one; see recording/transcript_worker.py), and
announces finished recordings to the webhooks (``recording.ready``, once the
composite is ready; ``recording.transcribed``, once the transcript is, with
its captions in the composite). Policies: ``disabled``
(nobody records), ``hosts`` (hosts and co-hosts start it), ``automatic``
(a meeting starts recording when its first person joins; hosts may still
pause, resume and stop it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from conf_server.cluster.store import NoMeeting, StoreUnavailable
from conf_server.domain import Action, Forbidden, Role, authorize
from conf_server.domain.layout import best_grid
from conf_server.domain.meeting_state import MeetingState, recording_status
from conf_server.errors import ConfServerError, InvalidRequest
from conf_server.integration.recording_shares import SHARES_SCOPE, shares_route
from recording.composite_worker import CompositeWorkers
from recording.errors import QuotaExceeded
from recording.library import RecordingLibrary
from recording.room_recorder import RoomRecorder
from recording.transcript_worker import TranscriptWorkers, wants_transcript

from .meeting_context import ActionHandler, MeetingContext
from .meeting_views import meeting_summary, member_summary
from .rooms import Participant
from .transcript_links import signed_transcript_links, transcript_status
from .transcript_plan import planned_transcript, transcript_options

logger = logging.getLogger(__name__)

ACTIONS = ("start", "pause", "resume", "stop")


class RecordingDisabled(ConfServerError):
    code = "recording_disabled"
    status = 403


class RecordingStateError(ConfServerError):
    """``already_recording``, ``not_recording``, ``not_paused``, ``already_paused``."""

    code = "not_recording"
    status = 409


class MeetingNotLive(ConfServerError):
    code = "meeting_not_live"
    status = 409


class StorageFull(ConfServerError):
    code = "recording_quota_exceeded"
    status = 507


def recording_summary(record: dict[str, Any]) -> dict[str, Any]:
    """What the ``recording.ready`` webhook and the REST API say about a recording
    (``metadata_error`` only for one whose recording.json cannot be used)."""
    unreadable = record.get("metadata_error")
    return {
        "id": record["id"],
        "state": record["state"],
        "meeting_id": record.get("meeting_id"),
        "room": record.get("room"),
        "title": record.get("title"),
        "node": record.get("node"),
        "started_at": record.get("started_at"),
        "ended_at": record.get("ended_at"),
        "duration": record.get("duration"),
        "size": record.get("size", 0),
        "participants": record.get("participants", []),
        "tracks": record.get("tracks", []),
        "files": record.get("files", []),
        "pauses": record.get("pauses", []),
        "composite": record.get("composite"),
        "transcript": transcript_status(record),
        **({"metadata_error": unreadable} if unreadable is not None else {}),
    }


class RecordingControl:
    """One recorder per recorded room of this node, and the recordings library."""

    def __init__(self, service: MeetingContext) -> None:
        self._service = service
        settings = service.settings
        self.policy = settings.recording_policy
        self.library = RecordingLibrary(
            settings.recordings_dir,
            settings.recording_quota_bytes,
            settings.recording_retention_days,
        )
        self.recorders: dict[str, RoomRecorder] = {}  # by room
        #: Rooms whose recording continues here in a new part: since when the
        #: meeting records (what the status says, as before the move).
        self._since: dict[str, float] = {}
        #: Rooms of a spanning deployment this node owned at the last look.
        self._owned: set[str] = set()
        # A host on a satellite starts the recording here, on the owner.
        service.spans.requests.handle("recording", self._requested)
        # The composite uses the live gallery's own layout function.
        self.composites = CompositeWorkers(self.library, best_grid, self._composite_finished)
        #: Stopped recordings whose composite is still to be rendered (started
        #: once an event loop runs: at start-up there may be none yet).
        self._unrendered: list[str] = []
        self.transcripts = TranscriptWorkers(
            self.library, transcript_options(settings), self._transcript_finished
        )
        #: Recordings whose transcript an earlier run did not finish.
        self._untranscribed: list[str] = []
        try:
            self.library.recover(settings.node_name)
            self.library.purge_expired()
            self._unrendered = self.library.unrendered(settings.node_name)
            self._untranscribed = self.library.untranscribed(settings.node_name)
        except OSError:
            logger.exception("could not check the recordings directory")
        self._render_pending()

    def start(self) -> None:
        """The server runs (an event loop exists): render what an earlier run left
        ``processing``."""
        self._render_pending()

    def _render_pending(self) -> None:
        """Start the composite of every recording waiting for one, and the
        transcripts an earlier run left (needs a loop)."""
        if not (self._unrendered or self._untranscribed) or self.composites.closed:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        waiting, self._untranscribed = self._untranscribed, []
        for recording_id in waiting:
            self.transcripts.start(recording_id)
        pending, self._unrendered = self._unrendered, []
        for recording_id in pending:
            try:
                self.composites.start(recording_id)
            except Exception:
                logger.exception("cannot start the composite of recording %s", recording_id)

    def _composite_finished(self, record: dict[str, Any]) -> None:
        if wants_transcript(record) and not self.transcripts.closed:
            try:
                self.transcripts.start(record["id"])
            except Exception:  # the recording stays as it is; retried at the next start
                logger.exception("cannot start the transcript of recording %s", record["id"])
        if record["state"] == "ready":
            meeting = {k: record.get(k) for k in ("meeting_id", "room", "title", "chat_id")}
            self._service.publisher.publish(
                "recording.ready",
                {**meeting, "recording_id": record["id"], "recording": recording_summary(record)},
            )

    def _transcript_finished(self, record: dict[str, Any]) -> None:
        """A transcript worker ended (the worker has logged how): a ready
        transcript is announced (``recording.transcribed``); a failed one is
        not (its reason is in the Recording, as for ``recording.ready``)."""
        status = record.get("transcript")
        if not isinstance(status, dict) or status.get("state") != "ready":
            return
        if "metadata_error" in record:
            return
        meeting = {k: record.get(k) for k in ("meeting_id", "room", "title", "chat_id")}
        summary = recording_summary(record)
        self._service.publisher.publish(
            "recording.transcribed",
            {
                **meeting,
                "recording_id": record["id"],
                "transcript": summary["transcript"],
                "recording": summary,
            },
        )

    def library_now(self) -> RecordingLibrary:
        """The library, with the metadata of running recordings brought up to date."""
        self._render_pending()
        for recorder in self.recorders.values():
            recorder.refresh()
        return self.library

    def handlers(self) -> dict[str, ActionHandler]:
        return {"recording": self.recording, "recording_links": self.recording_links}

    def status(self, room: str) -> dict[str, Any] | None:
        """The recording of ``room`` on this node: null when it records none here."""
        recorder = self.recorders.get(room)
        if recorder is None:
            return None
        return {
            "state": "paused" if recorder.paused else "recording",
            "started_at": self._since.get(room, recorder.record["started_at"]),
        }

    def room_status(self, state: MeetingState) -> dict[str, Any] | None:
        """The ``recording`` field of the Meeting object (null when not
        recording): this node's recorder, else the meeting state's, which the
        recording node keeps for the nodes of a room that spans several."""
        return self.status(state.room) or state.recording

    # -- the Socket.IO message ------------------------------------------------------------

    def records(self, room: str) -> bool:
        """Does this node record ``room`` now (a recorder runs here)?"""
        return room in self.recorders

    async def recording(self, actor: Participant, action: str) -> dict[str, Any] | None:
        state = await self._service.store.get(actor.room)
        if state is None:
            raise MeetingNotLive("the meeting of this room is gone")
        authorize(state.roles, actor.id, Action.RECORD)
        return {"recording": await self.apply(state, action, actor.name)}

    async def recording_links(self, actor: Participant) -> dict[str, Any] | None:
        """The meeting's recordings with signed download links, for its hosts when
        the deployment allows it (``recording_host_download``)."""
        state = await self._service.store.get(actor.room)
        if state is None:
            raise MeetingNotLive("the meeting of this room is gone")
        if state.roles.role_of(actor.id) is not Role.HOST:
            raise Forbidden("only the meeting's host may download its recordings")
        links = self._service.download_links
        if not self._service.settings.recording_host_download or links is None:
            raise Forbidden("on this server only administrators download recordings")
        recordings = []
        for record in self.library_now().recordings():
            if record.get("meeting_id") != state.meeting_id:
                continue
            files = [
                {
                    "name": f["name"],
                    "size": f["size"],
                    "url": f"/api/v1/recordings/{record['id']}/files/{f['name']}"
                    f"?download_token={links.token(record['id'], f['name'])}",
                }
                for f in record.get("files", [])
            ]
            summary = recording_summary(record)
            if summary["transcript"] is not None:
                summary["transcript"]["links"] = signed_transcript_links(record, links.token)
            # The host may make, list and revoke the recording's share links.
            shares_url = shares_route(record["id"])
            shares_url += f"?download_token={links.token(record['id'], SHARES_SCOPE)}"
            recordings.append({**summary, "files": files, "shares_url": shares_url})
        return {"recordings": recordings}

    # -- shared by the message and the REST API ----------------------------------------------

    async def apply(self, state: MeetingState, action: str, by: str) -> dict[str, Any] | None:
        """Run one action on the recording of ``state``'s room; returns the new
        status. A room that spans nodes is recorded by its owner (its relays
        bring it every track): another node asks the owner to do it."""
        owner = await self._service.spans.owner_elsewhere(state.room)
        if owner is None:
            return await self._apply_here(state, action, by)
        answer = await self._service.spans.requests.ask(
            owner, state.room, "recording", do=action, by=by
        )
        return recording_status((answer or {}).get("recording"))

    async def _requested(self, room: str, args: dict[str, Any]) -> dict[str, Any]:
        """Another node of the room asks this one, its owner, to act on the
        recording (its host's right to record was checked there)."""
        action = args.get("do")
        if action not in ACTIONS:
            raise InvalidRequest(f"unknown recording action {action!r}")
        state = await self._service.store.get(room)
        if state is None:
            raise MeetingNotLive("the meeting of this room is gone")
        return {"recording": await self._apply_here(state, str(action), str(args.get("by", "")))}

    async def _apply_here(self, state: MeetingState, action: str, by: str) -> dict[str, Any] | None:
        room = state.room
        recorder = self.recorders.get(room)
        if action == "start":
            if self.policy == "disabled":
                raise RecordingDisabled("recording is disabled on this server")
            if recorder is not None:
                raise RecordingStateError("this meeting is already recording", "already_recording")
            self._start(state)
        elif recorder is None:
            raise RecordingStateError("this meeting is not recording", "not_recording")
        elif action == "pause":
            if recorder.paused:
                raise RecordingStateError("the recording is already paused", "already_paused")
            recorder.pause()
        elif action == "resume":
            if not recorder.paused:
                raise RecordingStateError("the recording is not paused", "not_paused")
            recorder.resume()
        else:
            await self._share_stop(room)
            self._stop(room)
        status = self.status(room)
        if action != "stop":
            await self._remember(room)
        await self._service.events.to_room(
            room, "recording_changed", {"recording": status, "by": by}
        )
        return status

    async def _remember(self, room: str) -> None:
        """Keep the room's recording status in the meeting state: every node
        shows it to newcomers, and a new owner continues the recording."""
        try:
            async with self._service.store.update(room) as state:
                # What is true when written (two hosts' actions may cross);
                # a room that left this node meanwhile is its new owner's.
                if room in self._service.media:
                    state.recording = self.status(room)
        except (StoreUnavailable, NoMeeting) as exc:
            # This node's own newcomers still see it (room_status).
            logger.warning("room %s: the recording status is not shared: %s", room, exc.message)

    async def _share_stop(self, room: str) -> None:
        """A host stops the recording: written into the meeting state
        (:attr:`MeetingState.recording_stopped`, the one record of it) before
        the recorder goes, so that no node starts it again (``automatic``,
        or a new owner of the room), and a join that looks meanwhile still
        sees the recorder (:meth:`room_entered`). :class:`StoreUnavailable`
        goes up: the stop did not happen, the host tries again (as when the
        store fails a moment earlier, when the action reads the state)."""
        try:
            async with self._service.store.update(room) as state:
                state.recording, state.recording_stopped = None, True
        except NoMeeting:
            pass  # the meeting is over: nothing starts its recording again

    def _start(self, state: MeetingState) -> None:
        media = self._service.media.get(state.room)
        if media is None:
            raise MeetingNotLive("nobody is in this meeting right now")
        room = state.room

        def name_of(participant_id: str) -> str | None:
            participant = self._service.participant(room, participant_id)
            return participant.name if participant is not None else None

        try:
            settings = self._service.settings
            meta = {
                **meeting_summary(state),
                "node": settings.node_name,
                "transcript": planned_transcript(settings, state),
            }
            recorder = RoomRecorder(self.library, media.router, meta, name_of)
        except QuotaExceeded as exc:
            raise StorageFull(exc.message) from exc
        except OSError as exc:
            raise ConfServerError(f"cannot write recordings: {exc}", "recording_failed") from exc
        recorder.start()
        for participant in self._service.participants(room):
            recorder.note("participant.present", member_summary(state, participant.id))
        self.recorders[room] = recorder
        logger.info("recording %s of room %s started", recorder.id, room)

    def _stop(self, room: str) -> None:
        self._since.pop(room, None)
        recorder = self.recorders.pop(room, None)
        if recorder is None:
            return
        try:
            record = recorder.stop("processing")
        except Exception:
            logger.exception("stopping recording %s failed", recorder.id)
            record = recorder.record
            record["state"] = "failed"
            self.library.save(record)
        logger.info("recording %s of room %s ended: %s", recorder.id, room, record["state"])
        if record["state"] == "processing":
            self._unrendered.append(record["id"])
            self._render_pending()

    # -- the meeting's life -------------------------------------------------------------------

    async def room_entered(self, state: MeetingState) -> None:
        """Someone entered the room: under ``automatic``, make sure it records
        (before their join acknowledgement says whether it does); a meeting
        that records and whose room came here (its owner died, drained or
        handed it over) goes on recording here."""
        self._render_pending()
        # A room that spans nodes is recorded by its owner.
        if state.room in self.recorders or self._service.spans.is_satellite(state.room):
            return
        automatic = self.policy == "automatic" and not state.recording_stopped
        if state.recording is None and not automatic:
            return
        # The joiner's state was read before the awaits of its join. A host's
        # stop is written before its recorder goes, and there was none when
        # this read began: the store has any stop made here by now.
        try:
            fresh = await self._service.store.get(state.room)
        except StoreUnavailable:
            fresh = state
        if fresh is None or state.room in self.recorders:
            return
        state = fresh
        if state.recording is not None:
            await self.continue_here(state)
        if self.policy != "automatic" or state.recording_stopped or state.room in self.recorders:
            return
        try:
            self._start(state)
        except ConfServerError as exc:
            logger.error("automatic recording of room %s failed: %s", state.room, exc.message)
            return
        await self._remember(state.room)
        await self._service.events.to_room(
            state.room, "recording_changed", {"recording": self.status(state.room), "by": None}
        )

    async def continue_here(self, state: MeetingState) -> None:
        """This node has the room's media and owns the room, whose meeting
        records (``state.recording``) but not here: the recording goes on
        here in a new part (paused if it was). The part before it, on the
        room's previous node, was finalized there when the room left it (or
        is what a dead node left). Nothing changes for the people: the
        status stays what it was."""
        room, wanted = state.room, state.recording
        if wanted is None or room in self.recorders or room not in self._service.media:
            return
        try:
            self._start(state)
        except ConfServerError as exc:
            logger.error("room %s: the recording cannot go on here: %s", room, exc.message)
            await self._remember(room)
            await self._service.events.to_room(
                room, "recording_changed", {"recording": None, "by": None}
            )
            return
        if wanted.get("started_at") is not None:
            self._since[room] = float(wanted["started_at"])
        if wanted["state"] == "paused":
            self.recorders[room].pause()
        logger.info("room %s: the recording goes on here (%s)", room, self.recorders[room].id)

    async def owned(self, rooms: set[str]) -> None:
        """Once per heartbeat round where rooms may span nodes: the rooms
        this node owns. One it did not own at the last look (a satellite the
        room was handed to, or that took it from a dead owner) continues the
        meeting's recording (one store read per room that changed hands)."""
        checked = self._owned & rooms
        for room in sorted(rooms - self._owned):
            if room not in self.recorders and room in self._service.media:
                try:
                    state = await self._service.store.get(room)
                except StoreUnavailable:
                    continue  # looked at again next round
                if state is not None:
                    await self.continue_here(state)
            checked.add(room)
        self._owned = checked

    def room_closed(self, room: str) -> None:
        """The room's media is about to close: finish its recording."""
        self._stop(room)

    def close(self) -> None:
        # Workers stop first: recordings stopped now stay ``processing`` and
        # are rendered at the next start (and transcripts made).
        self.transcripts.close()
        self.composites.close()
        for room in list(self.recorders):
            self._stop(room)
