"""The connectivity part of the OpenAPI document: ``GET /api/v1/ice-servers``
(merged into conf_server/http/openapi.py; the route is
conf_server/http/ice_servers_api.py)."""

from __future__ import annotations

from typing import Any

from .openapi_integration import REF, json_response

_ICE_SERVER = {
    "type": "object",
    "required": ["urls"],
    "description": "An RTCIceServer, as `new RTCPeerConnection({iceServers})` takes it",
    "properties": {
        "urls": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
            ],
            "description": "a stun: URL alone; all turn:/turns: URLs together in one entry",
        },
        "username": {
            "type": "string",
            "description": "TURN only: `<expires_at>:check-<random>` with turn_secret "
            "(coturn's use-auth-secret), else the configured turn_username",
        },
        "credential": {
            "type": "string",
            "description": "TURN only: base64(HMAC-SHA1(turn_secret, username)), or the "
            "configured turn_password",
        },
    },
}

_ICE_SERVERS = {
    "type": "object",
    "required": ["ice_servers", "expires_at"],
    "properties": {
        "ice_servers": {"type": "array", "items": _ICE_SERVER},
        "expires_at": {
            "type": "integer",
            "description": "Unix seconds when TURN credentials from turn_secret stop "
            "working: at most 5 minutes ahead (turn_credential_seconds if shorter)",
        },
    },
}


def connectivity_paths() -> dict[str, Any]:
    """``/api/v1/ice-servers`` (no key)."""
    return {
        "/api/v1/ice-servers": {
            "get": {
                "summary": "STUN and TURN servers for the pre-join connectivity check",
                "description": "No key: the pre-join page calls it before joining. The "
                "configured ice servers as a join acknowledgement gives them (STUN URLs "
                "plain, TURN URLs with short-lived credentials of a throwaway user), or an "
                "empty list when none are configured. Never cached (Cache-Control: "
                "no-store). A small burst per client address, then 4 per minute.",
                "security": [{}],
                "responses": {
                    "200": json_response(_ICE_SERVERS, "The ice servers to test"),
                    "429": json_response(
                        {"$ref": REF + "Error"},
                        "rate_limited: too many checks from this address; retry_after "
                        "says when to try again",
                    ),
                },
            }
        }
    }
