"""OpenAPI paths and schemas of the chat-app integration: API keys,
escalations, meeting reports (merged into conf_server/http/openapi.py)."""

from __future__ import annotations

from typing import Any

REF = "#/components/schemas/"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: the bootstrap CONF_ADMIN_API_KEY or one from "
        "POST /api/v1/admin/keys (scope admin or integration).",
    }
}

_PERSON = {
    "type": "object",
    "required": ["user_id", "name"],
    "additionalProperties": False,
    "properties": {
        "user_id": {"type": "string", "minLength": 1, "maxLength": 200},
        "name": {"type": "string", "minLength": 1, "maxLength": 64},
    },
}

_KEY = {
    "type": "object",
    "required": ["id", "name", "scope", "prefix", "created_at", "revoked_at"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "scope": {"type": "string", "enum": ["admin", "integration"]},
        "prefix": {"type": "string"},
        "created_at": {"type": "number"},
        "revoked_at": {"type": "number", "nullable": True},
    },
}

_ATTENDANCE = {
    "type": "object",
    "required": ["participant_id", "name", "presence", "joined_at", "left_at", "seconds"],
    "properties": {
        "participant_id": {"type": "string"},
        "name": {"type": "string"},
        "user_id": {"type": "string", "nullable": True},
        "presence": {"type": "string", "enum": ["in-room", "remote"]},
        "mode": {"type": "string", "enum": ["remote", "companion", "room"]},
        "zone": {"type": "string", "nullable": True},
        "joined_at": {"type": "number"},
        "left_at": {"type": "number", "nullable": True},
        "seconds": {"type": "number"},
    },
}

SCHEMAS: dict[str, Any] = {
    "Person": _PERSON,
    "ApiKey": _KEY,
    "CreatedApiKey": {
        "allOf": [
            {"$ref": REF + "ApiKey"},
            {
                "type": "object",
                "required": ["key"],
                "properties": {"key": {"type": "string", "description": "shown only once"}},
            },
        ]
    },
    "Escalation": {
        "type": "object",
        "required": ["chat_id", "initiator"],
        "additionalProperties": False,
        "properties": {
            "chat_id": {"type": "string", "minLength": 1, "maxLength": 200},
            "title": {"type": "string", "maxLength": 200},
            "initiator": {"$ref": REF + "Person"},
            "participants": {"type": "array", "maxItems": 500, "items": {"$ref": REF + "Person"}},
        },
    },
    "EscalationResult": {
        "type": "object",
        "required": ["meeting_id", "room", "title", "created", "host_url", "invites"],
        "properties": {
            "meeting_id": {"type": "string"},
            "room": {"type": "string"},
            "title": {"type": "string"},
            "created": {"type": "boolean"},
            "host_url": {"type": "string"},
            "invites": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["user_id", "join_url"],
                    "properties": {"user_id": {"type": "string"}, "join_url": {"type": "string"}},
                },
            },
        },
    },
    "Attendance": _ATTENDANCE,
    "Report": {
        "type": "object",
        "required": ["meeting_id", "room", "title", "ended", "attendance", "polls", "chat"],
        "properties": {
            "meeting_id": {"type": "string"},
            "room": {"type": "string"},
            "title": {"type": "string"},
            "chat_id": {"type": "string", "nullable": True},
            "created_at": {"type": "number"},
            "ended": {"type": "boolean"},
            "ended_at": {
                "type": "number",
                "description": "only when the meeting was cut off by a crash: when",
            },
            "end_reason": {
                "type": "string",
                "enum": ["server_restart"],
                "description": "only when the meeting was cut off by a crash",
            },
            "generated_at": {"type": "number"},
            "attendance": {"type": "array", "items": {"$ref": REF + "Attendance"}},
            "polls": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["results"],
                    "properties": {
                        "results": {"type": "object"},
                        "ballots": {"type": "array", "items": {"type": "object"}},
                        "scores": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
            "questionnaires": {
                "type": "array",
                "description": "Every launched questionnaire, shaped like the polls' entries: "
                "its results (QuestionnaireResults of docs/protocol.md: counts, means, free "
                "texts, with names for named ones) and, only for named ones, who answered what",
                "items": {
                    "type": "object",
                    "required": ["results"],
                    "properties": {
                        "results": {"type": "object"},
                        "answers": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
            "chat": {"type": "array", "items": {"type": "object"}},
            "decisions": {
                "type": "array",
                "description": "The decisions the hosts marked (Socket.IO mark_decision), "
                "oldest first: {id, text, by_id, by_name, at}",
                "items": {"type": "object"},
            },
            "participation": {
                "type": "object",
                "description": "Only when a host turned participation points on in this "
                "meeting: the setting ({enabled, visibility, weights}) and `people`, one Score "
                "per person, best first ({rank, participant_id, name, user_id, points, "
                "breakdown: {attendance|votes|quiz|called_on|chat: {count, points}}}; "
                "docs/protocol.md, Participation points)",
            },
            "recordings": {
                "type": "array",
                "items": {"$ref": REF + "Recording"},
                "description": "The meeting's recordings as they are now; each one's "
                "`transcript` carries its state and `url` (the transcript route)",
            },
        },
    },
}


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An OpenAPI response with a JSON body of ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Invalid JSON or fields",
        401: "Missing, unknown or revoked API key",
        403: "The key's scope does not allow this",
        404: "Not found",
        409: "Conflict (the message says what)",
        413: "Body too large (over 64 KiB)",
        415: "unsupported_media_type: the body is not sent as application/json",
    }
    return {str(s): json_response({"$ref": REF + "Error"}, text[s]) for s in statuses}


def path_params(*names: str) -> list[dict[str, Any]]:
    """Required string path parameters."""
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]


#: One node of GET /api/v1/admin/nodes (conf_server.cluster.cluster.NodeInfo).
NODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "url", "rooms", "participants", "draining"],
    "properties": {
        "name": {"type": "string"},
        "url": {"type": "string", "description": "base URL clients use to reach the node"},
        "rooms": {"type": "integer"},
        "participants": {"type": "integer"},
        "packets_per_second": {"type": "number", "description": "RTP packets forwarded"},
        "cpu_percent": {"type": "number", "description": "of one core"},
        "draining": {"type": "boolean"},
        "started_at": {"type": "number"},
        "relay": {
            "type": "string",
            "nullable": True,
            "description": "host:port of its media relay (relay_host), null without one",
        },
        "relay_epoch": {"type": "string", "description": "new at each start of its relay"},
    },
}


def integration_paths() -> dict[str, Any]:
    """Paths of the API-key, escalation and report routes."""
    return {
        "/api/v1/admin/keys": {
            "post": {
                "summary": "Create an API key (admin)",
                "security": BEARER,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name", "scope"],
                                "properties": {
                                    "name": {"type": "string", "maxLength": 100},
                                    "scope": {"type": "string", "enum": ["admin", "integration"]},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": json_response(
                        {"$ref": REF + "CreatedApiKey"}, "The key (secret shown once)"
                    ),
                    **errors(400, 401, 403, 413, 415),
                },
            },
            "get": {
                "summary": "List API keys (admin)",
                "security": BEARER,
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["keys"],
                            "properties": {
                                "keys": {"type": "array", "items": {"$ref": REF + "ApiKey"}}
                            },
                        },
                        "Every key, without secrets",
                    ),
                    **errors(401, 403),
                },
            },
        },
        "/api/v1/admin/keys/{key_id}": {
            "delete": {
                "summary": "Revoke an API key (admin)",
                "security": BEARER,
                "parameters": path_params("key_id"),
                "responses": {
                    "200": json_response({"$ref": REF + "ApiKey"}, "The revoked key"),
                    **errors(401, 403, 404),
                },
            }
        },
        "/api/v1/admin/nodes": {
            "get": {
                "summary": "The deployment: live nodes with their load, and room -> node (admin)",
                "security": BEARER,
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["this_node", "nodes", "rooms"],
                            "properties": {
                                "this_node": {"type": "string"},
                                "nodes": {"type": "array", "items": NODE_SCHEMA},
                                "rooms": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                    "description": "room name -> name of the node hosting it",
                                },
                            },
                        },
                        "The node registry and the room directory as this node sees them",
                    ),
                    **errors(401, 403),
                },
            }
        },
        "/api/v1/escalations": {
            "post": {
                "summary": "Turn a group chat into a meeting (idempotent per chat_id while live)",
                "security": BEARER,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": REF + "Escalation"}}},
                },
                "responses": {
                    "201": json_response({"$ref": REF + "EscalationResult"}, "A new meeting"),
                    "200": json_response(
                        {"$ref": REF + "EscalationResult"}, "The chat's live meeting"
                    ),
                    **errors(400, 401, 403, 409, 413, 415),
                },
            }
        },
        "/api/v1/meetings/{meeting_id}/report": {
            "get": {
                "summary": "Attendance, polls, chat and recordings of a meeting",
                "security": BEARER,
                "parameters": [
                    *path_params("meeting_id"),
                    {
                        "name": "format",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["json", "csv"]},
                    },
                    {
                        "name": "table",
                        "in": "query",
                        "schema": {
                            "type": "string",
                            "enum": [
                                "attendance",
                                "polls",
                                "questionnaires",
                                "recordings",
                                "participation",
                            ],
                        },
                        "description": "The CSV table: `recordings` is one row per recording "
                        "(recording_id, state, started_at, ended_at, duration, composite_state, "
                        "transcript_state, transcript_progress, transcript_url); "
                        "`participation` one row per person (rank, participant_id, name, "
                        "user_id, points, then count and points of each category); "
                        "`questionnaires` one row per option, rating value and free-text "
                        "answer (never a name; docs/protocol.md, Questionnaires)",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The report (JSON), or one table as CSV",
                        "content": {
                            "application/json": {"schema": {"$ref": REF + "Report"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **errors(400, 401, 403, 404),
                },
            }
        },
    }
