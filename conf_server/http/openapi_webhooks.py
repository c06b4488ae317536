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
                "`recording.transcribed`: RecordingTranscribedData",
            },
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
