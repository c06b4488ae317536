"""What guards a share link: the wrong-password limits, the bound on password
hashing at once, and the short-lived session cookie a right password earns.

- Wrong passwords: :data:`WRONG_PER_MINUTE` per link and per client address
  (an IPv6 client by its /64), then ``429 rate_limited`` with ``Retry-After``
  until a try has been earned back. A try that is refused is not hashed. The
  counts are in this node's memory: relayed requests are counted per link on
  the node that holds the recording and per address on the node the client
  reached (conf_server/http/share_viewer_api.py).
- Hashing: scrypt takes 16 MiB and tens of milliseconds; at most
  :data:`HASHING_AT_ONCE` run at once, in threads, whoever asks, and one at a
  time per link and per address (so a burst of guesses cannot all pass the
  limit before the first is counted).
- The session: ``share_session``, a token signed with the deployment's
  download secret for (share id, ``@share-session``), valid an hour (the
  download links' ``LINK_TTL``), in a
  cookie that is ``HttpOnly``, ``SameSite=Strict``, ``Secure`` on https and
  scoped to ``/api/v1/shares/<share id>``: it opens that share's video and
  transcript and nothing else, and only while the share is still active.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from conf_server.errors import ConfServerError
from conf_server.integration.recording_shares import ShareBook
from conf_server.meeting.meeting_creation import TooManyRequests
from recording.library import RecordingLibrary
from signaling.client_address import address_key, client_address, parse_networks
from signaling.rate_limit import Limit, RateLimiter

from .keys import MEETINGS, SETTINGS
from .recordings_api import recording_elsewhere

WRONG_PER_MINUTE = 5
HASHING_AT_ONCE = 2
SESSION_COOKIE = "share_session"
SESSION_SCOPE = "@share-session"
#: Links and addresses whose wrong tries are remembered (the oldest go first).
MAX_TRACKED = 50_000


class WrongPassword(ConfServerError):
    code = "wrong_password"
    status = 401


class SessionRequired(ConfServerError):
    """No valid session cookie for this share: enter the password (again)."""

    code = "share_session_required"
    status = 401


class ShareGuards:
    """The per-link and per-address limits of wrong passwords, and the hashing bound."""

    def __init__(self) -> None:
        limit = Limit(rate=WRONG_PER_MINUTE / 60.0, burst=WRONG_PER_MINUTE)
        self.per_share = RateLimiter(limit, max_keys=MAX_TRACKED)
        self.per_address = RateLimiter(limit, max_keys=MAX_TRACKED)
        self.hashing = asyncio.Semaphore(HASHING_AT_ONCE)
        #: Links and addresses with a password being checked right now.
        self._checking: set[str] = set()

    @contextlib.contextmanager
    def one_at_a_time(self, share_id: str, address: str | None) -> Iterator[None]:
        """One password check at a time per link and per address: otherwise a
        burst of guesses sent at once would all pass :meth:`admit` before the
        first is counted wrong. The others get ``429`` (retry after 1 s)."""
        keys = {f"share:{share_id}"} | ({f"address:{address}"} if address is not None else set())
        if keys & self._checking:
            raise TooManyRequests("a password for this link is being checked", retry_after=1.0)
        self._checking |= keys
        try:
            yield
        finally:
            self._checking -= keys

    def admit(self, share_id: str | None, address: str | None) -> None:
        """Raise :class:`TooManyRequests` if the link or the address has no try left."""
        waits = [
            self.per_share.check(share_id) if share_id is not None else None,
            self.per_address.check(address) if address is not None else None,
        ]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise TooManyRequests(
                f"too many wrong passwords; try again in {wait:.0f} s", retry_after=wait
            )

    def wrong(self, share_id: str | None, address: str | None) -> None:
        """Count one wrong password against the link and the address."""
        if share_id is not None:
            self.per_share.take(share_id)
        if address is not None:
            self.per_address.take(address)


GUARDS = web.AppKey("share_guards", ShareGuards)


@dataclass
class RecordingHere:
    """A recording on this node's disk, and its share links."""

    record: dict[str, Any]
    book: ShareBook
    library: RecordingLibrary


async def recording_here(
    request: web.Request, recording_id: str, missing: ConfServerError
) -> RecordingHere | web.StreamResponse:
    """``recording_id`` on this node, or the answer of the node that has it
    (the request relayed there); raises ``missing`` when no node has it."""
    library = request.config_dict[MEETINGS].recording.library_now()
    record = library.get(recording_id)
    directory = library.directory(recording_id)
    if record is None or directory is None:
        elsewhere = await recording_elsewhere(request, recording_id)
        if elsewhere is not None:
            return elsewhere
        raise missing
    return RecordingHere(record, ShareBook(directory), library)


def install(api: web.Application) -> None:
    """Give the API its share guards (one set per node)."""
    api[GUARDS] = ShareGuards()


def guards(request: web.Request) -> ShareGuards:
    return request.config_dict[GUARDS]


@contextlib.asynccontextmanager
async def hashing(request: web.Request) -> AsyncIterator[None]:
    """Hold one of the node's :data:`HASHING_AT_ONCE` hashing places."""
    async with guards(request).hashing:
        yield


def client_key(request: web.Request) -> str:
    """The client's address as the limits count it (``trusted_proxies`` believed)."""
    trusted = parse_networks(request.config_dict[SETTINGS].trusted_proxies)
    address = client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted)
    return address_key(address)


def _secure(request: web.Request) -> bool:
    public = request.config_dict[SETTINGS].public_url or ""
    return request.secure or public.startswith("https:")


def cookie_path(share_id: str) -> str:
    return f"/api/v1/shares/{share_id}"


def start_session(
    request: web.Request, share_id: str, expires_at: float, body: dict[str, Any]
) -> web.Response:
    """``body`` as JSON with the session cookie of ``share_id`` set, and
    ``session_expires_at`` (at most when the share itself expires) added."""
    links = request.config_dict[MEETINGS].download_links
    assert links is not None  # made at start-up (conf_server/app.py)
    token = links.token(share_id, SESSION_SCOPE)
    ends = min(float(token.split(".")[0]), expires_at)
    response = web.json_response({**body, "session_expires_at": ends})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(1, int(ends - time.time())),
        path=cookie_path(share_id),
        secure=_secure(request),
        httponly=True,
        samesite="Strict",
    )
    return response


def check_session(request: web.Request, share_id: str) -> None:
    """Raise :class:`SessionRequired` unless the request carries this share's session."""
    token = request.cookies.get(SESSION_COOKIE)
    links = request.config_dict[MEETINGS].download_links
    if token is None or links is None:
        raise SessionRequired("enter the link's password first")
    try:
        links.check(token, share_id, SESSION_SCOPE)
    except ConfServerError:
        raise SessionRequired("your session has ended: enter the link's password again") from None
