"""Where a recording's transcript is found: its route, and signed links to it.

Every Recording the server hands out (REST API, meeting report, webhooks)
carries its transcript's status with the route that serves it,
``/api/v1/recordings/{id}/transcript`` (``?format=json|vtt|txt``). The route
asks for what the recording's files ask for (an admin key, or a signed link),
so naming it gives nobody access. A meeting's hosts, who may download the
recording (``recording_links``), get signed links to the three formats too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recording.transcript_files import TRANSCRIPT_JSON, TRANSCRIPT_TXT, TRANSCRIPT_VTT

#: ``?format=`` of the transcript route, and the file each one serves.
TRANSCRIPT_FORMATS = {"json": TRANSCRIPT_JSON, "vtt": TRANSCRIPT_VTT, "txt": TRANSCRIPT_TXT}

#: A signed token for (recording id, file name).
Signer = Callable[[str, str], str]


def transcript_route(recording_id: str) -> str:
    """The path of a recording's transcript (JSON; ``?format=vtt|txt`` for the others)."""
    return f"/api/v1/recordings/{recording_id}/transcript"


def transcript_status(record: dict[str, Any]) -> dict[str, Any] | None:
    """The recording's ``transcript`` field with its ``url``; None when the
    recording has no transcript field (made before transcripts existed)."""
    status = record.get("transcript")
    if not isinstance(status, dict):
        return None
    return {**status, "url": transcript_route(str(record["id"]))}


def signed_transcript_links(record: dict[str, Any], sign: Signer) -> dict[str, str]:
    """``{format: signed url}`` of a ready transcript; empty while there is none."""
    status = record.get("transcript")
    if not isinstance(status, dict) or status.get("state") != "ready":
        return {}
    recording_id = str(record["id"])
    route = transcript_route(recording_id)
    return {
        fmt: f"{route}?format={fmt}&download_token={sign(recording_id, name)}"
        for fmt, name in TRANSCRIPT_FORMATS.items()
    }
