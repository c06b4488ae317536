"""Crash safety of meeting reports: a running meeting's report is saved as it
changes, and the next start finishes the reports a crash cut off.

Normally a meeting's report is archived when its room empties
(:meth:`MeetingService.archive_report`). A process killed mid-meeting never
gets there, and with the embedded store the meeting state dies with it. So,
while a room is hosted here, :class:`LiveReports` keeps a *live* snapshot of
its report (the same ``build_report`` output and polls CSV) in the report
archive:

- a change (join, leave, a meeting action) marks the room; marked rooms are
  saved once per :data:`SNAPSHOT_SECONDS` tick, joins, leaves and
  :data:`URGENT_ACTIONS` at once unless the room was saved within the last
  tick (so a flood of joins and leaves costs no more than a tick's saves). A
  crash loses at most one tick of chat and votes. Saving runs in the
  background, never inside the action that changed the meeting, and writes
  only the chat messages that are new (about a millisecond, however long the
  transcript; the store's transcript is read only when there are some);
- every tick also stamps the live snapshots of the rooms still hosted here
  (one small transaction), so the meeting's end after a crash is known to
  within a tick even when nothing changed for an hour;
- at start-up (:meth:`LiveReports.recover`, before this node hosts anything)
  each snapshot still live is looked up in the store:

  - the meeting is still there (Redis outlives the process; or a worker
    sharing the data dir runs it): it goes on, and the node that hosts or
    adopts it ends it the normal way (members who do not come back time out,
    ``meeting.ended`` reason ``empty``, the final report archived); nothing
    to do here;
  - it is gone and the store is the embedded one: it died with the process.
    The snapshot becomes the final report (``ended``, everybody still in it
    left at the last stamp, ``end_reason`` ``server_restart``), and
    ``participant.left`` for each of them and ``meeting.ended`` are queued,
    reason ``server_restart``;
  - it is gone from a shared store: the deployment ended it after the crash
    (and sent ``meeting.ended`` then); the snapshot is made final without
    webhooks.

  A snapshot is made final by a compare-and-set in the database, before its
  webhooks are queued, so that another start (or a worker sharing the data
  dir) never sends them again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from conf_server.cluster.store import StoreUnavailable
from conf_server.domain.meeting_state import CHAT_LOG, CHAT_TRANSCRIPT, MeetingState
from conf_server.integration.reports import (
    LiveSnapshot,
    ReportArchive,
    build_report,
    interrupted_report,
    polls_csv,
)
from sfu.tasks import cancel_and_wait

from .meeting_context import ReportsContext

logger = logging.getLogger(__name__)

#: A changed meeting's report is saved at most this often.
SNAPSHOT_SECONDS = 2.0
#: Meeting actions whose outcome is saved at once, not at the next tick.
URGENT_ACTIONS = frozenset({"poll_close", "questionnaire_close", "end_meeting"})
#: ``reason`` of the webhooks, ``end_reason`` of the report of a meeting whose
#: process died.
RESTART_REASON = "server_restart"


class LiveReports:
    """Live report snapshots of the rooms hosted here (see the module docstring)."""

    def __init__(self, service: ReportsContext, interval: float = SNAPSHOT_SECONDS) -> None:
        self._service = service
        self._interval = interval
        self._dirty: set[str] = set()
        self._saving: set[str] = set()
        #: Room -> meeting id of its live snapshot, for the tick's stamp.
        self._live: dict[str, str] = {}
        #: Room -> when its live snapshot was last saved (monotonic).
        self._saved_at: dict[str, float] = {}
        #: Room -> (meeting id, id of the newest chat message its snapshot has).
        self._chat_saved: dict[str, tuple[str, int]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def _archive(self) -> ReportArchive | None:
        return self._service.archive

    def _hosted(self, room: str) -> bool:
        return room in self._service.directory.rooms

    # -- while meetings run --------------------------------------------------------

    def changed(self, room: str, urgent: bool = False) -> None:
        """The room's report changed: save it at the next tick, or now."""
        if self._archive is None:
            return
        recently = time.monotonic() - self._saved_at.get(room, -math.inf) < self._interval
        if urgent and not recently and room not in self._saving:
            self._service.tasks.spawn(self._save(room))
        else:
            self._dirty.add(room)

    def archived(self, room: str) -> None:
        """The room's final report was just saved (it emptied)."""
        self._forget(room)
        if self._hosted(room):
            self._dirty.add(room)  # someone came back meanwhile: live again
        else:
            self._dirty.discard(room)

    def _forget(self, room: str) -> None:
        self._live.pop(room, None)
        self._saved_at.pop(room, None)
        self._chat_saved.pop(room, None)

    async def _save(self, room: str) -> None:
        archive = self._archive
        if archive is None or not self._hosted(room):
            return
        if room in self._saving:
            self._dirty.add(room)  # the save under way may have missed the change
            return
        self._saving.add(room)
        try:
            state = await self._service.store.get(room)
            new_chat = await self._new_chat(state) if state else []
        except StoreUnavailable:
            self._dirty.add(room)
            return
        finally:
            self._saving.discard(room)
        # No await from the check to the write: a room that emptied meanwhile
        # has its final report already, which must not turn live again.
        if state is None or not self._hosted(room):
            return
        archive.save_live(build_report(state, []), polls_csv(state), new_chat, CHAT_TRANSCRIPT)
        self._live[room] = state.meeting_id
        self._saved_at[room] = time.monotonic()
        if new_chat:
            self._chat_saved[room] = (state.meeting_id, new_chat[-1]["id"])

    async def _new_chat(self, state: MeetingState) -> list[dict[str, Any]]:
        """The meeting's chat messages that its snapshot lacks (the transcript,
        up to 10 000 messages, is read only when there are some)."""
        meeting_id, saved = self._chat_saved.get(state.room, ("", 0))
        if meeting_id != state.meeting_id:
            saved = 0  # not saved by this process yet: the archive ignores repeats
        if int(state.chat.to_dict()["next_id"]) - 1 <= saved:
            return []
        chat = await self._service.store.read(state.room, CHAT_LOG)
        return [message for message in chat if message["id"] > saved]

    async def tick(self) -> None:
        """Save the changed rooms' reports; stamp the others as still running."""
        archive = self._archive
        if archive is None:
            return
        dirty, self._dirty = self._dirty, set()
        for room in sorted(dirty):
            try:
                await self._save(room)
            except Exception:
                logger.exception("could not save the live report of room %s", room)
        for room in [room for room in self._live if not self._hosted(room)]:
            self._forget(room)
        if self._live:
            archive.touch_live(list(self._live.values()), time.time())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.tick()
            except Exception:
                logger.exception("live reports: tick failed")

    # -- start and stop ----------------------------------------------------------------

    async def start(self) -> None:
        """Finish what a crash left live (:meth:`recover`), then keep snapshots."""
        if self._archive is None or self._task is not None:
            return
        await self.recover()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="live reports")

    async def stop(self) -> None:
        """Stop the ticks, saving what changed since the last one."""
        if self._task is None:
            return
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await self.tick()
        except Exception:
            logger.exception("live reports: last save failed")

    # -- after a crash ---------------------------------------------------------------

    async def recover(self) -> int:
        """Finish the live snapshots of meetings whose process died; returns
        how many were finished. Call before this node hosts any room."""
        archive = self._archive
        if archive is None:
            return 0
        finished = 0
        for snapshot in archive.live_snapshots():
            try:
                if await self._service.store.find(snapshot.meeting_id) is not None:
                    continue  # it goes on in the shared store (module docstring)
            except StoreUnavailable:
                logger.warning(
                    "store unavailable: the live report of %s waits", snapshot.meeting_id
                )
                continue
            if self._finish(archive, snapshot):
                finished += 1
        return finished

    def _finish(self, archive: ReportArchive, snapshot: LiveSnapshot) -> bool:
        report, cut_short = interrupted_report(snapshot.report, snapshot.alive_at, RESTART_REASON)
        if not archive.finish(snapshot, report):
            return False  # another process finished it first
        room, at = report["room"], time.strftime("%H:%M:%S", time.localtime(snapshot.alive_at))
        if self._service.settings.redis_url is not None:
            logger.info(
                "meeting %s (room %s) ran here until a crash at about %s and was ended by"
                " the deployment since; this node's copy of its report is kept as final",
                snapshot.meeting_id,
                room,
                at,
            )
            return True
        logger.warning(
            "meeting %s (room %s) was cut off by a crash at about %s: its report is final,"
            " meeting.ended queued",
            snapshot.meeting_id,
            room,
            at,
        )
        self._publish_end(report, cut_short)
        return True

    def _publish_end(self, report: dict[str, Any], cut_short: list[dict[str, Any]]) -> None:
        """The webhooks of the end the crash prevented, as a normal end sends them."""
        summary = {key: report[key] for key in ("meeting_id", "room", "title", "chat_id")}
        publisher = self._service.publisher
        for row in cut_short:
            participant = {
                "id": row["participant_id"],
                **{key: row[key] for key in ("name", "user_id", "mode", "zone")},
            }
            publisher.publish(
                "participant.left",
                {**summary, "participant": participant, "reason": RESTART_REASON},
            )
        publisher.publish("meeting.ended", {**summary, "reason": RESTART_REASON})
