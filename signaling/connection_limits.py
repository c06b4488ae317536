"""Limits on Socket.IO connections: how many in all, how many per client
address, how long one may stay without a room, and what the process does when
its file descriptors run short.

Every Socket.IO connection holds a file descriptor (its TCP connection), and a
server with the usual limit of 1,024 descriptors stopped accepting anything,
``/healthz`` included, after about 1,000 sockets that connected and never
joined. So:

- new connections are refused (HTTP 429 ``too_many_connections`` per address,
  503 ``server_full`` in all or when descriptors run short) before python-engineio
  makes a socket for them: the check counts engine.io sockets, which exist
  before (and without) a Socket.IO CONNECT;
- a socket that is in no room, nor waiting in a lobby, for ``unjoined_seconds``
  is disconnected (:class:`signaling.server.MeetingSocketServer` sweeps);
- at start-up the soft descriptor limit is raised to the hard one, and
  asyncio's "socket.accept() out of system resource" error, which it logs once
  per pending connection and tick when descriptors run out (38,000 lines a
  minute were seen), is logged at most every few seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .client_address import Network, address_key, client_address

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionLimits:
    """The connection limits of one server process (settings of the same names
    in conf_server: ``max_connections``, ``max_connections_per_address``,
    ``unjoined_socket_seconds``)."""

    max_connections: int = 10_000
    max_per_address: int = 500
    unjoined_seconds: float = 20.0

    def __post_init__(self) -> None:
        if self.max_connections < 1 or self.max_per_address < 1 or self.unjoined_seconds <= 0:
            raise ValueError("connection limits must be positive")


@dataclass(frozen=True)
class Refusal:
    """Why a new connection is refused, as an HTTP answer."""

    status: int
    code: str
    message: str
    retry_after: float

    def response(self) -> dict[str, Any]:
        """The answer in python-engineio's response form; the body is the
        REST API's error object, so every client sees one error format."""
        reason = "Too Many Requests" if self.status == 429 else "Service Unavailable"
        body = json.dumps({"error": {"code": self.code, "message": self.message}}).encode()
        return {
            "status": f"{self.status} {reason}",
            "headers": [
                ("Content-Type", "application/json"),
                ("Retry-After", str(math.ceil(self.retry_after))),
            ],
            "response": body,
        }


def environ_address(environ: dict[str, Any], trusted: tuple[Network, ...]) -> str:
    """The client address of an engine.io request (python-engineio's environ
    has no real REMOTE_ADDR under aiohttp; the aiohttp request does)."""
    request = environ.get("aiohttp.request")
    peer = getattr(request, "remote", None)
    forwarded = request.headers.get("X-Forwarded-For") if request is not None else None
    return client_address(peer, forwarded, trusted)


# -- file descriptors -------------------------------------------------------------


def open_fd_count() -> int | None:
    """Descriptors this process has open (None where /proc is not available)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def fd_limit() -> int:
    """The soft RLIMIT_NOFILE (what ``open``/``accept`` run into)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


class FdBudget:
    """Is the process close to its descriptor limit? Counting /proc/self/fd
    costs a directory listing, so it is recounted at most every
    ``recount_seconds``; connections admitted in between are added to the
    last count, so a burst cannot overshoot the limit between two counts."""

    #: Part of the limit kept for everything but new Socket.IO connections:
    #: REST and health checks, media (UDP) sockets of running meetings, files.
    RESERVE_FRACTION = 0.1
    MIN_RESERVE = 32

    def __init__(
        self,
        count: Callable[[], int | None] = open_fd_count,
        limit: Callable[[], int] = fd_limit,
        recount_seconds: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._count = count
        self._limit = limit
        self._recount_seconds = recount_seconds
        self._clock = clock
        self._counted_at = -math.inf
        self._open: int | None = None
        self._since = 0

    def near_limit(self) -> bool:
        now = self._clock()
        if now - self._counted_at >= self._recount_seconds:
            self._open, self._since, self._counted_at = self._count(), 0, now
        if self._open is None:
            return False
        limit = self._limit()
        reserve = max(self.MIN_RESERVE, int(limit * self.RESERVE_FRACTION))
        return self._open + self._since >= limit - reserve

    def admitted(self) -> None:
        """One more connection since the last count (it holds a descriptor)."""
        self._since += 1


def raise_fd_limit() -> tuple[int, int]:
    """Raise the soft descriptor limit to the hard one (the usual soft default
    of 1,024 is far below what a meeting server needs; the hard limit is what
    the administrator allows, e.g. systemd's ``LimitNOFILE``). Returns the
    (soft, hard) limits now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        with contextlib.suppress(ValueError, OSError):
            # An unlimited hard limit cannot be the soft one on Linux: cap it.
            target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft, hard


# -- logging without floods ---------------------------------------------------------


class LogThrottle:
    """Lets one of a kind of log line through every ``interval`` seconds; the
    next one that passes says how many were held back."""

    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def passes(self, kind: str) -> int | None:
        """None: hold this one back; else let it pass, with the number held
        back since the last one that passed."""
        now = self._clock()
        if now - self._last.get(kind, -math.inf) < self._interval:
            self._held[kind] = self._held.get(kind, 0) + 1
            return None
        self._last[kind] = now
        return self._held.pop(kind, 0)


#: What asyncio logs for every connection it cannot accept for want of
#: descriptors (errno EMFILE/ENFILE/ENOBUFS/ENOMEM).
ACCEPT_ERROR = "socket.accept() out of system resource"


class AcceptErrorFilter(logging.Filter):
    """On the ``asyncio`` logger: asyncio's accept loop logs the accept error
    (with a traceback) up to once per pending connection per tick, and tries
    again every second; this lets one such record through every
    ``interval`` seconds, saying how many were held back."""

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__()
        self._throttle = LogThrottle(interval)

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(ACCEPT_ERROR):
            return True
        held = self._throttle.passes(ACCEPT_ERROR)
        if held is None:
            return False
        record.msg = (
            f"{ACCEPT_ERROR}: the process is out of file descriptors and cannot "
            f"accept connections for now ({held} more like this held back; raise "
            "LimitNOFILE, see docs/operations.md)"
        )
        record.args = ()
        record.exc_info = None  # the traceback says nothing new
        record.exc_text = None
        return True


def quiet_accept_errors() -> None:
    """Install :class:`AcceptErrorFilter` on the ``asyncio`` logger (once)."""
    asyncio_logger = logging.getLogger("asyncio")
    if not any(isinstance(f, AcceptErrorFilter) for f in asyncio_logger.filters):
        asyncio_logger.addFilter(AcceptErrorFilter())


# -- admission ----------------------------------------------------------------------


class ConnectionGuard:
    """Admission of new engine.io connections, and who holds which."""

    def __init__(
        self,
        limits: ConnectionLimits,
        trusted: tuple[Network, ...] = (),
        fds: FdBudget | None = None,
    ) -> None:
        self.limits = limits
        self._trusted = trusted
        self._fds = fds if fds is not None else FdBudget()
        #: Open sockets by engine.io sid -> the address key they count against.
        self._keys: dict[str, str] = {}
        self._by_key: dict[str, set[str]] = {}
        self._log = LogThrottle()

    def address_of(self, environ: dict[str, Any]) -> str:
        return environ_address(environ, self._trusted)

    def refusal(self, environ: dict[str, Any], open_sockets: int) -> Refusal | None:
        """None to admit a new connection, else why not (logged, throttled)."""
        address = self.address_of(environ)
        refusal = self._check(address_key(address), open_sockets)
        if refusal is not None:
            self._note(refusal, address)
        return refusal

    def _check(self, key: str, open_sockets: int) -> Refusal | None:
        if self._fds.near_limit():
            return Refusal(
                503, "server_full", "the server is out of connections; try again soon", 5.0
            )
        if open_sockets >= self.limits.max_connections:
            return Refusal(503, "server_full", "the server has too many connections", 5.0)
        if len(self._by_key.get(key, ())) >= self.limits.max_per_address:
            return Refusal(
                429, "too_many_connections", "too many connections from your address", 10.0
            )
        return None

    def _note(self, refusal: Refusal, address: str) -> None:
        held = self._log.passes(refusal.code)
        if held is None:
            return
        hint = ""
        if refusal.code == "too_many_connections":
            hint = " (a reverse proxy? list it in trusted_proxies)"
        logger.warning(
            "refusing new Socket.IO connections: %s, e.g. from %s%s; %d more refused since the "
            "last notice",
            refusal.message,
            address,
            hint,
            held,
        )

    def opened(self, eio_sid: str, environ: dict[str, Any]) -> None:
        """A connection was admitted and has its engine.io socket."""
        key = address_key(self.address_of(environ))
        self._keys[eio_sid] = key
        self._by_key.setdefault(key, set()).add(eio_sid)
        self._fds.admitted()

    def closed(self, eio_sid: str) -> None:
        key = self._keys.pop(eio_sid, None)
        if key is None:
            return
        sids = self._by_key.get(key)
        if sids is not None:
            sids.discard(eio_sid)
            if not sids:
                del self._by_key[key]

    def forget_missing(self, live: set[str] | dict[str, Any]) -> None:
        """Drop bookkeeping of sockets python-engineio no longer has (a socket
        can go without a disconnect event, e.g. when its connect was refused)."""
        for eio_sid in [sid for sid in self._keys if sid not in live]:
            self.closed(eio_sid)

    def connections_from(self, address: str) -> int:
        return len(self._by_key.get(address_key(address), ()))
