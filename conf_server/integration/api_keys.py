"""API keys: who may call the REST API, and for what.

Two scopes: ``admin`` (everything) and ``integration`` (what the chat app
needs: escalations, meetings, reports, recordings). A key is
``ck_<id>_<secret>``; only its SHA-256 is stored (keys are 256-bit random, so a
plain hash is enough: nothing to brute-force), compared in constant time. The
bootstrap admin key ``CONF_ADMIN_API_KEY`` (setting ``admin_api_key``) and the
integration keys listed in the configuration (``integration_api_keys``) are never
stored; they work as long as they are configured.

Requests carry ``Authorization: Bearer <key>``. Missing, malformed, unknown or
revoked keys get ``401``; a key without the needed scope gets ``403``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from conf_server.errors import ConfServerError, InvalidRequest, NotFound

from .database import Database

SCOPES = ("admin", "integration")


class Unauthorized(ConfServerError):
    code = "unauthorized"
    status = 401


class ForbiddenScope(ConfServerError):
    code = "forbidden"
    status = 403


@dataclass(frozen=True)
class Caller:
    """Who made an API request."""

    key_id: str
    scope: str

    def require(self, *scopes: str) -> None:
        """Raise 403 unless this caller's scope is ``admin`` or one of ``scopes``."""
        if self.scope != "admin" and self.scope not in scopes:
            raise ForbiddenScope(f"this API key (scope {self.scope}) may not do that")


def _hash(key: str) -> str:
    # aiohttp hands a header's non-UTF-8 bytes over as lone surrogates
    # (surrogateescape): hash the bytes as sent, so such a key is simply
    # unknown instead of failing to encode (a 500 on every keyed route).
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


class ApiKeys:
    """Keys kept hashed in the database, plus the configured bootstrap key."""

    def __init__(
        self,
        db: Database,
        bootstrap_admin_key: str | None,
        configured_integration_keys: tuple[str, ...] = (),
    ) -> None:
        self._db = db
        self._bootstrap = bootstrap_admin_key or None
        self._configured = {
            _hash(key): index for index, key in enumerate(configured_integration_keys)
        }

    def create(self, name: str, scope: str) -> dict[str, Any]:
        """A new key; the secret is in the answer and nowhere else."""
        if scope not in SCOPES:
            raise InvalidRequest(f"scope must be one of {', '.join(SCOPES)}")
        key_id = secrets.token_hex(6)
        key = f"ck_{key_id}_{secrets.token_urlsafe(32)}"
        now = time.time()
        self._db.execute(
            "INSERT INTO api_keys (id, name, scope, key_hash, prefix, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key_id, name, scope, _hash(key), key[:12], now),
        )
        return {**self._describe_row(key_id), "key": key}

    def list(self) -> list[dict[str, Any]]:
        rows = self._db.all("SELECT id FROM api_keys ORDER BY created_at")
        return [self._describe_row(row["id"]) for row in rows]

    def revoke(self, key_id: str) -> dict[str, Any]:
        row = self._db.one("SELECT revoked_at FROM api_keys WHERE id = ?", (key_id,))
        if row is None:
            raise NotFound("no API key with that id")
        if row["revoked_at"] is None:
            self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ?", (time.time(), key_id)
            )
        return self._describe_row(key_id)

    def _describe_row(self, key_id: str) -> dict[str, Any]:
        row = self._db.one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        assert row is not None
        return {
            "id": row["id"],
            "name": row["name"],
            "scope": row["scope"],
            "prefix": row["prefix"],
            "created_at": row["created_at"],
            "revoked_at": row["revoked_at"],
        }

    def authenticate(self, request: web.Request) -> Caller:
        """The caller of ``request``, or :class:`Unauthorized`."""
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
        key = key.strip()
        if self._bootstrap is not None and hmac.compare_digest(_hash(key), _hash(self._bootstrap)):
            return Caller("bootstrap", "admin")
        index = self._configured.get(_hash(key))
        if index is not None:
            return Caller(f"config-{index}", "integration")
        row = self._db.one("SELECT * FROM api_keys WHERE key_hash = ?", (_hash(key),))
        if row is None or not hmac.compare_digest(row["key_hash"], _hash(key)):
            raise Unauthorized("this API key is not valid")
        if row["revoked_at"] is not None:
            raise Unauthorized("this API key has been revoked")
        return Caller(row["id"], row["scope"])
