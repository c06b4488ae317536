"""Fixtures of the fuzzing campaign (tests/security/test_fuzz_*.py).

Each fuzz module gets a real server (``create_app``) on a loopback port,
running in a thread with its own event loop, and a second thread with the
clients' loop: the Hypothesis tests are plain functions that hand coroutines
to that loop. The server's log records at ERROR (or with a traceback) are
captured, so every example can check "no traceback in the log".

Every example's broken invariants are collected (by what broke, with the first
input that broke it) and the test fails at its end listing them all: one run
shows every distinct bug, in seconds, instead of one bug shrunk for minutes
against a server whose state each example changes.

Profiles (``CONF_FUZZ_PROFILE``): ``quick`` (default, in the normal suite: a
few hundred cases, derandomized, so every run sends the same) and ``long``
(scripts/fuzz.sh: >= 100,000 cases in all, seeded from ``CONF_FUZZ_SEED`` or
at random; the seed is in the failure message). With
``CONF_FUZZ_STATS=<file>`` each target appends its case count and failures
as a JSON line; ``CONF_FUZZ_EXAMPLES`` changes the profile's base count.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import random
import re
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import socketio
from aiohttp import web
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from redis_server import redis_url_for
from server_keys import ADMIN_KEY

from conf_server import Settings, create_app

T = TypeVar("T")

DOCS = Path(__file__).resolve().parents[2] / "docs"
PROFILE = os.environ.get("CONF_FUZZ_PROFILE", "quick")
if PROFILE not in ("quick", "long"):
    raise pytest.UsageError(f"CONF_FUZZ_PROFILE must be quick or long, not {PROFILE!r}")
LONG = PROFILE == "long"
#: The integration key of the fuzz servers (integration_api_keys).
INTEGRATION_KEY = "fuzz-integration-key-0123456789"

#: The seed of a long run (reported with its failures, so a run can be repeated).
SEED = int(os.environ.get("CONF_FUZZ_SEED") or random.randrange(2**32)) if LONG else 0
settings.register_profile(
    "conf-fuzz",
    max_examples=int(os.environ.get("CONF_FUZZ_EXAMPLES") or (6_000 if LONG else 60)),
    derandomize=not LONG,
    database=None,  # nothing fails for Hypothesis: the tests collect, then fail
    # No shrinking: an example only raises when the server stopped answering,
    # and then every further example would wait for its timeout too.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
FUZZ = settings.get_profile("conf-fuzz")

F = TypeVar("F", bound=Callable[..., Any])


def fuzzing(weight: float) -> Callable[[F], F]:
    """Put on a ``@given`` function: the profile's example count times
    ``weight``, and the long run's seed."""

    def apply(test: F) -> F:
        test = settings(FUZZ, max_examples=max(1, int(FUZZ.max_examples * weight)))(test)
        return seed(SEED)(test) if LONG else test

    return apply


# --- the documented answers ------------------------------------------------------------------


@functools.cache
def socketio_error_codes() -> frozenset[str]:
    """Codes of the *Error codes* table of docs/protocol.md, without
    ``internal_error`` (documented, but it means a bug on the server)."""
    section = (DOCS / "protocol.md").read_text().split("\n## Error codes", 1)[1]
    section = section.split("\n## ", 1)[0]
    codes: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            codes |= set(re.findall(r"`([a-z][a-z0-9_]*)`", line.split("|")[1]))
    return frozenset(codes - {"internal_error"})


@functools.cache
def rest_errors() -> frozenset[tuple[str, str]]:
    """(status, code) pairs docs/rest-api.md documents: the *Errors* table and
    every ``\\`409 code\\` / \\`other_code\\``` of the route sections. A status
    ``4xx`` stands for any client error (``http_error``)."""
    text = (DOCS / "rest-api.md").read_text()
    pairs: set[tuple[str, str]] = set()
    for line in text.splitlines():
        row = re.match(r"\| (\d{3}|other [^|]*) \| `([a-z][a-z0-9_]*)` \|", line)
        if row:
            pairs.add(("4xx" if row[1].startswith("other") else row[1], row[2]))
    for found in re.finditer(r"`(\d{3}) ([a-z][a-z0-9_]*)`((?:\s*/\s*`[a-z][a-z0-9_]*`)*)", text):
        for code in [found[2], *re.findall(r"`([a-z][a-z0-9_]*)`", found[3])]:
            pairs.add((found[1], code))
    return frozenset(pairs - {("500", "internal_error")})


# --- strategies both Socket.IO and REST fuzzers use ------------------------------------------


def weighted(*choices: tuple[float, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Like ``st.one_of`` but each branch drawn with its weight: Hypothesis
    steers ``one_of`` towards the branch with the most unexplored values (any
    text), which would leave the documented messages nearly untried."""
    total = sum(weight for weight, _ in choices)

    def branch(x: float) -> st.SearchStrategy[Any]:
        for weight, strategy in choices:
            if x < weight:
                return strategy
            x -= weight
        return choices[-1][1]

    return st.floats(0, total, exclude_max=True).flatmap(branch)


#: Strings that broke (or nearly broke) servers before: encodings, injections, limits.
NASTY_STRINGS = (
    "",
    " ",
    "\x00",
    "\ud800",
    "a\udfffb",
    "\u202eevil",
    "\ufeff",
    "\u200d",
    "👩‍💻",
    "../../etc/passwd",
    "..",
    "%00",
    "%ff%fe",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "${jndi:ldap://127.0.0.1:1/a}",
    "{{7*7}}",
    "\r\nX-Injected: 1",
    "\\",
    "null",
    "true",
    "-0",
    "1e309",
    "NaN",
    "__proto__",
    "_placeholder",
    "A" * 65,
    "A" * 257,
)


def nasty_text(max_size: int = 80, huge: bool = True) -> st.SearchStrategy[str]:
    """Any unicode (lone surrogates, controls, private use included), the
    strings above, and (``huge``) strings over every limit, built cheaply by
    repetition."""
    branches = [
        st.text(st.characters(exclude_categories=()), max_size=max_size),
        st.sampled_from(NASTY_STRINGS),
    ]
    if huge:
        branches.append(
            st.builds(
                lambda piece, count: piece * count,
                st.sampled_from(["a", "\u00e9", "\U0001f600", "\ud800", "<", "\x00"]),
                st.sampled_from([65, 257, 2001, 4097, 16 * 1024 + 1, 70_000]),
            )
        )
    return st.one_of(branches)


def nasty_ints() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(min_value=-3, max_value=130),
        st.sampled_from([-(2**63), 2**31, 2**53 + 1, 2**63, 2**64, 10**30, -(10**30)]),
        st.integers(),
    )


def json_values(max_leaves: int = 12, binary: bool = False) -> st.SearchStrategy[Any]:
    """Any JSON value: wrong types for every field, nested structures,
    Socket.IO binary placeholders, huge numbers; ``binary`` adds bytes (which
    Socket.IO sends as attachments)."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        nasty_ints(),
        st.floats(allow_nan=False, allow_infinity=False),
        nasty_text(),
        *([st.binary(max_size=16)] if binary else []),
    )
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(nasty_text(12), children, max_size=5),
            st.fixed_dictionaries({"_placeholder": st.just(True), "num": children}),
        ),
        max_leaves=max_leaves,
    )


def deep_json(depth: int) -> str:
    """A JSON text nested ``depth`` levels deep (parsers recurse on it)."""
    return '{"a":' * depth + "1" + "}" * depth


# --- Socket.IO --------------------------------------------------------------------------------

#: How long a message may wait for its acknowledgement (generous: a busy machine).
ACK_TIMEOUT = 10.0
#: Stands for "emit without any payload" (python-socketio then sends no argument).
NO_PAYLOAD = object()


async def emit(sio: socketio.AsyncClient, event: Any, args: Any, timeout: float) -> tuple[str, Any]:
    """Send one message: ``("ack", answer)``, ``("timeout", None)`` or
    ``("disconnected", None)`` (at once when the server closes the connection:
    python-socketio's ``call`` would wait out its timeout). A tuple ``args``
    is sent as several payloads."""
    if not sio.connected:
        return "disconnected", None
    call = asyncio.ensure_future(
        sio.call(event, timeout=timeout)
        if args is NO_PAYLOAD
        else sio.call(event, args, timeout=timeout)
    )
    gone = asyncio.ensure_future(_until_disconnected(sio))
    try:
        await asyncio.wait({call, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not call.done():
        call.cancel()
        return "disconnected", None
    try:
        return "ack", call.result()
    except socketio.exceptions.TimeoutError:
        return ("disconnected" if not sio.connected else "timeout"), None
    except (socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError):
        return "disconnected", None


async def _until_disconnected(sio: socketio.AsyncClient) -> None:
    # Polled: python-socketio keeps one handler per event, and the client's
    # "disconnect" handler may be its owner's.
    while sio.connected:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


#: The largest Socket.IO message (docs/protocol.md, *Connections*).
MAX_MESSAGE_BYTES = 2 * 1024 * 1024


def may_close_connection(value: Any) -> bool:
    """May the server answer a message carrying ``value`` by closing the
    connection (docs/protocol.md, *Connections*)? Yes when it is over 2 MiB as
    JSON, or holds a dict that Socket.IO reads as a binary attachment
    placeholder (python-socketio sends such a dict as it is, and the server
    cannot decode the packet)."""
    size = len(json.dumps(value, default=lambda b: "x" * len(b) if isinstance(b, bytes) else ""))
    return size > MAX_MESSAGE_BYTES or _has_placeholder(value)


def _has_placeholder(value: Any) -> bool:
    if isinstance(value, dict):
        return "_placeholder" in value or any(_has_placeholder(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_placeholder(v) for v in value)
    return False


# --- the fuzz server and its checks ----------------------------------------------------------


class ServerErrors(logging.Handler):
    """Keeps the log records of the server's threads that are errors or carry
    a traceback (the clients' threads are not the server)."""

    def __init__(self, client_threads: set[int]) -> None:
        super().__init__(logging.WARNING)
        self._client_threads = client_threads
        self._records: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread in self._client_threads:
            return
        if record.levelno >= logging.ERROR or record.exc_info:
            with self._lock:
                self._records.append(record)

    def drain(self) -> list[logging.LogRecord]:
        with self._lock:
            records, self._records = self._records, []
        return records


class LoopThread:
    """An event loop running in a thread of its own."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.close()

    def run(self, coro: Awaitable[T], timeout: float = 60.0) -> T:
        """Run ``coro`` on this loop from another thread and return its result."""
        future = asyncio.run_coroutine_threadsafe(_as_coro(coro), self.loop)
        return future.result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


async def _as_coro(awaitable: Awaitable[T]) -> T:
    return await awaitable


def log_signature(record: logging.LogRecord) -> str:
    """What a server log record says went wrong, without the variable parts:
    the logger, the message template (no socket ids), and for a traceback the
    exception, the function that raised it and its message without literals."""
    template = str(record.msg).splitlines()[0][:100] if str(record.msg) else ""
    template = re.sub(r"[\w-]{16,}", "…", template)  # ids some libraries format in
    signature = f"server log {record.levelname} {record.name}: {template}"
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" in {Path(frames[-1].filename).name}:{frames[-1].name}" if frames else ""
        said = str(exc).splitlines()[0][:80] if str(exc) else ""
        said = re.sub(r"\d+", "N", re.sub(r"b?'[^']*'|\"[^\"]*\"", "…", said))
        signature += f" [{type(exc).__name__}{where}: {said}]"
    return signature


#: Unanswered requests after which a target stops (see Fuzz.unanswered).
MAX_UNANSWERED = int(os.environ.get("CONF_FUZZ_MAX_UNANSWERED", "3"))


class ServerStoppedAnswering(AssertionError):
    """Ends a fuzz target early; the violations found so far are listed."""


@dataclass
class Fuzz:
    """One fuzz module's server, client loop, invariant checks and counts."""

    target: str
    url: str
    client: LoopThread
    errors: ServerErrors
    http: aiohttp.ClientSession
    cases: int = 0
    #: How the server answered (ok / error code / HTTP status), for the stats.
    answers: Counter[str] = field(default_factory=Counter)
    silent: int = 0
    started: float = field(default_factory=time.monotonic)
    found: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: The redis-server holding the server's state (``FUZZ_STORE = "redis"``), else None.
    redis_url: str | None = None

    def run(self, coro: Awaitable[T], timeout: float = 60.0) -> T:
        return self.client.run(coro, timeout)

    def violation(self, signature: str, detail: str) -> None:
        """A broken invariant: remembered by ``signature`` (what broke, without
        the input) with the first input that broke it; :meth:`finish` fails."""
        count, first = self.found.get(signature, (0, detail))
        self.found[signature] = (count + 1, first)

    def unanswered(self, signature: str, detail: str) -> None:
        """A request that got no answer in time: a violation, and after a few
        the run stops (each would cost its whole timeout)."""
        self.violation(signature, detail)
        self.silent += 1
        if self.silent >= MAX_UNANSWERED:
            raise ServerStoppedAnswering(
                f"{self.silent} requests got no answer; last: {detail:.300}"
            )

    def check_server(self, what: str) -> None:
        """After an example: nothing in the server log, and /healthz answers."""
        for record in self.errors.drain():
            self.violation(
                log_signature(record),
                f"after {what}\n{logging.Formatter().format(record)[-3000:]}",
            )
        status: int | str
        try:
            status = self.run(self._healthz(), timeout=15)
        except Exception as exc:
            status = repr(exc)
        if status != 200:
            self.unanswered("server unhealthy", f"/healthz gave {status} after {what}")

    def check_ack(
        self, label: str, what: str, outcome: str, ack: Any, may_close: bool = False
    ) -> None:
        """The acknowledgement rules of docs/protocol.md, "Conventions": one
        comes, and it is ``{"ok": true, ...}`` or ``{"ok": false, "error":
        {"code": <documented>, "message": str}}``; ``may_close``: the message
        was too large or malformed on the wire, so closing the connection is an
        answer too."""
        if outcome == "timeout":
            self.unanswered(f"{label}: no acknowledgement", what)
            return
        if outcome == "disconnected" and may_close:
            self.answers["connection closed (too large or malformed)"] += 1
            return
        if outcome != "ack":
            self.violation(f"{label}: no acknowledgement ({outcome})", what)
            return
        if not isinstance(ack, dict) or not isinstance(ack.get("ok"), bool):
            self.violation(f"{label}: acknowledgement without ok", f"{what} -> {ack!r:.300}")
            return
        if ack["ok"]:
            self.answers["ok"] += 1
            return
        error = ack.get("error")
        if (
            set(ack) != {"ok", "error"}
            or not isinstance(error, dict)
            or not isinstance(error.get("code"), str)
            or not isinstance(error.get("message"), str)
        ):
            self.violation(f"{label}: malformed error", f"{what} -> {ack!r:.300}")
            return
        code = error["code"]
        self.answers[code] += 1
        if code not in socketio_error_codes():
            self.violation(f"{label}: undocumented error code {code!r}", f"{what} -> {ack!r:.300}")
        elif code == "rate_limited" and not (
            isinstance(error.get("retry_after"), int | float) and error["retry_after"] > 0
        ):
            self.violation(f"{label}: rate_limited without retry_after", f"{what} -> {ack!r:.300}")

    async def _healthz(self) -> int:
        async with self.http.get(f"{self.url}/healthz") as response:
            await response.read()
            return response.status

    def finish(self) -> None:
        """After a target: record the counts and fail listing every distinct
        broken invariant with the first input that broke it."""
        self._write_stats()
        self.cases, self.silent, self.started = 0, 0, time.monotonic()
        self.answers.clear()
        if self.found:
            listing = "\n\n".join(
                f"[{count}x] {signature}\n  first: {first[:1500]}"
                for signature, (count, first) in sorted(self.found.items())
            )
            self.found = {}
            seed = f" (CONF_FUZZ_SEED={SEED})" if LONG else ""
            raise AssertionError(f"{self.target}{seed}: broken invariants:\n\n{listing}")

    def _write_stats(self) -> None:
        path = os.environ.get("CONF_FUZZ_STATS")
        if not path:
            return
        line = {
            "target": self.target,
            "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
            "profile": PROFILE,
            "seed": SEED if LONG else None,
            "cases": self.cases,
            "failures": len(self.found),
            "violations": {sig: count for sig, (count, _) in self.found.items()},
            "seconds": round(time.monotonic() - self.started, 1),
            "answers": dict(self.answers.most_common()),
        }
        with open(path, "a") as out:
            out.write(json.dumps(line) + "\n")


def fuzz_server_settings(data_dir: Path, **changes: Any) -> Settings:
    """Settings of a fuzz server: loopback ICE, keys for every scope, every
    rate limit scaled up and the deadline of sockets that never join pushed
    back where settings allow it (the fuzzers do not test those, their own
    tests do; ``rate_limited`` stays a documented answer)."""
    names = {f.name for f in fields(Settings)}
    base = Settings(
        data_dir=data_dir,
        ice_addresses=("127.0.0.1",),
        reconnect_grace_seconds=1.0,
        admin_api_key=ADMIN_KEY,
        integration_api_keys=(INTEGRATION_KEY,),
    )
    generous: dict[str, Any] = {
        "rate_limit_scale": 1000.0,
        # The socket that never joins is one of the fuzzers' actors.
        "unjoined_socket_seconds": 3600.0,
        # Anonymous bodies should reach validation, not the creation limit.
        "anonymous_meetings_per_hour": 1_000_000,
    }
    known = {k: v for k, v in generous.items() if k in names}
    return replace(base, **{**known, **changes})


class ServerThread:
    """``create_app(settings)`` served on a free loopback port by a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = 0
        self._up = threading.Event()
        self._failure: BaseException | None = None
        self._runner: web.AppRunner | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="fuzz-server", daemon=True)

    def start(self) -> str:
        self._thread.start()
        self._up.wait(60)
        if self._failure is not None:
            raise self._failure
        return f"http://127.0.0.1:{self.port}"

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._failure = exc
            self._up.set()
            return
        self._up.set()
        self._loop.run_forever()
        if self._runner is not None:
            self._loop.run_until_complete(self._runner.cleanup())
        # Sockets' ping tasks and the like: cancelled, not left pending.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    async def _serve(self) -> None:
        # Built in this thread: the SQLite connection belongs to its creator.
        # A short shutdown: a request the fuzzers left hanging must not hold
        # the module's teardown for aiohttp's default minute.
        self._runner = web.AppRunner(
            create_app(self.settings), handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(60)


@pytest.fixture(scope="module")
def fuzz(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzz]:
    """A real server for one fuzz module and the means to check every example
    against it."""
    client = LoopThread("fuzz-clients")
    errors = ServerErrors({client.thread.ident or 0, threading.main_thread().ident or 0})
    root = logging.getLogger()
    root.addHandler(errors)
    # A module may change settings with a FUZZ_SETTINGS dict (e.g. trusted_proxies),
    # and keep the server's state in a real redis-server with FUZZ_STORE = "redis".
    changes = dict(getattr(request.module, "FUZZ_SETTINGS", {}))
    directory = tmp_path_factory.mktemp("fuzz")
    store = contextlib.ExitStack()
    redis_url = store.enter_context(
        redis_url_for(getattr(request.module, "FUZZ_STORE", "memory"), directory)
    )
    if redis_url is not None:
        changes["redis_url"] = redis_url
    server = ServerThread(fuzz_server_settings(directory / "data", **changes))
    url = server.start()

    async def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    http = client.run(session())
    target = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_fuzz_")
    try:
        yield Fuzz(target, url, client, errors, http, redis_url=redis_url)
    finally:
        client.run(http.close())
        server.stop()
        client.stop()
        root.removeHandler(errors)
        store.close()
