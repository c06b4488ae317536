"""Signed, expiring links to one file of a recording.

When the deployment allows it (``recording_host_download``), a meeting's host
may download its recordings without an API key: the server hands the host's
browser links whose ``download_token`` is ``<expiry>.<HMAC-SHA256(secret,
"<recording id>/<file name>/<expiry>")>``. A token opens that one file until it
expires (1 hour); any other file, a changed expiry or a forged signature gets
``401``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from .api_keys import Unauthorized

LINK_TTL = 3600.0
#: ``<expiry>.<signature>``: up to 12 ASCII digits (Unix seconds until the
#: year 33658), a dot, 64 lowercase hex digits. Checked before any int():
#: "²" is a digit to str.isdigit(), and 5,000 digits make int() raise.
TOKEN_PATTERN = re.compile(r"\A([0-9]{1,12})\.([0-9a-f]{64})\Z")


class DownloadLinks:
    """Signs and checks download tokens with one secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"recording-download:" + secret.encode()).digest()

    def _signature(self, recording_id: str, name: str, expires: int) -> str:
        message = f"{recording_id}/{name}/{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def token(self, recording_id: str, name: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + LINK_TTL)
        return f"{expires}.{self._signature(recording_id, name, expires)}"

    def check(self, token: str, recording_id: str, name: str) -> None:
        """Raise :class:`Unauthorized` unless ``token`` opens this file now."""
        match = TOKEN_PATTERN.fullmatch(token)
        if match is None:
            raise Unauthorized("this download link is not valid")
        expires, signature = int(match[1]), match[2]
        expected = self._signature(recording_id, name, expires)
        if not hmac.compare_digest(expected, signature):
            raise Unauthorized("this download link is not valid")
        if expires < time.time():
            raise Unauthorized("this download link has expired; ask for a new one")
