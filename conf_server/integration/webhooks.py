"""Signed webhooks: meeting events to the chat app, at least once.

This module only gathers the public names; the work is in four modules, each
importing only the ones listed before it:

- conf_server/integration/webhook_signing.py: ``sign`` and :func:`verify_signature`
  (``X-Conf-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``
  with ``X-Conf-Timestamp``). Pure functions.
- conf_server/integration/webhook_addresses.py: where a webhook may go (no loopback,
  link-local, private or metadata addresses unless the deployment allows their
  networks, ``webhook_allowed_networks``), checked at registration and at every
  attempt after DNS resolution.
- conf_server/integration/webhook_queue.py: the event types, input validation and the
  durable queue in the data dir's SQLite file (``webhook_endpoints``,
  ``webhook_deliveries``): rows still pending when the process stops (even
  ``kill -9``) are sent by the next process.
- conf_server/integration/webhook_delivery.py: :class:`WebhookDispatcher`. ``publish()``
  only writes to the queue and never touches the network; one background
  worker POSTs due rows with bounded concurrency per endpoint and retries with
  exponential backoff and jitter. A receiver may see an event twice (same
  ``id``), never zero times.
"""

from __future__ import annotations

from .webhook_delivery import MAX_ERROR_TEXT, USER_AGENT, WebhookDispatcher, backoff_delay
from .webhook_queue import (
    EVENT_TYPES,
    MAX_ENDPOINTS,
    MAX_URL_LENGTH,
    TEST_EVENT,
    Delivery,
    Endpoint,
    InvalidWebhook,
    WebhookStore,
    new_event,
    validate_events,
    validate_url,
)
from .webhook_signing import sign, verify_signature

__all__ = [
    "EVENT_TYPES",
    "MAX_ENDPOINTS",
    "MAX_ERROR_TEXT",
    "MAX_URL_LENGTH",
    "TEST_EVENT",
    "USER_AGENT",
    "Delivery",
    "Endpoint",
    "InvalidWebhook",
    "WebhookDispatcher",
    "WebhookStore",
    "backoff_delay",
    "new_event",
    "sign",
    "validate_events",
    "validate_url",
    "verify_signature",
]
