"""Signed webhooks: meeting events to the chat app, at least once.

``publish()`` only writes: one row per interested endpoint in the
``webhook_deliveries`` table of the data dir's SQLite file, then it wakes the
worker. It never touches the network, so a slow or dead receiver cannot slow a
meeting. The worker (one asyncio task, owned by :class:`WebhookDispatcher`)
POSTs due rows with a short timeout, at most ``concurrency`` at once and at most
``per_endpoint`` per endpoint, so one dead endpoint cannot starve the others.
A 2xx answer marks a row ``delivered``; anything else schedules a retry with
exponential backoff and jitter until ``max_attempts``, then ``failed``. Rows
still ``pending`` when the process stops (even ``kill -9``) are sent by the next
process: a receiver may see an event twice (same ``id``), never zero times.

Where a webhook may go is checked against an address policy, at registration
and at every attempt after DNS resolution (conf_server/webhook_addresses.py):
no loopback, link-local, private or metadata addresses unless the deployment
allows their networks (``webhook_allowed_networks``).

Each request is signed: ``X-Conf-Signature: v1=<hex HMAC-SHA256(secret,
f"{timestamp}.{body}")>`` with ``X-Conf-Timestamp`` (unix seconds, fresh for
each attempt); receivers check it with :func:`verify_signature`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from .database import Database
from .errors import ConfServerError, NotFound
from .webhook_addresses import AddressPolicy, CheckedResolver, refused_reason

logger = logging.getLogger(__name__)

#: Every event type an endpoint may subscribe to.
EVENT_TYPES = (
    "meeting.started",
    "meeting.ended",
    "participant.joined",
    "participant.left",
    "recording.ready",
    "poll.closed",
    "chat.message",
)

#: Sent only by ``POST /api/v1/admin/webhooks/{id}/test``; nobody subscribes to it.
TEST_EVENT = "webhook.test"

MAX_ENDPOINTS = 100
MAX_URL_LENGTH = 2048
#: Stored per attempt and shown in the delivery log (never the receiver's body).
MAX_ERROR_TEXT = 300
USER_AGENT = "conf-server-webhooks/1"
_ALL = "*"


class InvalidWebhook(ConfServerError):
    code = "invalid_request"
    status = 400


# -- signatures ---------------------------------------------------------------------------------


def _as_bytes(body: str | bytes) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, timestamp: int, body: str | bytes) -> str:
    """The ``X-Conf-Signature`` header value for ``body`` sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + _as_bytes(body)
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: str | bytes,
    header: str,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """True when ``header`` (``X-Conf-Signature``) signs ``body`` with ``secret`` at
    ``timestamp`` (``X-Conf-Timestamp``) and the timestamp is at most ``tolerance``
    seconds from now (an old, replayed request is refused). ``body`` must be the raw
    request body, byte for byte. The header may list several ``v1=`` values,
    separated by commas; one match is enough."""
    try:
        sent_at = int(str(timestamp).strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        return False
    expected = sign(secret, sent_at, body)
    candidates = (part.strip() for part in header.split(","))
    return any(hmac.compare_digest(expected, c) for c in candidates if c.startswith("v1="))


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


def backoff_delay(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: ``base``,
    ``2 * base``, ``4 * base``, ... capped at ``cap``, each +-20 % at random."""
    delay = min(cap, base * 2.0 ** min(max(attempts - 1, 0), 60))
    return float(min(cap, delay * random.uniform(0.8, 1.2)))


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
        self, event_id: str, event_type: str, body: str, endpoint_ids: Sequence[str]
    ) -> None:
        """One pending row per endpoint, in one transaction."""
        now = self._clock()
        self._db.execute("BEGIN")
        try:
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


# -- the dispatcher -----------------------------------------------------------------------------


class WebhookDispatcher:
    """Queues events in the database and delivers them in the background.

    ``backoff_base`` / ``backoff_cap`` (seconds) shape the retry schedule;
    ``timeout`` bounds one HTTP attempt; ``retention_days`` is how long delivered
    and failed rows stay in the delivery log. ``allowed_networks`` (CIDRs) are
    the private networks webhooks may reach besides public addresses;
    ``resolver`` resolves names under that policy (default: the system's)."""

    def __init__(
        self,
        db: Database,
        *,
        max_attempts: int = 12,
        backoff_base: float = 1.0,
        backoff_cap: float = 600.0,
        timeout: float = 5.0,
        concurrency: int = 32,
        per_endpoint: int = 4,
        retention_days: float = 7.0,
        prune_interval: float = 3600.0,
        allowed_networks: Sequence[str] = (),
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.store = WebhookStore(db)
        self.policy = AddressPolicy(allowed_networks)
        self._resolver = resolver
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.timeout = timeout
        self.concurrency = concurrency
        self.per_endpoint = per_endpoint
        self.retention_days = retention_days
        self.prune_interval = prune_interval
        self.closed = False
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        #: delivery id -> (endpoint id, task)
        self._in_flight: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._next_prune = 0.0
        self._turn = 0

    # the meeting side: never blocks, never raises

    def publish(self, event_type: str, data: dict[str, Any]) -> str | None:
        """Queue ``event_type`` with ``data`` for every endpoint that wants it;
        returns the event id (None if no endpoint wants it). Never blocks on the
        network: delivery happens in the background."""
        if event_type not in EVENT_TYPES:
            logger.warning("webhook event type %r is not in EVENT_TYPES; dropped", event_type)
            return None
        try:
            wanted = [e.id for e in self.store.active_endpoints() if e.wants(event_type)]
            if not wanted:
                return None
            event_id, body = new_event(event_type, data, time.time())
            self.store.enqueue(event_id, event_type, body, wanted)
        except Exception:
            logger.exception("could not queue webhook event %s", event_type)
            return None
        self._wake.set()
        return event_id

    # the admin side (conf_server/webhooks_api.py)

    def add_endpoint(self, url: Any, events: Any = None) -> dict[str, Any]:
        """Register an endpoint; the answer holds its secret (shown only here).
        A URL whose host is a refused address raises ``WebhookAddressRefused``."""
        checked = validate_url(url)
        self.policy.check_host(URL(checked).host or "")
        endpoint, secret = self.store.add_endpoint(checked, validate_events(events))
        described = endpoint.describe()
        del described["deleted_at"]
        return {**described, "secret": secret}

    def endpoints(self) -> list[dict[str, Any]]:
        return [e.describe() for e in self.store.active_endpoints()]

    def delete_endpoint(self, endpoint_id: str) -> dict[str, Any]:
        """Stop deliveries to the endpoint (in-flight ones are cancelled)."""
        for delivery_id, (owner, task) in list(self._in_flight.items()):
            if owner == endpoint_id:
                task.cancel()
                self._in_flight.pop(delivery_id, None)
        return self.store.delete_endpoint(endpoint_id).describe()

    def deliveries(
        self, endpoint_id: str, limit: int = 50, status: str | None = None
    ) -> list[dict[str, Any]]:
        if self.store.endpoint(endpoint_id) is None:
            raise NotFound("no webhook endpoint with that id")
        return self.store.deliveries(endpoint_id, limit, status)

    def send_test(self, endpoint_id: str) -> str:
        """Queue a ``webhook.test`` event to one endpoint; returns its event id."""
        endpoint = self.store.endpoint(endpoint_id)
        if endpoint is None or endpoint.deleted_at is not None:
            raise NotFound("no webhook endpoint with that id")
        data = {"endpoint_id": endpoint_id, "message": "a test event from conf-server"}
        event_id, body = new_event(TEST_EVENT, data, time.time())
        self.store.enqueue(event_id, TEST_EVENT, body, [endpoint_id])
        self._wake.set()
        return event_id

    # lifecycle

    async def start(self) -> None:
        """Start the delivery worker (resumes the queue left by a previous run)."""
        if self._worker is not None or self.closed:
            return
        # Every new connection resolves the name again (no DNS cache) and goes
        # only to the addresses the policy allowed.
        connector = aiohttp.TCPConnector(
            limit=self.concurrency,
            resolver=CheckedResolver(self.policy, self._resolver),
            use_dns_cache=False,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={"User-Agent": USER_AGENT},
        )
        self._worker = asyncio.create_task(self._run(), name="webhook-worker")

    async def close(self) -> None:
        """Stop the worker; undelivered events stay queued for the next start."""
        if self.closed:
            return
        self.closed = True
        in_flight = list(self._in_flight)
        tasks = [task for _, task in self._in_flight.values()]
        if self._worker is not None:
            tasks.append(self._worker)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.store.release(in_flight, time.time())  # the next start sends them at once
        self._in_flight.clear()
        self._worker = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # the worker

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                wait = self._step(time.time())
            except Exception:
                logger.exception("webhook worker step failed; retrying in 5 s")
                wait = 5.0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _step(self, now: float) -> float:
        """Prune when it is time, start every due delivery there is room for, and
        return how long to sleep unless woken (by publish or a finished delivery)."""
        if now >= self._next_prune:
            pruned = self.store.prune(now - self.retention_days * 86400)
            if pruned:
                logger.info("pruned %d old webhook deliveries", pruned)
            self._next_prune = now + self.prune_interval
        endpoints = self.store.active_endpoints()
        if endpoints:
            self._turn = (self._turn + 1) % len(endpoints)
            for endpoint in [*endpoints[self._turn :], *endpoints[: self._turn]]:
                if len(self._in_flight) >= self.concurrency:
                    break
                self._launch_due(endpoint, now)
        wait = self._next_prune - now
        next_due = self.store.next_due_at(now)
        if next_due is not None:
            wait = min(wait, next_due - now)
        return max(0.0, wait)

    def _launch_due(self, endpoint: Endpoint, now: float) -> None:
        busy = {d for d, (owner, _) in self._in_flight.items() if owner == endpoint.id}
        room = min(self.per_endpoint - len(busy), self.concurrency - len(self._in_flight))
        if room <= 0:
            return
        for delivery in self.store.due(endpoint.id, now, room + len(busy)):
            if delivery.id in busy:
                continue
            if room <= 0:
                break
            # Workers of one machine share this queue: one attempt, one sender.
            if not self.store.claim(delivery.id, now, now + 2 * self.timeout + 5):
                continue
            room -= 1
            task = asyncio.create_task(self._deliver(endpoint, delivery))
            self._in_flight[delivery.id] = (endpoint.id, task)

    async def _deliver(self, endpoint: Endpoint, delivery: Delivery) -> None:
        try:
            try:
                status, error = await self._post(endpoint, delivery)
            except Exception as exc:  # a bug, not the receiver: still count the attempt
                logger.exception("webhook delivery %d failed unexpectedly", delivery.id)
                status, error = None, _clip(f"internal error: {exc!r}")
            attempts = delivery.attempts + 1
            retry_at: float | None = None
            if attempts < self.max_attempts:
                delay = backoff_delay(attempts, self.backoff_base, self.backoff_cap)
                retry_at = time.time() + delay
            self.store.record_attempt(delivery.id, status, error, retry_at)
        except Exception:
            logger.exception("could not record webhook delivery %d", delivery.id)
        finally:
            self._in_flight.pop(delivery.id, None)
            self._wake.set()

    async def _post(self, endpoint: Endpoint, delivery: Delivery) -> tuple[int | None, str | None]:
        """One HTTP attempt: (status, None) on 2xx, else (status or None, error text)."""
        assert self._session is not None
        timestamp = int(time.time())
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "X-Conf-Event-Id": delivery.event_id,
            "X-Conf-Event-Type": delivery.event_type,
            "X-Conf-Timestamp": str(timestamp),
            "X-Conf-Signature": sign(endpoint.secret, timestamp, body),
        }
        try:
            # An address literal is never resolved, so it is checked here.
            self.policy.check_host(URL(endpoint.url).host or "")
        except ConfServerError as exc:
            return None, _clip(f"refused before connecting: {exc.message}")
        try:
            async with self._session.post(
                endpoint.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return response.status, None
                # Not the body: the log must not become a way to read what an
                # address answers.
                return response.status, f"HTTP {response.status}"
        except TimeoutError:
            return None, f"timed out after {self.timeout:g} s"
        except aiohttp.ClientError as exc:
            refused = refused_reason(exc)
            if refused is not None:
                return None, _clip(f"refused before connecting: {refused}")
            return None, _clip(f"{type(exc).__name__}: {exc}")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"
