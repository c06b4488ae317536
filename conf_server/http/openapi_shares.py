"""OpenAPI paths and schemas of recording share links: the routes that make,
list and revoke them (admin, or a host's signed ``shares_url``) and the
routes their player page uses (no key: a password, then a session cookie).
Merged into conf_server/http/openapi.py."""

from __future__ import annotations

from typing import Any

from .openapi_integration import BEARER, REF, errors, json_response, path_params

_SHARE = {
    "type": "object",
    "required": ["share_id", "created_at", "created_by", "expires_at", "state", "url"],
    "properties": {
        "share_id": {
            "type": "string",
            "description": "`<recording id>.<22 random characters>` (128 random bits)",
        },
        "created_at": {"type": "number"},
        "created_by": {"type": "string", "enum": ["admin", "host"]},
        "expires_at": {"type": "number", "description": "Unix seconds"},
        "note": {"type": "string", "nullable": True},
        "revoked_at": {"type": "number", "nullable": True},
        "state": {"type": "string", "enum": ["active", "expired", "revoked"]},
        "url": {"type": "string", "description": "The player page, `/s/<share id>`"},
    },
}

_AUDIT = {
    "type": "object",
    "required": ["at", "event", "share_id", "address"],
    "properties": {
        "at": {"type": "number"},
        "event": {
            "type": "string",
            "enum": ["created", "revoked", "opened", "wrong_password", "served"],
        },
        "share_id": {"type": "string"},
        "address": {
            "type": "string",
            "nullable": True,
            "description": "The client's address (an IPv6 client's /64); null when another "
            "node relayed the request",
        },
        "detail": {
            "type": "string",
            "nullable": True,
            "description": "created/revoked: by whom (admin, host); served: the file",
        },
    },
}

_SHARE_LIST = {
    "type": "object",
    "required": ["recording_id", "shares", "audit", "audit_dropped"],
    "properties": {
        "recording_id": {"type": "string"},
        "shares": {"type": "array", "items": {"$ref": REF + "RecordingShare"}},
        "audit": {"type": "array", "items": {"$ref": REF + "ShareAuditEntry"}},
        "audit_dropped": {
            "type": "integer",
            "description": "Oldest entries dropped to keep the trail at 500",
        },
    },
}

_SESSION = {
    "type": "object",
    "required": ["share_id", "video_url", "transcript", "session_expires_at"],
    "properties": {
        "share_id": {"type": "string"},
        "title": {"type": "string", "nullable": True},
        "started_at": {"type": "number", "nullable": True},
        "duration": {"type": "number", "nullable": True},
        "video_url": {"type": "string"},
        "transcript": {
            "type": "object",
            "nullable": True,
            "description": "The transcript's routes by format; null when there is none",
            "properties": {f: {"type": "string"} for f in ("json", "vtt", "txt")},
        },
        "session_expires_at": {"type": "number"},
    },
}

SHARE_SCHEMAS: dict[str, Any] = {
    "RecordingShare": _SHARE,
    "ShareAuditEntry": _AUDIT,
    "RecordingShares": _SHARE_LIST,
    "ShareSession": _SESSION,
}

_HOST_TOKEN = {
    "name": "download_token",
    "in": "query",
    "schema": {"type": "string"},
    "description": "A host's signed `shares_url` (recording_links), instead of an admin key",
}
_COOKIE = {
    "name": "share_session",
    "in": "cookie",
    "schema": {"type": "string"},
    "description": "Set by POST /api/v1/shares/{share_id}/session",
}


def _error(description: str) -> dict[str, Any]:
    return json_response({"$ref": REF + "Error"}, description)


_GONE = _error("share_expired or share_revoked")
_NO_SHARE = _error("share_not_found (or not_found: a bad path)")
_NO_SESSION = _error("share_session_required: no session cookie, or it ended")
_MEDIA: dict[str, Any] = {"video/mp4": {}, "text/vtt": {}, "text/plain": {}, "application/json": {}}


def _management_paths() -> dict[str, Any]:
    create_body = {
        "type": "object",
        "required": ["password"],
        "additionalProperties": False,
        "properties": {
            "password": {"type": "string", "minLength": 8, "maxLength": 256},
            "expires_in": {"type": "number", "minimum": 60, "maximum": 7776000},
            "expires_at": {"type": "number", "description": "Unix seconds"},
            "note": {"type": "string", "maxLength": 200},
        },
        "description": "Exactly one of expires_in (seconds) and expires_at; a link lives "
        "from one minute to 90 days",
    }
    return {
        "/api/v1/recordings/{recording_id}/shares": {
            "post": {
                "summary": "Make a password-protected share link (admin or host)",
                "security": BEARER,
                "parameters": [*path_params("recording_id"), _HOST_TOKEN],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": create_body}},
                },
                "responses": {
                    "201": json_response({"$ref": REF + "RecordingShare"}, "The new share"),
                    "400": _error("invalid_password, invalid_expiry, invalid_request"),
                    **errors(401, 403, 404, 413, 415),
                    "409": _error("too_many_shares: 50 per recording"),
                },
            },
            "get": {
                "summary": "A recording's share links and their audit trail (admin or host)",
                "security": BEARER,
                "parameters": [*path_params("recording_id"), _HOST_TOKEN],
                "responses": {
                    "200": json_response({"$ref": REF + "RecordingShares"}, "Shares and audit"),
                    **errors(401, 403, 404),
                },
            },
        },
        "/api/v1/recordings/{recording_id}/shares/{share_id}": {
            "delete": {
                "summary": "Revoke a share link (admin or host); again: no change",
                "security": BEARER,
                "parameters": [*path_params("recording_id", "share_id"), _HOST_TOKEN],
                "responses": {
                    "200": json_response({"$ref": REF + "RecordingShare"}, "The revoked share"),
                    **errors(401, 403),
                    "404": _error("not_found (no such recording), share_not_found"),
                },
            }
        },
    }


def _viewer_paths() -> dict[str, Any]:
    password_body = {
        "type": "object",
        "required": ["password"],
        "additionalProperties": False,
        "properties": {"password": {"type": "string"}},
    }
    active = {
        "type": "object",
        "required": ["share_id", "state", "expires_at"],
        "properties": {
            "share_id": {"type": "string"},
            "state": {"type": "string", "enum": ["active"]},
            "expires_at": {"type": "number"},
        },
    }
    ranged = [
        {"name": h, "in": "header", "schema": {"type": "string"}} for h in ("Range", "If-Range")
    ]
    return {
        "/api/v1/shares/{share_id}": {
            "get": {
                "summary": "Whether a share link still opens its recording (no key)",
                "parameters": path_params("share_id"),
                "responses": {
                    "200": json_response(active, "Active"),
                    "404": _NO_SHARE,
                    "410": _GONE,
                },
            }
        },
        "/api/v1/shares/{share_id}/session": {
            "post": {
                "summary": "Enter a share link's password: sets the share's session cookie",
                "description": "The cookie `share_session` is HttpOnly, SameSite=Strict, Secure "
                "on https, scoped to /api/v1/shares/{share_id} and lives an hour (at most until "
                "the share expires). Wrong passwords: 5 a minute per link and per client "
                "address, then 429 with Retry-After (not checked meanwhile).",
                "parameters": path_params("share_id"),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": password_body}},
                },
                "responses": {
                    "200": json_response({"$ref": REF + "ShareSession"}, "The recording's routes"),
                    "400": _error("invalid_request, invalid_json"),
                    "401": _error("wrong_password"),
                    "404": _NO_SHARE,
                    "410": _GONE,
                    "413": _error("payload_too_large"),
                    "415": _error("unsupported_media_type"),
                    "429": _error("rate_limited: too many wrong passwords (Retry-After)"),
                },
            }
        },
        "/api/v1/shares/{share_id}/video": {
            "get": {
                "summary": "The shared recording's composite video (session cookie; HTTP Range)",
                "parameters": [*path_params("share_id"), _COOKIE, *ranged],
                "responses": {
                    "200": {"description": "The video", "content": _MEDIA},
                    "206": {"description": "The requested range", "content": _MEDIA},
                    "304": {"description": "Not modified"},
                    "401": _NO_SESSION,
                    "404": _error("share_not_found, no_video"),
                    "409": _error("video_not_ready: the composite is being rendered"),
                    "410": _GONE,
                    "416": _error("range_not_satisfiable"),
                },
            }
        },
        "/api/v1/shares/{share_id}/transcript": {
            "get": {
                "summary": "The shared recording's transcript (session cookie)",
                "parameters": [
                    *path_params("share_id"),
                    {
                        "name": "format",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["vtt", "txt", "json"]},
                        "description": "vtt (default), txt or json",
                    },
                    _COOKIE,
                ],
                "responses": {
                    "200": {"description": "The transcript", "content": _MEDIA},
                    "206": {"description": "The requested range", "content": _MEDIA},
                    "304": {"description": "Not modified"},
                    "400": _error("invalid_request: an unknown format"),
                    "401": _NO_SESSION,
                    "404": _error("share_not_found, no_transcript"),
                    "410": _GONE,
                },
            }
        },
    }


def share_paths() -> dict[str, Any]:
    """Every path of share links."""
    return {**_management_paths(), **_viewer_paths()}
