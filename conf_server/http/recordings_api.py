"""REST routes for recordings.

``POST /api/v1/meetings/{meeting_id}/recording`` (integration or admin key)
starts, pauses, resumes or stops a live meeting's recording. The recordings
themselves (list, metadata, download with HTTP Range and ETag, delete) are
for admin keys only. Ids and file names from the request are checked by
:class:`recording.library.RecordingLibrary` before any path is built, and a
file is opened without following symbolic links (conf_server/http/file_download.py
serves it).

``GET /api/v1/recordings/{id}/transcript?format=json|vtt|txt`` serves the
transcript (recording/transcript_worker.py makes it) under the same rules as
the files: an admin key, or a host's signed link to that transcript file.

In a deployment of several nodes a recording's files stay on the node that
made it; the cluster's index lists every node's recordings, and requests for
one that is elsewhere are relayed to its node (conf_server/http/node_forwarding.py).
"""

from __future__ import annotations

import contextlib
import os

from aiohttp import web

from conf_server.errors import ConfServerError, NodeUnreachable, NotFound
from conf_server.integration.api_keys import Unauthorized
from conf_server.meeting.recording_control import ACTIONS, recording_summary
from conf_server.meeting.transcript_links import TRANSCRIPT_FORMATS
from recording.library import RecordingLibrary

from .api_auth import caller
from .file_download import send_file
from .keys import MEETINGS
from .node_forwarding import forwarded, live_node, meeting_here, relay
from .request_body import InvalidRequest, read_json_object, reject_unknown_fields


class RecordingInProgress(ConfServerError):
    code = "recording_in_progress"
    status = 409


class TranscriptNotReady(ConfServerError):
    """Being made: ``transcript_not_ready``."""

    code = "transcript_not_ready"
    status = 409


class TranscriptUnavailable(ConfServerError):
    """There is none and will be none: ``transcript_disabled``,
    ``transcript_failed`` (the reason in the message), ``no_transcript``."""

    code = "no_transcript"
    status = 404


def _library(request: web.Request) -> RecordingLibrary:
    return request.config_dict[MEETINGS].recording.library_now()


async def recording_elsewhere(request: web.Request, recording_id: str) -> web.StreamResponse | None:
    """The answer of the node that holds a recording this node does not have;
    None if no node has it (or the request was relayed here already)."""
    if forwarded(request):
        return None
    indexed = await request.config_dict[MEETINGS].cluster.recordings()
    entry = next((r for r in indexed if r["id"] == recording_id), None)
    if entry is None or entry["node"] == request.config_dict[MEETINGS].node.name:
        return None
    node = await live_node(request, entry["node"])
    if node is None:
        raise NodeUnreachable(f"the recording is on node {entry['node']}, which is not running")
    return await relay(request, node)


async def post_recording(request: web.Request) -> web.StreamResponse:
    caller(request, "integration")
    body = await read_json_object(request)
    reject_unknown_fields(body, {"action"})
    action = body.get("action")
    if action not in ACTIONS:
        raise InvalidRequest(f"field 'action' must be one of {', '.join(ACTIONS)}")
    state = await meeting_here(request, "no meeting with that id")
    if isinstance(state, web.StreamResponse):
        return state  # answered by the room's node
    status = await request.config_dict[MEETINGS].recording.apply(state, action, "api")
    return web.json_response({"meeting_id": state.meeting_id, "recording": status})


async def list_recordings(request: web.Request) -> web.Response:
    caller(request, "admin")
    library = _library(request)
    library.purge_expired()
    meeting_id = request.query.get("meeting_id")
    records = [recording_summary(r) for r in library.recordings()]
    here = {r["id"] for r in records}
    # Recordings of other nodes, from the index (up to a few seconds old).
    records += [
        r for r in await request.config_dict[MEETINGS].cluster.recordings() if r["id"] not in here
    ]
    records.sort(key=lambda r: r.get("started_at") or 0, reverse=True)  # newest first
    if meeting_id is not None:
        records = [r for r in records if r.get("meeting_id") == meeting_id]
    return web.json_response({"recordings": records})


async def get_recording(request: web.Request) -> web.StreamResponse:
    caller(request, "admin")
    recording_id = request.match_info["recording_id"]
    record = _library(request).get(recording_id)
    if record is None:
        elsewhere = await recording_elsewhere(request, recording_id)
        if elsewhere is not None:
            return elsewhere
        raise NotFound("no recording with that id")
    return web.json_response(recording_summary(record))


async def download_file(request: web.Request) -> web.StreamResponse:
    recording_id, name = request.match_info["recording_id"], request.match_info["name"]
    return await _send_recording_file(request, recording_id, name)


def _authorize(request: web.Request, recording_id: str, name: str) -> None:
    """An admin key, or a host's signed link to this very file."""
    token = request.query.get("download_token")
    if token is None:
        caller(request, "admin")
        return
    # A host's signed link (conf_server/integration/download_links.py): this file only.
    links = request.config_dict[MEETINGS].download_links
    if links is None:
        raise Unauthorized("download links are not enabled")
    links.check(token, recording_id, name)


async def _send_recording_file(
    request: web.Request, recording_id: str, name: str
) -> web.StreamResponse:
    """One file of a recording, for an admin key or a signed link to that file."""
    _authorize(request, recording_id, name)
    library = _library(request)
    fd = library.open_file(recording_id, name)
    if fd is None:
        if library.get(recording_id) is None:
            elsewhere = await recording_elsewhere(request, recording_id)
            if elsewhere is not None:
                return elsewhere
        raise NotFound("no such file in that recording")
    try:
        return await send_file(request, fd, name)
    finally:
        os.close(fd)


def _transcript_missing(record: dict[str, object]) -> ConfServerError:
    """Why ``record`` has no transcript file to serve."""
    status = record.get("transcript")
    if not isinstance(status, dict):
        return TranscriptUnavailable("this recording has no transcript")
    state = status.get("state")
    if state in ("pending", "transcribing"):
        done = round(100 * float(status.get("progress") or 0.0))
        return TranscriptNotReady(f"the transcript is being made ({done} % done); try again later")
    if state == "disabled":
        return TranscriptUnavailable(
            "transcripts were turned off for this recording", "transcript_disabled"
        )
    if state == "failed":
        return TranscriptUnavailable(
            f"the transcript could not be made: {status.get('error')}", "transcript_failed"
        )
    return TranscriptUnavailable("this recording has no transcript")


async def get_transcript(request: web.Request) -> web.StreamResponse:
    recording_id = request.match_info["recording_id"]
    fmt = request.query.get("format", "json")
    if fmt not in TRANSCRIPT_FORMATS:
        raise InvalidRequest("format must be json, vtt or txt")
    name = TRANSCRIPT_FORMATS[fmt]
    _authorize(request, recording_id, name)  # before anything about the recording is said
    library = _library(request)
    record = library.get(recording_id)
    if record is not None and library.file_path(recording_id, name) is None:
        raise _transcript_missing(record)
    return await _send_recording_file(request, recording_id, name)


async def delete_recording(request: web.Request) -> web.StreamResponse:
    caller(request, "admin")
    recording_id = request.match_info["recording_id"]
    service = request.config_dict[MEETINGS]
    if any(r.id == recording_id for r in service.recording.recorders.values()):
        raise RecordingInProgress("stop this recording before deleting it")
    composites = service.recording.composites
    # A worker that has saved the composite is done but may still be exiting
    # (then recording.ready is not sent yet): wait for it rather than refuse.
    if composites.rendering(recording_id) or not await composites.exited(recording_id, 30):
        raise RecordingInProgress("this recording's composite is being rendered; try again later")
    # A transcript being made is stopped: the recording goes, so does its transcript.
    await service.recording.transcripts.cancel(recording_id)
    if not service.recording.library.delete(recording_id):
        elsewhere = await recording_elsewhere(request, recording_id)
        if elsewhere is not None:
            return elsewhere
        raise NotFound("no recording with that id")
    with contextlib.suppress(ConfServerError):  # else the next heartbeat does it
        await service.node.publish_recordings()
    return web.json_response({"id": recording_id, "deleted": True})


def add_routes(api: web.Application) -> None:
    api.router.add_post("/meetings/{meeting_id}/recording", post_recording)
    api.router.add_get("/recordings", list_recordings)
    api.router.add_get("/recordings/{recording_id}", get_recording)
    api.router.add_get("/recordings/{recording_id}/files/{name}", download_file)
    api.router.add_get("/recordings/{recording_id}/transcript", get_transcript)
    api.router.add_delete("/recordings/{recording_id}", delete_recording)
