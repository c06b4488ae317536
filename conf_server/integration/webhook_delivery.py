"""Webhook delivery: the dispatcher that queues events and POSTs them.

``publish()`` only writes rows to the queue (conf_server/integration/webhook_queue.py),
then it wakes the worker. It never touches the network, so a slow or dead
receiver cannot slow a meeting. The worker (one asyncio task, owned by
:class:`WebhookDispatcher`) POSTs due rows with a short timeout, at most
``concurrency`` at once and at most ``per_endpoint`` per endpoint, so one dead
endpoint cannot starve the others. A 2xx answer marks a row ``delivered``;
anything else schedules a retry with exponential backoff and jitter until
``max_attempts``, then ``failed``. A receiver may see an event twice (same
``id``), never zero times.

Where a webhook may go is checked against an address policy, at registration
and at every attempt after DNS resolution (conf_server/integration/webhook_addresses.py).
Imports the queue, the signing and the address policy, nothing above them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from conf_server.errors import ConfServerError, NotFound
from sfu.tasks import cancel_and_wait

from .database import Database
from .webhook_addresses import AddressPolicy, CheckedResolver, refused_reason
from .webhook_queue import (
    EVENT_TYPES,
    TEST_EVENT,
    Delivery,
    Endpoint,
    WebhookStore,
    new_event,
    validate_events,
    validate_url,
)
from .webhook_signing import sign

logger = logging.getLogger(__name__)

#: Stored per attempt and shown in the delivery log (never the receiver's body).
MAX_ERROR_TEXT = 300
USER_AGENT = "conf-server-webhooks/1"


def backoff_delay(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: ``base``,
    ``2 * base``, ``4 * base``, ... capped at ``cap``, each +-20 % at random."""
    delay = min(cap, base * 2.0 ** min(max(attempts - 1, 0), 60))
    return float(min(cap, delay * random.uniform(0.8, 1.2)))


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

    def publish_claimed(
        self, event_type: str, data: dict[str, Any], claim: Callable[[str], bool]
    ) -> str | None:
        """Queue an event only if ``claim(event_id)``, run in the same database
        transaction as the queueing, returns True: both happen or neither does
        (a once-only event such as ``meeting.summary``). Returns the event id
        when claimed (also when no endpoint wants the event), None when not.
        Unlike :meth:`publish`, a database error is raised to the caller."""
        event_id, body = new_event(event_type, data, time.time())
        wanted = [e.id for e in self.store.active_endpoints() if e.wants(event_type)]
        if not self.store.enqueue(event_id, event_type, body, wanted, lambda: claim(event_id)):
            return None
        if wanted:
            self._wake.set()
        return event_id

    # the admin side (conf_server/http/webhooks_api.py)

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
        await cancel_and_wait(*tasks)
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
