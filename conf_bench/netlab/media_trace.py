"""The server's own view of the meeting during a window, once a second.

``GET /api/v1/admin/rooms/{room}/media`` (the room's media report: each
subscriber's estimate, allocation and forwarded layers; each publisher's
layers) fetched from A's page, since only the namespaces reach the server, and
appended to ``media-trace.jsonl`` of the run: what the SFU decided while the
browsers' figures were taken. A tree without the route (an older "before")
just leaves the file empty.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path

from .participant import Participant

#: The admin key of the harness's server (its environment, never a flag).
ADMIN_KEY = f"netlab-admin-{secrets.token_hex(16)}"

FETCH = """
([room, key]) => fetch(`/api/v1/admin/rooms/${encodeURIComponent(room)}/media`,
                       {headers: {Authorization: `Bearer ${key}`}})
  .then((r) => (r.ok ? r.json() : null)).catch(() => null)
"""


async def trace_media(page: Participant, room: str, path: Path, every: float = 1.0) -> None:
    """Append the room's media report to ``path`` every ``every`` seconds until cancelled."""
    started = time.monotonic()
    with path.open("a") as out:
        while True:
            report = await page.evaluate(FETCH, [room, ADMIN_KEY])
            if report is not None:
                out.write(json.dumps({"t": round(time.monotonic() - started, 2), **report}) + "\n")
                out.flush()
            await asyncio.sleep(every)
