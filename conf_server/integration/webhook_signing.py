"""Webhook signatures: how a request proves it came from this server.

Each request is signed: ``X-Conf-Signature: v1=<hex HMAC-SHA256(secret,
f"{timestamp}.{body}")>`` with ``X-Conf-Timestamp`` (unix seconds, fresh for
each attempt); receivers check it with :func:`verify_signature`. Pure
functions, no I/O; imports nothing of ours.
"""

from __future__ import annotations

import hashlib
import hmac
import time


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
    # As bytes: compare_digest raises on str with non-ASCII, and a header holds anything.
    wanted = expected.encode()
    return any(
        hmac.compare_digest(wanted, c.encode("utf-8", "surrogateescape"))
        for c in candidates
        if c.startswith("v1=")
    )
