"""OpenAPI paths and schemas of recording: control of a meeting's recording
and the admin routes for recordings (merged into conf_server/http/openapi.py)."""

from __future__ import annotations

from typing import Any

from .openapi_integration import BEARER, REF, errors, json_response, path_params

_STATUS = {
    "type": "object",
    "nullable": True,
    "description": "Null when the meeting is not recording.",
    "required": ["state", "started_at"],
    "properties": {
        "state": {"type": "string", "enum": ["recording", "paused"]},
        "started_at": {"type": "number"},
    },
}

_FILE = {
    "type": "object",
    "required": ["name", "size"],
    "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
}

_TRACK = {
    "type": "object",
    "required": ["name", "kind", "codec"],
    "properties": {
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["audio", "video"]},
        "codec": {"type": "string", "enum": ["VP8", "opus"]},
        "participant_id": {"type": "string", "nullable": True},
        "source": {"type": "string", "nullable": True},
        "start": {"type": "number", "nullable": True, "description": "Seconds on the timeline"},
        "duration": {"type": "number"},
        "frames": {"type": "integer"},
        "error": {
            "type": "string",
            "nullable": True,
            "description": "Why writing this track stopped early, if it did",
        },
    },
}

_TRANSCRIPT_STATUS = {
    "type": "object",
    "nullable": True,
    "description": "The transcript (docs/architecture.md, Transcripts): made by a worker after "
    "the composite, from each participant's own audio track. Its failure never changes the "
    "recording's `state`. Null for recordings made before transcripts existed",
    "required": ["state", "progress", "engine", "language", "files", "error"],
    "properties": {
        "state": {
            "type": "string",
            "enum": ["disabled", "pending", "transcribing", "ready", "failed"],
            "description": "`disabled`: turned off by the deployment (transcript_enabled) or "
            "the meeting (transcript: false)",
        },
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "engine": {"type": "string", "enum": ["pocketsphinx", "whispercpp", "vosk"]},
        "language": {"type": "string", "description": "The meeting's language (a tag)"},
        "files": {
            "type": "array",
            "items": {"type": "string"},
            "description": "transcript.json, transcript.vtt, transcript.txt once ready",
        },
        "segments": {"type": "integer", "nullable": True},
        "error": {"type": "string", "nullable": True, "description": "Why it failed"},
        "error_code": {
            "type": "string",
            "nullable": True,
            "description": "transcript_language_unsupported, transcript_engine_unavailable, "
            "transcript_engine_unknown, transcript_worker_died, transcript_failed",
        },
        "speech_seconds": {"type": "number", "description": "Speech given to the recognizer"},
        "cpu_seconds": {"type": "number", "description": "CPU time the worker spent"},
        "captions": {
            "type": "object",
            "nullable": True,
            "description": "The transcript as a subtitle track (mov_text) in composite.mp4, "
            "added once the transcript is ready; null when there is no composite or nothing "
            "was said. `failed`: the composite is kept as it was, without captions",
            "required": ["state", "cues", "error"],
            "properties": {
                "state": {"type": "string", "enum": ["added", "failed"]},
                "cues": {"type": "integer", "minimum": 0},
                "error": {"type": "string", "nullable": True},
            },
        },
        "url": {
            "type": "string",
            "description": "The route that serves it: /api/v1/recordings/{id}/transcript "
            "(add ?format=vtt or ?format=txt); an admin key or a signed link opens it",
        },
        "links": {
            "type": "object",
            "description": "Only in `recording_links` (Socket.IO, the meeting's hosts): signed "
            "links to the ready transcript, one per format (json, vtt, txt); empty before",
            "additionalProperties": {"type": "string"},
        },
    },
}

_SEGMENT = {
    "type": "object",
    "required": ["speaker_id", "speaker_name", "start", "end", "text", "confidence"],
    "properties": {
        "speaker_id": {"type": "string", "nullable": True, "description": "Participant id"},
        "speaker_name": {"type": "string", "nullable": True, "description": "Display name"},
        "start": {"type": "number", "description": "Seconds on the recording's clock"},
        "end": {"type": "number"},
        "text": {"type": "string"},
        "confidence": {"type": "number", "nullable": True, "minimum": 0, "maximum": 1},
        "words": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["word", "start", "end"],
                "properties": {
                    "word": {"type": "string"},
                    "start": {"type": "number"},
                    "end": {"type": "number"},
                    "confidence": {"type": "number", "nullable": True},
                },
            },
        },
    },
}

_TRANSCRIPT = {
    "type": "object",
    "required": ["segments"],
    "properties": {
        "recording_id": {"type": "string"},
        "engine": {"type": "string"},
        "language": {"type": "string"},
        "segments": {"type": "array", "items": {"$ref": REF + "TranscriptSegment"}},
    },
}

_RECORDING = {
    "type": "object",
    "required": ["id", "state", "started_at", "ended_at", "duration", "size", "files"],
    "properties": {
        "id": {"type": "string"},
        "state": {
            "type": "string",
            "enum": ["recording", "processing", "ready", "incomplete", "failed"],
        },
        "meeting_id": {"type": "string", "nullable": True},
        "room": {"type": "string", "nullable": True},
        "title": {"type": "string", "nullable": True},
        "node": {
            "type": "string",
            "nullable": True,
            "description": "The node whose disk holds the files (any node serves them)",
        },
        "started_at": {"type": "number"},
        "ended_at": {"type": "number", "nullable": True},
        "duration": {"type": "number", "description": "Recorded seconds (pauses excluded)"},
        "size": {"type": "integer", "description": "Bytes of all files"},
        "participants": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string", "nullable": True},
                },
            },
        },
        "tracks": {"type": "array", "items": {"$ref": REF + "RecordingTrack"}},
        "files": {"type": "array", "items": {"$ref": REF + "RecordingFile"}},
        "pauses": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        },
        "metadata_error": {
            "type": "string",
            "description": "Only for a recording whose recording.json cannot be used (not "
            "JSON, a symbolic link, not a recording's metadata): why. Such a recording is "
            "listed as `failed` with its files, so an admin can fetch and delete it",
        },
        "composite": {
            "type": "object",
            "nullable": True,
            "description": "The gallery composite (one MP4, H.264 + AAC), rendered after the "
            "recording stops while the recording is `processing`; null before that and for a "
            "recording without media",
            "required": ["state", "progress", "file", "error"],
            "properties": {
                "state": {"type": "string", "enum": ["pending", "rendering", "ready", "failed"]},
                "progress": {"type": "number", "minimum": 0, "maximum": 1},
                "file": {
                    "type": "string",
                    "nullable": True,
                    "description": "`composite.mp4` once ready (download it as a file)",
                },
                "error": {"type": "string", "nullable": True},
                "render_seconds": {"type": "number"},
            },
        },
        "transcript": {"$ref": REF + "TranscriptStatus"},
    },
}

#: What a recording's files are (track files, the composite, the timeline).
_FILE_TYPES: dict[str, Any] = {
    "video/webm": {},
    "video/mp4": {},
    "application/json": {},
    "text/vtt": {},
    "text/plain": {},
    "application/octet-stream": {},
}
_TOKEN = {
    "name": "download_token",
    "in": "query",
    "schema": {"type": "string"},
    "description": "A host's signed link to this file, instead of an admin key",
}

SCHEMAS: dict[str, Any] = {
    "RecordingStatus": _STATUS,
    "RecordingFile": _FILE,
    "RecordingTrack": _TRACK,
    "Recording": _RECORDING,
    "TranscriptStatus": _TRANSCRIPT_STATUS,
    "TranscriptSegment": _SEGMENT,
    "Transcript": _TRANSCRIPT,
}


def _error(description: str) -> dict[str, Any]:
    return json_response({"$ref": REF + "Error"}, description)


def recording_paths() -> dict[str, Any]:
    return {
        "/api/v1/meetings/{meeting_id}/recording": {
            "post": {
                "summary": "Start, pause, resume or stop a live meeting's recording",
                "security": BEARER,
                "parameters": path_params("meeting_id"),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["action"],
                                "additionalProperties": False,
                                "properties": {
                                    "action": {
                                        "type": "string",
                                        "enum": ["start", "pause", "resume", "stop"],
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["meeting_id", "recording"],
                            "properties": {
                                "meeting_id": {"type": "string"},
                                "recording": {"$ref": REF + "RecordingStatus"},
                            },
                        },
                        "The new recording status (null after stop)",
                    ),
                    **errors(400, 401, 404),
                    "403": _error("The key's scope does not allow this, or recording_disabled"),
                    "409": _error(
                        "already_recording, not_recording, already_paused, not_paused, "
                        "meeting_not_live"
                    ),
                    "507": _error("recording_quota_exceeded: the recordings storage is full"),
                    "503": _error(
                        "node_unreachable: the node that hosts the meeting's room (which "
                        "carries out the request) does not answer; store_unavailable"
                    ),
                },
            }
        },
        "/api/v1/recordings": {
            "get": {
                "summary": "Every recording, newest first (admin)",
                "security": BEARER,
                "parameters": [{"name": "meeting_id", "in": "query", "schema": {"type": "string"}}],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["recordings"],
                            "properties": {
                                "recordings": {
                                    "type": "array",
                                    "items": {"$ref": REF + "Recording"},
                                }
                            },
                        },
                        "Recordings",
                    ),
                    **errors(401, 403),
                },
            }
        },
        "/api/v1/recordings/{recording_id}": {
            "get": {
                "summary": "One recording's metadata (admin)",
                "security": BEARER,
                "parameters": path_params("recording_id"),
                "responses": {
                    "200": json_response({"$ref": REF + "Recording"}, "The recording"),
                    **errors(401, 403, 404),
                },
            },
            "delete": {
                "summary": "Delete a recording and its files (admin)",
                "security": BEARER,
                "parameters": path_params("recording_id"),
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["id", "deleted"],
                            "properties": {
                                "id": {"type": "string"},
                                "deleted": {"type": "boolean"},
                            },
                        },
                        "Deleted",
                    ),
                    **errors(401, 403, 404),
                    "409": _error("recording_in_progress: stop it first"),
                },
            },
        },
        "/api/v1/recordings/{recording_id}/files/{name}": {
            "get": {
                "summary": "Download one file of a recording (admin); HTTP Range and ETag",
                "description": "Conditional and range requests per RFC 9110: one byte range "
                "gives 206; several ranges give the whole file (200); If-Range with the "
                "current ETag (or Last-Modified) gives the range, else the whole file. "
                "Symbolic links are never served.",
                "security": BEARER,
                "parameters": [
                    *path_params("recording_id", "name"),
                    *(
                        {"name": header, "in": "header", "schema": {"type": "string"}}
                        for header in (
                            "Range",
                            "If-Range",
                            "If-Match",
                            "If-None-Match",
                            "If-Modified-Since",
                            "If-Unmodified-Since",
                        )
                    ),
                ],
                "responses": {
                    "200": {"description": "The file", "content": _FILE_TYPES},
                    "206": {
                        "description": "The requested range (Content-Range: bytes first-last/size)",
                        "content": _FILE_TYPES,
                    },
                    "304": {"description": "Not modified (If-None-Match or If-Modified-Since)"},
                    "412": _error("precondition_failed: If-Match or If-Unmodified-Since"),
                    "416": _error(
                        "range_not_satisfiable: the range starts at or after the end, is "
                        "`bytes=-0` or is malformed (Content-Range: bytes */size)"
                    ),
                    **errors(401, 403, 404),
                },
            }
        },
        "/api/v1/recordings/{recording_id}/transcript": {
            "get": {
                "summary": "A recording's transcript (admin, or a signed link to the file)",
                "description": "`format=json` (default) is `transcript.json`, `vtt` is WebVTT "
                "with each cue starting with the speaker's name, `txt` is one line per segment "
                "(`[hh:mm:ss] Name: text`). Served like the files (HTTP Range, ETag).",
                "security": BEARER,
                "parameters": [
                    *path_params("recording_id"),
                    {
                        "name": "format",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["json", "vtt", "txt"]},
                    },
                    _TOKEN,
                ],
                "responses": {
                    "200": {
                        "description": "The transcript",
                        "content": {
                            "application/json": {"schema": {"$ref": REF + "Transcript"}},
                            "text/vtt": {},
                            "text/plain": {},
                        },
                    },
                    "206": {"description": "The requested range", "content": _FILE_TYPES},
                    "304": {"description": "Not modified"},
                    **errors(400, 401, 403),
                    "404": _error(
                        "not_found (no such recording), no_transcript, transcript_disabled, "
                        "transcript_failed (the message says why)"
                    ),
                    "409": _error("transcript_not_ready: being made (the message says how far)"),
                },
            }
        },
    }
