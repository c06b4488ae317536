"""Log records that any client can provoke at will, made quiet.

A malformed HTTP request line or header (aiohttp answers 400), a request
for an engine.io session that is gone and the other requests python-engineio
answers 400 (an origin that is not accepted, an unknown transport or protocol
version, ...) are the client's mistakes, not the server's; aiohttp and
python-engineio log them at ERROR, aiohttp with a traceback, so a scanner
could fill the log and bury real errors. These filters turn such records into
one INFO line without a traceback.
"""

from __future__ import annotations

import logging

from aiohttp import http_exceptions, web


class ClientErrorFilter(logging.Filter):
    """Downgrade records caused by a client's malformed request to INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        # A client that closes its connection while aiohttp writes the answer
        # (ClientConnectionResetError is a ConnectionResetError) is the same.
        # A body that does not decode as its Content-Encoding says (aiohttp
        # reads the rest of an unread body after answering, and logs this).
        malformed_http = isinstance(
            exc,
            http_exceptions.HttpProcessingError | ConnectionResetError | web.RequestPayloadError,
        )
        gone_session = str(record.msg).startswith("Invalid session")
        # python-engineio logs each kind of bad request (every one a 400: a
        # foreign origin, an unknown transport or EIO version, ...) at ERROR
        # the first time, with this note, then at INFO. Kept as a WARNING:
        # one line per kind, and a wrong public_url refuses every browser's
        # origin, which the operator must still see.
        bad_request = (
            record.name == "engineio.server"
            and "further occurrences of this error" in str(record.msg)
        )
        if malformed_http or gone_session or bad_request:
            if malformed_http:
                peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
                record.msg = "a malformed or abandoned HTTP request from %s: %s"
                record.args = (peer, type(exc).__name__)
            level = logging.WARNING if bad_request and not gone_session else logging.INFO
            record.levelno, record.levelname = level, logging.getLevelName(level)
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_client_errors() -> None:
    """Install :class:`ClientErrorFilter` on aiohttp's and engine.io's loggers (once)."""
    for name in ("aiohttp.server", "engineio.server"):
        target = logging.getLogger(name)
        if not any(isinstance(f, ClientErrorFilter) for f in target.filters):
            target.addFilter(ClientErrorFilter())
