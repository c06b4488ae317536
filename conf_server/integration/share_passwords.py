"""The passwords of recording share links, kept only as a slow hash.

scrypt (RFC 7914, :func:`hashlib.scrypt` of the standard library) with a
random 16-byte salt per password: ``n=2**14, r=8, p=1`` takes 16 MiB and a few
tens of milliseconds per guess, so a stolen ``.shares.json`` cannot be tried
quickly offline. The parameters are stored with each hash, so they can be
raised later without breaking old links. Comparison is constant-time.

Hashing is CPU work: callers on the event loop run it in a thread
(:func:`asyncio.to_thread`) and bound how many run at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from conf_server.errors import InvalidRequest

#: Shorter passwords are refused (a share link is public once sent).
MIN_PASSWORD_CHARS = 8
#: Longer ones too: hashing a megabyte per guess would be a cheap DoS.
MAX_PASSWORD_CHARS = 256
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
KEY_BYTES = 32
#: scrypt needs 128 * n * r bytes; allow it with room to spare.
_MAXMEM = 64 * 1024 * 1024


def check_password(password: object) -> str:
    """``password`` if it is an acceptable new share password; else
    :class:`InvalidRequest` (``invalid_password``)."""
    if not isinstance(password, str):
        raise InvalidRequest("field 'password' must be a string", "invalid_password")
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InvalidRequest(
            f"the password must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
            "invalid_password",
        )
    return password


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=KEY_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> dict[str, Any]:
    """The stored form of ``password``: algorithm, parameters, salt and key."""
    salt = secrets.token_bytes(16)
    key = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return {
        "algorithm": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": _b64(salt),
        "key": _b64(key),
    }


def verify_password(password: str, stored: dict[str, Any]) -> bool:
    """True if ``password`` is the one ``stored`` was made from. A guess that
    could not be a password (too long) is wrong without being hashed; a stored
    entry that makes no sense never matches."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        n, r, p = int(stored["n"]), int(stored["r"]), int(stored["p"])
        if stored.get("algorithm") != "scrypt" or n > 2**17 or r > 16 or p > 4:
            return False  # parameters that would cost more than we ever write
        salt = base64.b64decode(stored["salt"], validate=True)
        key = base64.b64decode(stored["key"], validate=True)
    except (KeyError, TypeError, ValueError):
        return False
    return hmac.compare_digest(_derive(password, salt, n, r, p), key)
