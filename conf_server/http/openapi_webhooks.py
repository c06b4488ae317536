"""The webhook part of the OpenAPI document: the admin routes under
``/api/v1/admin/webhooks`` and their schemas (see :mod:`.openapi`)."""

from __future__ import annotations

from typing import Any

from conf_server.integration.webhooks import EVENT_TYPES, TEST_EVENT

from .openapi_integration import json_response

_EVENT_TYPES = list(EVENT_TYPES)

WEBHOOK_SCHEMAS: dict[str, Any] = {
    "NewWebhook": {
        "type": "object",
        "required": ["url"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "format": "uri", "maxLength": 2048},
            "events": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": _EVENT_TYPES},
                "description": "Omitted: every event type, including ones added later.",
            },
        },
    },
    "Webhook": {
        "type": "object",
        "required": ["id", "url", "events", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"type": "string", "enum": _EVENT_TYPES}},
            "created_at": {"type": "number"},
            "deleted_at": {"type": "number", "nullable": True},
        },
    },
    "CreatedWebhook": {
        "allOf": [
            {"$ref": "#/components/schemas/Webhook"},
            {
                "type": "object",
                "required": ["secret"],
                "properties": {
                    "secret": {
                        "type": "string",
                        "description": "Signing secret; shown only in this answer.",
                    }
                },
            },
        ]
    },
    "WebhookDelivery": {
        "type": "object",
        "required": ["id", "event_id", "event_type", "status", "attempts", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "event_id": {"type": "string"},
            "event_type": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
            "attempts": {"type": "integer"},
            "last_status": {"type": "integer", "nullable": True},
            "last_error": {"type": "string", "nullable": True},
            "created_at": {"type": "number"},
            "last_attempt_at": {"type": "number", "nullable": True},
            "next_attempt_at": {"type": "number", "nullable": True},
            "delivered_at": {"type": "number", "nullable": True},
            "attempt_log": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["at", "status"],
                    "properties": {
                        "at": {"type": "number"},
                        "status": {"type": "integer", "nullable": True},
                        "error": {"type": "string"},
                    },
                },
            },
        },
    },
    "WebhookEvent": {
        "type": "object",
        "description": "The body POSTed to an endpoint (signed: see docs/rest-api.md).",
        "required": ["id", "type", "created_at", "data"],
        "properties": {
            "id": {"type": "string", "description": "evt_...; the same on every retry"},
            "type": {"type": "string", "enum": [*_EVENT_TYPES, TEST_EVENT]},
            "created_at": {"type": "number"},
            "data": {
                "type": "object",
                "description": "Per event type (docs/rest-api.md, Event types); "
                "`recording.transcribed`: RecordingTranscribedData; "
                "`meeting.summary`: MeetingSummaryData; "
                "`questionnaire.launched`, `questionnaire.closed`: QuestionnaireEventData",
            },
        },
    },
    "QuestionnaireEventData": {
        "type": "object",
        "description": "`data` of `questionnaire.launched` (the form: `questionnaire` has "
        "questionnaire_id, title, anonymous, state, results_shared, questions) and "
        "`questionnaire.closed` (aggregates only: respondents, and per question the count "
        "answered, option votes and percentages, or a rating's mean and distribution; never "
        "free texts nor who answered what, which are in the report)",
        "required": ["meeting_id", "room", "title", "chat_id", "questionnaire"],
        "properties": {
            "meeting_id": {"type": "string"},
            "room": {"type": "string"},
            "title": {"type": "string"},
            "chat_id": {"type": "string", "nullable": True},
            "questionnaire": {"type": "object"},
        },
    },
    "RecordingTranscribedData": {
        "type": "object",
        "description": "`data` of `recording.transcribed`: a recording's transcript is ready "
        "(and, where the recording has a composite, in it as captions). A transcript that "
        "fails sends none; its reason is in the Recording's `transcript`",
        "required": [
            "meeting_id",
            "room",
            "title",
            "chat_id",
            "recording_id",
            "transcript",
            "recording",
        ],
        "properties": {
            "meeting_id": {"type": "string", "nullable": True},
            "room": {"type": "string", "nullable": True},
            "title": {"type": "string", "nullable": True},
            "chat_id": {"type": "string", "nullable": True},
            "recording_id": {"type": "string"},
            "transcript": {"$ref": "#/components/schemas/TranscriptStatus"},
            "recording": {"$ref": "#/components/schemas/Recording"},
        },
    },
}

_NULLABLE_STRING = {"type": "string", "nullable": True}
_NULLABLE_NUMBER = {"type": "number", "nullable": True}

MEETING_SUMMARY_SCHEMAS: dict[str, Any] = {
    "MeetingSummaryData": {
        "type": "object",
        "description": "`data` of `meeting.summary`: sent once per meeting, after "
        "`meeting.ended` and once every recording of the meeting is ready or failed and "
        "its transcript done, failed or off; at the latest `summary_wait_max_seconds` "
        "(default 2 h) after the end, then with `complete: false` and the ids still "
        "processing (docs/rest-api.md, The meeting summary)",
        "required": [
            "meeting_id",
            "room",
            "title",
            "chat_id",
            "started_at",
            "ended_at",
            "duration",
            "attendance",
            "polls",
            "decisions",
            "recordings",
            "complete",
            "still_processing",
        ],
        "properties": {
            "meeting_id": {"type": "string"},
            "room": {"type": "string"},
            "title": _NULLABLE_STRING,
            "chat_id": _NULLABLE_STRING,
            "end_reason": _NULLABLE_STRING,
            "started_at": _NULLABLE_NUMBER,
            "ended_at": {"type": "number"},
            "duration": _NULLABLE_NUMBER,
            "attendance": {
                "type": "object",
                "description": "Counts over everyone; `participants` names the first "
                "`listed` people to join (at most 100; `truncated` when there were more)",
                "required": ["people", "visits", "listed", "truncated", "participants"],
                "properties": {
                    "people": {"type": "integer"},
                    "visits": {"type": "integer"},
                    "in_room": {"type": "integer"},
                    "remote": {"type": "integer"},
                    "listed": {"type": "integer"},
                    "truncated": {"type": "boolean"},
                    "participants": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "user_id": _NULLABLE_STRING,
                                "presence": {"type": "string", "enum": ["in-room", "remote"]},
                                "joined_at": {"type": "number"},
                                "left_at": _NULLABLE_NUMBER,
                                "seconds": {"type": "number"},
                                "visits": {"type": "integer"},
                            },
                        },
                    },
                },
            },
            "polls": {
                "type": "array",
                "description": "Each poll's aggregate results, as in `poll.closed` "
                "(never who voted what); at most 50 (`polls_total`: how many there were)",
                "items": {"type": "object"},
            },
            "polls_total": {"type": "integer"},
            "questionnaires": {
                "type": "array",
                "description": "Present when the meeting's report has questionnaires: "
                "as the report gives them",
                "items": {"type": "object"},
            },
            "decisions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "text", "by_name", "at"],
                    "properties": {
                        "id": {"type": "integer"},
                        "text": {"type": "string"},
                        "by_name": {"type": "string"},
                        "at": {"type": "number"},
                    },
                },
            },
            "recordings": {
                "type": "array",
                "description": "At most 20 (`recordings_total`: how many there were)",
                "items": {"$ref": "#/components/schemas/SummaryRecording"},
            },
            "recordings_total": {"type": "integer"},
            "complete": {
                "type": "boolean",
                "description": "False: sent at the deadline with recordings still processing",
            },
            "still_processing": {"type": "array", "items": {"type": "string"}},
            "base_url": {
                "type": "string",
                "nullable": True,
                "description": "The deployment's public_url, which the paths below are under",
            },
            "report_url": {"type": "string", "description": "GET it for the full report"},
        },
    },
    "SummaryRecording": {
        "type": "object",
        "required": ["id", "state", "processing", "links"],
        "properties": {
            "id": {"type": "string"},
            "state": {"type": "string"},
            "processing": {"type": "boolean"},
            "started_at": _NULLABLE_NUMBER,
            "ended_at": _NULLABLE_NUMBER,
            "duration": _NULLABLE_NUMBER,
            "composite": _NULLABLE_STRING,
            "transcript": {"type": "object", "nullable": True},
            "links": {
                "type": "object",
                "description": "Routes (an admin key opens them); `signed` only where "
                "the deployment sets recording_host_download: links that open one file "
                "each without a key until `expires_at` (one hour after the summary)",
                "properties": {
                    "recording": {"type": "string"},
                    "files": {"type": "array", "items": {"type": "string"}},
                    "transcript": _NULLABLE_STRING,
                    "signed": {
                        "type": "object",
                        "properties": {
                            "files": {"type": "object", "additionalProperties": {"type": "string"}},
                            "transcript": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                            "expires_at": {"type": "number"},
                        },
                    },
                },
            },
        },
    },
}

WEBHOOK_SCHEMAS.update(MEETING_SUMMARY_SCHEMAS)


def webhook_paths(error: dict[str, Any]) -> dict[str, Any]:
    """``/api/v1/admin/webhooks...`` (admin key: ``Authorization: Bearer``)."""
    webhook_id = {
        "name": "webhook_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    denied = {
        "401": json_response(error, "No, an unknown or a revoked API key"),
        "403": json_response(error, "Not an admin key"),
    }
    missing = {"404": json_response(error, "No such webhook endpoint")}
    ref = "#/components/schemas/"
    return {
        "/api/v1/admin/webhooks": {
            "post": {
                "summary": "Register a webhook endpoint (admin); the answer has its secret",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": ref + "NewWebhook"}}},
                },
                "responses": {
                    "201": json_response(
                        {"$ref": ref + "CreatedWebhook"}, "The endpoint and secret"
                    ),
                    "400": json_response(
                        error,
                        "Invalid JSON, URL or event types; webhook_address_not_allowed: the "
                        "URL's host is a loopback, link-local, private or metadata address "
                        "that webhook_allowed_networks does not allow",
                    ),
                    "413": json_response(error, "Body too large (over 64 KiB)"),
                    "415": json_response(
                        error, "unsupported_media_type: the body is not application/json"
                    ),
                    **denied,
                },
            },
            "get": {
                "summary": "Webhook endpoints (admin; no secrets)",
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["webhooks"],
                            "properties": {
                                "webhooks": {
                                    "type": "array",
                                    "items": {"$ref": ref + "Webhook"},
                                }
                            },
                        },
                        "Active endpoints, oldest first",
                    ),
                    **denied,
                },
            },
        },
        "/api/v1/admin/webhooks/{webhook_id}": {
            "delete": {
                "summary": "Delete an endpoint: its pending deliveries fail, nothing more is sent",
                "parameters": [webhook_id],
                "responses": {
                    "200": json_response({"$ref": ref + "Webhook"}, "The deleted endpoint"),
                    **denied,
                    **missing,
                },
            }
        },
        "/api/v1/admin/webhooks/{webhook_id}/deliveries": {
            "get": {
                "summary": "The endpoint's delivery log, newest first",
                "parameters": [
                    webhook_id,
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                    },
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                    },
                ],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["webhook_id", "deliveries"],
                            "properties": {
                                "webhook_id": {"type": "string"},
                                "deliveries": {
                                    "type": "array",
                                    "items": {"$ref": ref + "WebhookDelivery"},
                                },
                            },
                        },
                        "Deliveries",
                    ),
                    "400": json_response(error, "Bad limit or status"),
                    **denied,
                    **missing,
                },
            }
        },
        "/api/v1/admin/webhooks/{webhook_id}/test": {
            "post": {
                "summary": "Queue a webhook.test event to this endpoint",
                "parameters": [webhook_id],
                "responses": {
                    "202": json_response(
                        {
                            "type": "object",
                            "required": ["event_id", "type"],
                            "properties": {
                                "event_id": {"type": "string"},
                                "type": {"type": "string", "enum": [TEST_EVENT]},
                            },
                        },
                        "Queued",
                    ),
                    **denied,
                    **missing,
                },
            }
        },
    }
