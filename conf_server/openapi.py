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
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The document; server URL from ``public_url`` when set."""
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
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
