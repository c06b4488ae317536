"""The webhook queue: event types, endpoints and deliveries in SQLite.

``WebhookStore`` holds every SQL statement of the webhooks, on the two
``webhook_*`` tables of the data dir's SQLite file: registered endpoints and
one ``webhook_deliveries`` row per (endpoint, event). Rows still ``pending``
when the process stops (even ``kill -9``) are sent by the next process. Also
here: the event catalogue and the validation of what an admin registers.
No network; imports only conf_server/integration/database.py and conf_server/errors.py.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from yarl import URL

from conf_server.errors import ConfServerError, NotFound

from .database import Database

#: Every event type an endpoint may subscribe to.
EVENT_TYPES = (
    "meeting.started",
    "meeting.ended",
    "participant.joined",
    "participant.left",
    "recording.ready",
    "recording.transcribed",
    "poll.closed",
    "questionnaire.launched",
    "questionnaire.closed",
    "chat.message",
    "meeting.summary",
)

#: Sent only by ``POST /api/v1/admin/webhooks/{id}/test``; nobody subscribes to it.
TEST_EVENT = "webhook.test"

MAX_ENDPOINTS = 100
MAX_URL_LENGTH = 2048
_ALL = "*"


class InvalidWebhook(ConfServerError):
    code = "invalid_request"
    status = 400


# -- validation ---------------------------------------------------------------------------------


def validate_url(url: Any) -> str:
    """An absolute ``http``/``https`` URL, or :class:`InvalidWebhook`."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidWebhook("field 'url' must be an http:// or https:// URL")
    text: str = url.strip()
    if len(text) > MAX_URL_LENGTH:
        raise InvalidWebhook(f"field 'url' may have at most {MAX_URL_LENGTH} characters")
    try:
        parsed = URL(text)
    except ValueError as exc:
        raise InvalidWebhook(f"field 'url' is not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise InvalidWebhook("field 'url' must start with http:// or https://")
    if not parsed.host or any(ch.isspace() for ch in text):
        raise InvalidWebhook("field 'url' must be an absolute URL with a host name")
    return text


def validate_events(events: Any) -> tuple[str, ...] | None:
    """The event types asked for (None: all of them, including later additions)."""
    if events is None:
        return None
    if not isinstance(events, list) or not events:
        raise InvalidWebhook(
            "field 'events' must be a non-empty list of event types (omit it for all)"
        )
    chosen: list[str] = []
    for name in events:
        if not isinstance(name, str) or name not in EVENT_TYPES:
            raise InvalidWebhook(
                f"unknown event type {name!r}; known types: {', '.join(EVENT_TYPES)}"
            )
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


# -- storage ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    secret: str
    #: None: every event type.
    events: tuple[str, ...] | None
    created_at: float
    deleted_at: float | None

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events

    def describe(self) -> dict[str, Any]:
        """The public view (no secret)."""
        return {
            "id": self.id,
            "url": self.url,
            "events": list(EVENT_TYPES if self.events is None else self.events),
            "created_at": self.created_at,
            "deleted_at": self.deleted_at,
        }


@dataclass(frozen=True)
class Delivery:
    """One queued (endpoint, event) pair, as the worker needs it."""

    id: int
    endpoint_id: str
    event_id: str
    event_type: str
    body: str
    #: Attempts made before this one.
    attempts: int


class WebhookStore:
    """Every SQL statement of the webhooks, on the two ``webhook_*`` tables."""

    def __init__(self, db: Database, clock: Any = time.time) -> None:
        self._db = db
        self._clock = clock

    # endpoints

    def add_endpoint(self, url: str, events: tuple[str, ...] | None) -> tuple[Endpoint, str]:
        count = self._db.one("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE deleted_at IS NULL")
        if count is not None and count["n"] >= MAX_ENDPOINTS:
            raise InvalidWebhook(f"at most {MAX_ENDPOINTS} webhook endpoints; delete one first")
        endpoint_id = "wh_" + secrets.token_hex(8)
        secret = "whsec_" + secrets.token_urlsafe(32)
        stored = _ALL if events is None else json.dumps(list(events))
        self._db.execute(
            "INSERT INTO webhook_endpoints (id, url, secret, events, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (endpoint_id, url, secret, stored, self._clock()),
        )
        endpoint = self.endpoint(endpoint_id)
        assert endpoint is not None
        return endpoint, secret

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        row = self._db.one("SELECT * FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
        return None if row is None else _endpoint(row)

    def active_endpoints(self) -> list[Endpoint]:
        rows = self._db.all(
            "SELECT * FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY created_at, id"
        )
        return [_endpoint(row) for row in rows]

    def delete_endpoint(self, endpoint_id: str) -> Endpoint:
        """Mark the endpoint deleted and fail its pending deliveries."""
        endpoint = self.endpoint(endpoint_id)
        if endpoint is None:
            raise NotFound("no webhook endpoint with that id")
        if endpoint.deleted_at is None:
            now = self._clock()
            self._db.execute(
                "UPDATE webhook_endpoints SET deleted_at = ? WHERE id = ?", (now, endpoint_id)
            )
            self._db.execute(
                "UPDATE webhook_deliveries SET status = 'failed', last_error = ?"
                " WHERE endpoint_id = ? AND status = 'pending'",
                ("endpoint deleted", endpoint_id),
            )
            endpoint = self.endpoint(endpoint_id)
            assert endpoint is not None
        return endpoint

    # deliveries

    def enqueue(
        self,
        event_id: str,
        event_type: str,
        body: str,
        endpoint_ids: Sequence[str],
        claim: Callable[[], bool] | None = None,
    ) -> bool:
        """One pending row per endpoint, in one transaction. ``claim`` runs first
        in that transaction: when it returns False nothing is queued (False)."""
        now = self._clock()
        self._db.execute("BEGIN IMMEDIATE" if claim is not None else "BEGIN")
        try:
            if claim is not None and not claim():
                self._db.execute("ROLLBACK")
                return False
            for endpoint_id in endpoint_ids:
                self._db.execute(
                    "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body,"
                    " status, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                    (endpoint_id, event_id, event_type, body, now, now),
                )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return True

    def due(self, endpoint_id: str, now: float, limit: int) -> list[Delivery]:
        rows = self._db.all(
            "SELECT id, endpoint_id, event_id, event_type, body, attempts FROM webhook_deliveries"
            " WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (endpoint_id, now, limit),
        )
        return [Delivery(**dict(row)) for row in rows]

    def claim(self, delivery_id: int, now: float, until: float) -> bool:
        """Take a due delivery for one attempt: no other process sharing this
        database starts it before ``until`` (if this one dies meanwhile, it is
        retried then). False if someone else took it first."""
        cursor = self._db.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = ?"
            " WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?",
            (until, delivery_id, now),
        )
        return cursor.rowcount == 1

    def release(self, delivery_ids: list[int], now: float) -> None:
        """Give claimed deliveries back at once (a clean shutdown)."""
        for delivery_id in delivery_ids:
            self._db.execute(
                "UPDATE webhook_deliveries SET next_attempt_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (now, delivery_id),
            )

    def next_due_at(self, after: float) -> float | None:
        """When the earliest pending row that is not due yet becomes due."""
        row = self._db.one(
            "SELECT MIN(next_attempt_at) AS at FROM webhook_deliveries"
            " WHERE status = 'pending' AND next_attempt_at > ?",
            (after,),
        )
        return None if row is None or row["at"] is None else float(row["at"])

    def record_attempt(
        self,
        delivery_id: int,
        status: int | None,
        error: str | None,
        retry_at: float | None,
    ) -> None:
        """Keep one attempt's outcome: delivered (2xx), retry at ``retry_at``, or
        failed for good (``retry_at`` None). An endpoint deleted meanwhile fails."""
        now = self._clock()
        entry: dict[str, Any] = {"at": now, "status": status}
        if error is not None:
            entry["error"] = error
        delivered = status is not None and 200 <= status < 300
        row = self._db.one(
            "SELECT e.deleted_at FROM webhook_deliveries d"
            " JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ?",
            (delivery_id,),
        )
        if not delivered and (row is None or row["deleted_at"] is not None):
            retry_at = None
        if delivered:
            state, next_at = "delivered", now
        elif retry_at is None:
            state, next_at = "failed", now
        else:
            state, next_at = "pending", retry_at
        self._db.execute(
            "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,"
            " next_attempt_at = ?, last_status = ?, last_error = ?, last_attempt_at = ?,"
            " delivered_at = ?, attempt_log = json_insert(attempt_log, '$[#]', json(?))"
            " WHERE id = ? AND status = 'pending'",
            (
                state,
                next_at,
                status,
                error,
                now,
                now if delivered else None,
                json.dumps(entry),
                delivery_id,
            ),
        )

    def deliveries(
        self, endpoint_id: str, limit: int, status: str | None = None
    ) -> list[dict[str, Any]]:
        """The delivery log of one endpoint, newest first."""
        sql = "SELECT * FROM webhook_deliveries WHERE endpoint_id = ?"
        params: tuple[Any, ...] = (endpoint_id,)
        if status is not None:
            sql += " AND status = ?"
            params += (status,)
        rows = self._db.all(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [_delivery_log(row) for row in rows]

    def prune(self, older_than: float) -> int:
        """Forget delivered and failed rows created before ``older_than``."""
        cursor = self._db.execute(
            "DELETE FROM webhook_deliveries"
            " WHERE status IN ('delivered', 'failed') AND created_at < ?",
            (older_than,),
        )
        return int(cursor.rowcount)


def _endpoint(row: Any) -> Endpoint:
    events = None if row["events"] == _ALL else tuple(json.loads(row["events"]))
    return Endpoint(
        id=row["id"],
        url=row["url"],
        secret=row["secret"],
        events=events,
        created_at=row["created_at"],
        deleted_at=row["deleted_at"],
    )


def _delivery_log(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "status": row["status"],
        "attempts": row["attempts"],
        "last_status": row["last_status"],
        "last_error": row["last_error"],
        "created_at": row["created_at"],
        "last_attempt_at": row["last_attempt_at"],
        "next_attempt_at": row["next_attempt_at"] if row["status"] == "pending" else None,
        "delivered_at": row["delivered_at"],
        "attempt_log": json.loads(row["attempt_log"]),
    }


def new_event(event_type: str, data: dict[str, Any], now: float) -> tuple[str, str]:
    """A fresh event id and the JSON body sent for it."""
    event_id = "evt_" + secrets.token_hex(12)
    body = {"id": event_id, "type": event_type, "created_at": now, "data": data}
    return event_id, json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
