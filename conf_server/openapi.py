"""The OpenAPI 3 document of the HTTP API, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from .settings import Settings

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
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

_NEW_MEETING = {
    "type": "object",
    "properties": {
        "room": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "title": {"type": "string", "maxLength": 200},
        "passcode": {"type": "string", "maxLength": 64},
        "lobby_enabled": {"type": "boolean"},
        "polls": {"type": "array", "items": _POLL_DRAFT},
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
        "participants": {"type": "array", "items": {"$ref": "#/components/schemas/Participant"}},
        "recording": {"type": "object", "nullable": True},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The document; server URL from ``public_url`` when set."""
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
    error = {"$ref": "#/components/schemas/Error"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "conf-server API", "version": "1"},
        "servers": [{"url": base}],
        "components": {"schemas": {"Error": _ERROR, "Participant": _PARTICIPANT}},
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3 document")},
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
                        "200": _json(
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
                                    "node": {"type": "string"},
                                },
                            },
                            "The room; meeting_id is null when nobody is in it",
                        ),
                        "400": _json({"$ref": "#/components/schemas/Error"}, "Bad room name"),
                    },
                }
            },
            "/api/v1/meetings": {
                "post": {
                    "summary": "Create a meeting ahead of time (host link, passcode, lobby, "
                    "draft polls)",
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": _NEW_MEETING}},
                    },
                    "responses": {
                        "201": _json(_CREATED_MEETING, "The meeting and its links"),
                        "400": _json(error, "Invalid JSON or fields"),
                        "409": _json(error, "The room already has a meeting"),
                    },
                }
            },
            "/api/v1/meetings/{meeting_id}": {
                "get": {
                    "summary": "A meeting's state and participants",
                    "parameters": [
                        {
                            "name": "meeting_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": _json(_MEETING, "The meeting"),
                        "404": _json(error, "No such meeting"),
                    },
                }
            },
            "/healthz": {"get": {"summary": "Alive", "responses": {"200": _json(status, "ok")}}},
            "/readyz": {
                "get": {
                    "summary": "Ready to take meetings",
                    "responses": {"200": _json(status, "ready")},
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
