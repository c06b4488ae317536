"""The OpenAPI 3 document of the HTTP API, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from conf_server.settings import Settings

from . import openapi_integration as integration
from . import openapi_recordings as recordings
from .openapi_connectivity import connectivity_paths
from .openapi_integration import json_response
from .openapi_media import MEDIA_SCHEMAS, media_paths
from .openapi_shares import SHARE_SCHEMAS, share_paths
from .openapi_webhooks import WEBHOOK_SCHEMAS, webhook_paths

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "retry_after": {
                    "type": "number",
                    "description": "Seconds to wait before trying again (also the "
                    "Retry-After header): rate_limited, too_many_meetings, store_unavailable",
                },
            },
        }
    },
}

_PARTICIPANT = {
    "type": "object",
    "required": ["id", "name", "joined_at", "audio_muted", "video_muted", "screen_sharing"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "joined_at": {"type": "number"},
        "audio_muted": {"type": "boolean"},
        "video_muted": {"type": "boolean"},
        "screen_sharing": {"type": "boolean"},
        "connected": {"type": "boolean"},
        "role": {"type": "string", "enum": ["host", "co_host", "participant"]},
        "mic_locked": {"type": "boolean"},
    },
}


_POLL_DRAFT = {
    "type": "object",
    "required": ["question", "options"],
    "properties": {
        "question": {"type": "string", "maxLength": 500},
        "options": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 20},
        "kind": {"type": "string", "enum": ["single", "multiple", "quiz"]},
        "anonymous": {"type": "boolean"},
        "correct_option_ids": {"type": "array", "items": {"type": "string"}},
    },
}

_QUESTION = {
    "type": "object",
    "required": ["kind", "prompt"],
    "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "enum": ["single", "multiple", "rating", "text"]},
        "prompt": {"type": "string", "maxLength": 500},
        "options": {
            "type": "array",
            "items": {"type": "string", "maxLength": 200},
            "minItems": 2,
            "maxItems": 20,
            "description": "single and multiple only",
        },
        "max_length": {
            "type": "integer",
            "minimum": 1,
            "maximum": 500,
            "description": "text only: the longest answer (default 200)",
        },
    },
}

_QUESTIONNAIRE_DRAFT = {
    "type": "object",
    "required": ["title", "questions"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "maxLength": 200},
        "anonymous": {"type": "boolean"},
        "questions": {"type": "array", "items": _QUESTION, "minItems": 1, "maxItems": 20},
    },
}

_WEIGHT = {"type": "integer", "minimum": 0, "maximum": 100}
_PARTICIPATION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["enabled"],
    "description": "Participation points (docs/protocol.md, Participation points), as the "
    "set_participation message sets them; an unknown weight or one out of range is refused",
    "properties": {
        "enabled": {"type": "boolean"},
        "visibility": {"type": "string", "enum": ["host", "everyone", "off"]},
        "weights": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **{name: _WEIGHT for name in ("attendance", "votes", "quiz", "called_on", "chat")},
                "chat_per_minute": {"type": "integer", "minimum": 0, "maximum": 60},
            },
        },
    },
}

_NEW_MEETING = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "room": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{1,64}$",
            "description": "Needs an API key; without one the room name is random",
        },
        "title": {"type": "string", "maxLength": 200},
        "passcode": {"type": "string", "maxLength": 64},
        "lobby_enabled": {"type": "boolean"},
        "transcript": {
            "type": "boolean",
            "nullable": True,
            "description": "Transcribe this meeting's recordings (default: the deployment's "
            "transcript_enabled); true where transcripts are off is refused (transcript_disabled)",
        },
        "language": {
            "type": "string",
            "maxLength": 35,
            "nullable": True,
            "description": "The language spoken (a tag such as en-US; default: the deployment's "
            "transcript_language). One the configured engine does not speak is refused with "
            "400 transcript_language_unsupported (the embedded engine speaks en / en-US only)",
        },
        "polls": {
            "type": "array",
            "items": _POLL_DRAFT,
            "description": "Draft polls; needs an API key",
        },
        "questionnaires": {
            "type": "array",
            "items": _QUESTIONNAIRE_DRAFT,
            "description": "Draft questionnaires (docs/protocol.md, Questionnaires); needs an "
            "API key; at most 20 per meeting",
        },
        "participation": _PARTICIPATION,
    },
}

_CREATED_MEETING = {
    "type": "object",
    "required": ["meeting_id", "room", "title", "host_key", "host_url", "join_url"],
    "properties": {
        "meeting_id": {"type": "string"},
        "room": {"type": "string"},
        "title": {"type": "string"},
        "host_key": {"type": "string"},
        "host_url": {"type": "string"},
        "join_url": {"type": "string"},
    },
}

_MEETING = {
    "type": "object",
    "required": ["meeting_id", "room", "title", "state", "created_at", "participants"],
    "properties": {
        "meeting_id": {"type": "string"},
        "room": {"type": "string"},
        "title": {"type": "string"},
        "state": {"type": "string", "enum": ["waiting", "live", "ended"]},
        "created_at": {"type": "number"},
        "locked": {"type": "boolean"},
        "lobby_enabled": {"type": "boolean"},
        "transcript": {"type": "boolean", "nullable": True},
        "language": {"type": "string", "nullable": True},
        "participants": {"type": "array", "items": {"$ref": "#/components/schemas/Participant"}},
        "recording": {"$ref": "#/components/schemas/RecordingStatus"},
    },
}


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The document; server URL from ``public_url`` when set."""
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
    error = {"$ref": "#/components/schemas/Error"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "conf-server API", "version": "1"},
        "servers": [{"url": base}],
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Participant": _PARTICIPANT,
                **WEBHOOK_SCHEMAS,
                **integration.SCHEMAS,
                **recordings.SCHEMAS,
                **SHARE_SCHEMAS,
                **MEDIA_SCHEMAS,
            },
            "securitySchemes": integration.SECURITY_SCHEMES,
        },
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": json_response({"type": "object"}, "OpenAPI 3 document")},
                }
            },
            "/api/v1/rooms/{room}": {
                "get": {
                    "summary": "Who is in a room, and which node hosts it",
                    "parameters": [
                        {
                            "name": "room",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                        }
                    ],
                    "responses": {
                        "200": json_response(
                            {
                                "type": "object",
                                "required": ["room", "meeting_id", "participants", "node"],
                                "properties": {
                                    "room": {"type": "string"},
                                    "meeting_id": {"type": "string", "nullable": True},
                                    "participants": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Participant"},
                                    },
                                    "node": {
                                        "type": "string",
                                        "nullable": True,
                                        "description": "The hosting node's name; null when "
                                        "no node hosts the room",
                                    },
                                },
                            },
                            "The room, as the node that hosts it sees it (another node "
                            "forwards the request there); meeting_id is null when nobody "
                            "is in it",
                        ),
                        "400": json_response(
                            {"$ref": "#/components/schemas/Error"}, "Bad room name"
                        ),
                        "503": json_response(
                            error,
                            "node_unreachable: the room's node does not answer; "
                            "store_unavailable: Redis cannot be reached",
                        ),
                    },
                }
            },
            "/api/v1/meetings": {
                "post": {
                    "summary": "Create a meeting ahead of time (host link, passcode, lobby, "
                    "draft polls)",
                    "description": "Without a key (the landing page): a random room name, "
                    "no draft polls, forgotten after anonymous_meeting_ttl_seconds unless "
                    "opened, at most anonymous_meetings_per_hour per client address, refused "
                    "while the server holds max_meetings meetings. With an integration or "
                    "admin key: any free room name and draft polls, kept 7 days.",
                    "security": [{}, *integration.BEARER],
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": _NEW_MEETING}},
                    },
                    "responses": {
                        "201": json_response(_CREATED_MEETING, "The meeting and its links"),
                        "400": json_response(
                            error,
                            "Invalid JSON or fields; transcript_language_unsupported (the "
                            "transcript engine does not speak `language`), transcript_disabled "
                            "(`transcript: true` where transcripts are off)",
                        ),
                        "401": json_response(
                            error,
                            "unauthorized: 'room', 'polls' or 'questionnaires' without a key, "
                            "a key that is "
                            "not valid, or no creation without a key on this server",
                        ),
                        "409": json_response(error, "room_in_use: the room has a meeting"),
                        "413": json_response(error, "Body too large (over 64 KiB)"),
                        "415": json_response(
                            error, "unsupported_media_type: the body is not application/json"
                        ),
                        "429": json_response(
                            error,
                            "rate_limited: too many meetings created without a key from "
                            "this address; retry_after says when to try again",
                        ),
                        "503": json_response(
                            error,
                            "too_many_meetings: the server holds max_meetings meetings "
                            "(without a key); store_unavailable: Redis cannot be reached",
                        ),
                    },
                }
            },
            "/api/v1/meetings/{meeting_id}": {
                "get": {
                    "summary": "A meeting's state and participants",
                    "security": integration.BEARER,
                    "parameters": [
                        {
                            "name": "meeting_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": json_response(
                            _MEETING,
                            "The meeting, answered by the node that hosts its room "
                            "(forwarded there if needed)",
                        ),
                        **integration.errors(401, 403),
                        "404": json_response(error, "No such meeting"),
                        "503": json_response(
                            error,
                            "node_unreachable: the room's node does not answer; "
                            "store_unavailable: Redis cannot be reached",
                        ),
                    },
                }
            },
            **webhook_paths(error),
            **integration.integration_paths(),
            **recordings.recording_paths(),
            **share_paths(),
            **media_paths(),
            **connectivity_paths(),
            "/healthz": {
                "get": {"summary": "Alive", "responses": {"200": json_response(status, "ok")}}
            },
            "/readyz": {
                "get": {
                    "summary": "Ready to take new meetings",
                    "responses": {
                        "200": json_response(status, "ready"),
                        "503": json_response(
                            {
                                "type": "object",
                                "required": ["status", "reason"],
                                "properties": {
                                    "status": {
                                        "type": "string",
                                        "enum": ["unavailable", "draining"],
                                    },
                                    "reason": {"type": "string"},
                                },
                            },
                            "unavailable: the shared state store (Redis) cannot be "
                            "reached; draining: the node is shutting down",
                        ),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {"description": "text format", "content": {"text/plain": {}}}
                    },
                }
            },
        },
    }
