"""When and by whom the ``meeting.summary`` webhook is sent.

The rule (docs/rest-api.md, "The meeting summary"): one ``meeting.summary``
per meeting, after ``meeting.ended`` **and** once every recording of the
meeting is done (``ready``, ``failed`` or ``incomplete``, and a ready one's
transcript ``ready``, ``failed`` or ``disabled``), or at the latest
``summary_wait_max_seconds`` after the end; a summary sent at that deadline
says which recordings are still processing (``complete: false``,
``still_processing``).

Who sends it: :class:`SummarySender` stands between the meeting service and
the webhook dispatcher. It passes every event on and, on ``meeting.ended``,
notes the meeting in the node's database (``meeting_summaries``, see
conf_server/integration/meeting_summary.py), so it is the node that ended the
meeting (the one whose endpoints got ``meeting.ended``) that sends the
summary. A background task looks at the pending summaries every
``CHECK_SECONDS`` and whenever a recording is announced. To send one it
first claims ``summary:<meeting id>`` for its node in the shared store
(Redis; a claim that another node holds means that node sends it), then
marks the summary sent and queues it for the endpoints in one database
transaction. So: one summary per meeting even with several nodes or several
processes sharing a database; a node killed while waiting resumes after its
restart (the rows are durable; its own claim is granted again). A node that
never comes back takes its pending summaries with it, as it does its
undelivered webhooks (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from conf_server.cluster.once_claims import MemoryOnceClaims, OnceClaims
from conf_server.cluster.store import StoreUnavailable
from conf_server.integration.download_links import LINK_TTL
from conf_server.integration.meeting_summary import (
    PendingSummary,
    SummaryQueue,
    build_summary,
    processing,
)
from conf_server.integration.reports import build_report
from conf_server.integration.webhooks import WebhookDispatcher
from sfu.tasks import cancel_and_wait

from .recording_control import recording_summary
from .transcript_links import signed_transcript_links

if TYPE_CHECKING:
    from .meeting_service import MeetingService

logger = logging.getLogger(__name__)

#: How often pending summaries are looked at (besides each recording event).
CHECK_SECONDS = 5.0
#: Sent summaries are forgotten this long after their meeting ended.
KEEP_SENT_SECONDS = 30 * 24 * 3600.0
#: The meeting fields of ``meeting.ended`` that the summary repeats.
MEETING_FIELDS = ("meeting_id", "room", "title", "chat_id", "reason")
#: Events after which a pending summary may have become due.
WAKING_EVENTS = frozenset({"meeting.ended", "recording.ready", "recording.transcribed"})


class SummarySender:
    """The meeting service's event publisher, with ``meeting.summary`` added
    (see the module docstring)."""

    def __init__(
        self,
        service: MeetingService,
        webhooks: WebhookDispatcher,
        queue: SummaryQueue,
        claims: OnceClaims | None = None,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self._service = service
        self._webhooks = webhooks
        self._queue = queue
        self._claims: OnceClaims = claims if claims is not None else MemoryOnceClaims()
        self._check_seconds = check_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    # -- the meeting side: never blocks, never raises ------------------------------

    def publish(self, event_type: str, data: dict[str, Any]) -> str | None:
        """Pass the event on; a ``meeting.ended`` also makes its summary pending."""
        event_id = self._webhooks.publish(event_type, data)
        if event_type == "meeting.ended" and data.get("meeting_id"):
            try:
                meeting = {key: data.get(key) for key in MEETING_FIELDS}
                wait_max = self._service.settings.summary_wait_max_seconds
                self._queue.add(meeting, time.time(), wait_max)
            except Exception:
                logger.exception("could not note the summary of meeting %s", data["meeting_id"])
        if event_type in WAKING_EVENTS:
            self._wake.set()
        return event_id

    # -- the background task -------------------------------------------------------

    async def start(self) -> None:
        """Look at pending summaries from now on (those of an earlier run too)."""
        if self._task is None and not self.closed:
            self._task = asyncio.create_task(self._run(), name="meeting summaries")

    async def close(self) -> None:
        self.closed = True
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _run(self) -> None:
        while not self.closed:
            self._wake.clear()
            try:
                await self.check()
            except Exception:
                logger.exception("meeting summaries: check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._check_seconds)

    async def check(self) -> list[str]:
        """Send every pending summary that is due; returns their event ids."""
        pending = self._queue.pending()
        if not pending:
            return []
        sent = []
        # Read once per pass, not once per pending meeting (every metadata file).
        recordings = await self._all_recordings()
        for summary in pending:
            mine = [r for r in recordings if r.get("meeting_id") == summary.meeting_id]
            try:
                event_id = await self._try(summary, mine)
            except StoreUnavailable:
                logger.warning("store unavailable: the summary of %s waits", summary.meeting_id)
                continue
            if event_id is not None:
                sent.append(event_id)
        if sent:
            self._queue.prune(time.time() - KEEP_SENT_SECONDS)
        return sent

    async def _try(self, pending: PendingSummary, recordings: list[dict[str, Any]]) -> str | None:
        meeting_id = pending.meeting_id
        overdue = time.time() >= pending.due_at
        if not overdue and any(processing(r) for r in recordings):
            return None
        report, live = await self._report(meeting_id)
        # Someone joined the emptied meeting again: it goes on, and so does the wait.
        if not overdue and (live or report is None):
            return None
        node = self._service.settings.node_name
        if not await self._claims.claim(f"summary:{meeting_id}", node):
            logger.info("the summary of meeting %s is another node's to send", meeting_id)
            self._queue.claim(meeting_id, "")
            return None
        data = build_summary(
            report or {},
            recordings,
            pending.meeting,
            pending.ended_at,
            self._signer(),
            self._service.settings.public_url,
        )
        event_id = self._webhooks.publish_claimed(
            "meeting.summary", data, lambda eid: self._queue.claim(meeting_id, eid)
        )
        if event_id is not None:
            logger.info(
                "meeting.summary of %s queued (%s)",
                meeting_id,
                "complete" if data["complete"] else "recordings still processing",
            )
        return event_id

    async def _report(self, meeting_id: str) -> tuple[dict[str, Any] | None, bool]:
        """The meeting's report as ``GET …/report`` gives it, without chat
        (the summary has none) and recordings, and whether people are in the
        meeting (again)."""
        service = self._service
        state = await service.store.find(meeting_id)
        if state is not None:
            return build_report(state, []), not state.ended and bool(state.present_ids())
        archived = service.archive.get(meeting_id) if service.archive is not None else None
        return (None if archived is None else archived[0]), False

    async def _all_recordings(self) -> list[dict[str, Any]]:
        """Every recording: this node's as they are now, then those other
        nodes hold (from the deployment's index), oldest first."""
        here = [recording_summary(r) for r in self._service.recording.library_now().recordings()]
        if self._service.settings.redis_url:
            known = {r["id"] for r in here}
            try:
                elsewhere = await self._service.cluster.recordings()
            except StoreUnavailable:
                elsewhere = []  # this node's own are known; the others' wait for the next pass
            here += [r for r in elsewhere if r["id"] not in known]
        return sorted(here, key=lambda r: r.get("started_at") or 0.0)

    def _signer(self) -> Any:
        """Signed links for a recording, where the deployment lets non-admins
        download (``recording_host_download``); None elsewhere."""
        links = self._service.download_links
        if not self._service.settings.recording_host_download or links is None:
            return None

        def signed(record: dict[str, Any]) -> dict[str, Any]:
            recording_id = str(record["id"])
            files = {
                f["name"]: f"/api/v1/recordings/{recording_id}/files/{f['name']}"
                f"?download_token={links.token(recording_id, f['name'])}"
                for f in record.get("files", [])
                if isinstance(f, dict) and "name" in f
            }
            transcript = signed_transcript_links(
                {"id": recording_id, "transcript": record.get("transcript")}, links.token
            )
            return {
                "files": files,
                "transcript": transcript,
                "expires_at": round(time.time() + LINK_TTL),
            }

        return signed
