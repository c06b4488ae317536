"""The media debug part of the OpenAPI document: ``GET
/api/v1/admin/rooms/{room}/media`` and its schemas (merged into
conf_server/http/openapi.py; the dicts come from conf_server/meeting/media_report.py)."""

from __future__ import annotations

from typing import Any

from .openapi_integration import BEARER, REF, errors, json_response

_INT = {"type": "integer"}
_NULL_INT = {"type": "integer", "nullable": True}
_NUMBER = {"type": "number"}
_BOOL = {"type": "boolean"}
_STRING = {"type": "string"}
_NULL_STRING = {"type": "string", "nullable": True}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """An object whose every listed property is always present."""
    return {"type": "object", "required": list(properties), "properties": properties}


_LAYER = _object(
    {
        "index": {**_INT, "description": "0 = lowest resolution"},
        "rid": {**_NULL_STRING, "description": "simulcast RID; null without simulcast"},
        "ssrc": {**_NULL_INT, "description": "null until the first packet names it"},
        "rtx_ssrc": _NULL_INT,
        "bitrate": {**_INT, "description": "bit/s arriving now (1 s window); 0: not live"},
        "width": {**_NULL_INT, "description": "frame size from the last keyframe (VP8)"},
        "height": _NULL_INT,
        "keyframes": _INT,
        "fraction_lost": {
            **_NUMBER,
            "description": "0..1, in the last receiver report the SFU sent the publisher",
        },
        "packets_received": _NULL_INT,
        "packets_lost": _NULL_INT,
        "jitter_seconds": {"type": "number", "nullable": True},
        "nacked": {**_NULL_INT, "description": "sequence numbers NACKed (audio and video)"},
        "nack_failed": {**_NULL_INT, "description": "losses given up (keyframe asked instead)"},
        "nack_recovered": {**_NULL_INT, "description": "losses that arrived after all"},
        "consumers": {**_INT, "description": "consumers forwarding (or switching to) it"},
    }
)

_PRODUCER = _object(
    {
        "id": _STRING,
        "kind": {"type": "string", "enum": ["audio", "video"]},
        "source": _NULL_STRING,
        "mid": _STRING,
        "codec": _STRING,
        "paused": _BOOL,
        "simulcast": _BOOL,
        "publishing": {
            "type": "array",
            "items": _BOOL,
            "description": "per layer (lowest first): whether the publisher was asked to "
            "send it (dynacast pauses layers nobody takes)",
        },
        "packets_received": _INT,
        "bytes_received": _INT,
        "duplicates": _INT,
        "consumers": _INT,
        "layers": {"type": "array", "items": {"$ref": REF + "MediaLayer"}},
    }
)

_PUBLISHER = _object(
    {
        "participant_id": _STRING,
        "connection_state": _STRING,
        "uplink_loss": {**_NUMBER, "description": "0..1, worst stream, last report interval"},
        "rtx_packets": _INT,
        "padding_packets": _INT,
        "unroutable_packets": _INT,
        "producers": {"type": "array", "items": {"$ref": REF + "MediaProducer"}},
    }
)

_CONSUMER = _object(
    {
        "id": _STRING,
        "producer_id": _STRING,
        "participant_id": _NULL_STRING,
        "source": _NULL_STRING,
        "kind": {"type": "string", "enum": ["audio", "video"]},
        "current_layer": {**_NULL_INT, "description": "null: waiting for a keyframe, or paused"},
        "target_layer": _INT,
        "paused": _BOOL,
        "hidden": {**_BOOL, "description": "not on the subscriber's page, or same zone (audio)"},
        "bandwidth_paused": _BOOL,
        "priority": {**_INT, "description": "0 pinned/spotlit, 1 active speaker, 2 visible"},
        "tile_height": _NULL_INT,
        "packets_sent": _INT,
        "retransmissions": _INT,
        "layer_switches": _INT,
    }
)

_ALLOCATION = {
    **_object(
        {
            "budget": {**_INT, "description": "bit/s the last allocation was given"},
            "spent": {**_INT, "description": "bit/s planned (audio reserve included)"},
            "audio_reserve": _INT,
            "deficient": _BOOL,
            "paused": {
                "type": "array",
                "items": _STRING,
                "description": "ids of consumers paused for bandwidth",
            },
        }
    ),
    "nullable": True,
}

_SUBSCRIBER = _object(
    {
        "participant_id": _STRING,
        "connection_state": _STRING,
        "estimate": {**_INT, "description": "downlink estimate, bit/s"},
        "remb": {**_NULL_INT, "description": "the browser's last REMB; null before one"},
        "loss": {**_NUMBER, "description": "0..1, smoothed over recent receiver reports"},
        "rtt": {"type": "number", "nullable": True, "description": "seconds"},
        "retransmissions_refused": _INT,
        "negotiation_failures": _INT,
        "probe": _object(
            {
                "active": {"type": "boolean", "description": "one step above the estimate now"},
                "successes": {**_INT, "description": "steps the browser's estimate followed"},
                "failures": {**_INT, "description": "steps taken back (loss, a falling estimate)"},
            }
        ),
        "allocation": _ALLOCATION,
        "consumers": {"type": "array", "items": {"$ref": REF + "MediaConsumer"}},
    }
)

_ROOM_MEDIA = _object(
    {
        "room": _STRING,
        "node": {**_STRING, "description": "the node that answered (media is per node)"},
        "active_speaker": _NULL_STRING,
        "publishers": {"type": "array", "items": {"$ref": REF + "MediaPublisher"}},
        "subscribers": {"type": "array", "items": {"$ref": REF + "MediaSubscriber"}},
    }
)

MEDIA_SCHEMAS: dict[str, Any] = {
    "RoomMedia": _ROOM_MEDIA,
    "MediaPublisher": _PUBLISHER,
    "MediaProducer": _PRODUCER,
    "MediaLayer": _LAYER,
    "MediaSubscriber": _SUBSCRIBER,
    "MediaConsumer": _CONSUMER,
}


def media_paths() -> dict[str, Any]:
    """``/api/v1/admin/rooms/{room}/media`` (admin key)."""
    return {
        "/api/v1/admin/rooms/{room}/media": {
            "get": {
                "summary": "One room's media as this node's SFU sees it (admin)",
                "description": "Per publisher its tracks and their simulcast layers (bitrate, "
                "size, loss, jitter, NACK repair); per subscriber its downlink estimate, "
                "REMB, loss, RTT, layer allocation and every track forwarded to it. Per "
                "node: only the node hosting the room knows its media.",
                "security": BEARER,
                "parameters": [
                    {
                        "name": "room",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                    },
                    {
                        "name": "participant",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "only this participant's publisher and subscriber",
                    },
                ],
                "responses": {
                    "200": json_response({"$ref": REF + "RoomMedia"}, "The room's media"),
                    "400": json_response({"$ref": REF + "Error"}, "invalid_room: bad room name"),
                    **errors(401, 403),
                    "404": json_response(
                        {"$ref": REF + "Error"},
                        "room_not_found: the room has no media on this node",
                    ),
                },
            }
        }
    }
