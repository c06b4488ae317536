"""Connecting to Redis, and turning its failures into one clear error.

Every Redis call of the store and the cluster goes through :func:`guarded`:
when Redis cannot be reached the caller gets :class:`StoreUnavailable`
(``store_unavailable``, HTTP 503) within a few seconds, never a hang and never
a silently dropped change.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, ParamSpec, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from .store import StoreUnavailable

#: Seconds one Redis command may take before the store counts as unavailable.
COMMAND_TIMEOUT = 1.0
#: Connections one client keeps to Redis at most (redis-py's default too).
MAX_CONNECTIONS = 100
#: Seconds a command waits for a free connection when all are busy.
CONNECTION_WAIT = 3.0


def connect(url: str, **options: Any) -> Redis:
    """A client that fails fast instead of waiting minutes: one quick retry (a
    connection Redis closed while idle just reconnects), no health-check PING
    before commands (against a frozen server it would add its own timeouts).

    Its pool makes a command wait for a free connection when
    ``MAX_CONNECTIONS`` are busy: redis-py's default pool raises "Too many
    connections" at once instead, so a burst of joins (a hundred Redis calls
    in flight) failed with ``store_unavailable`` while Redis was fine."""
    settings: dict[str, Any] = {
        "max_connections": MAX_CONNECTIONS,
        "timeout": CONNECTION_WAIT,
        "decode_responses": True,
        "socket_timeout": COMMAND_TIMEOUT,
        "socket_connect_timeout": COMMAND_TIMEOUT,
        # Retry a dropped connection once, never a timeout: a command whose
        # answer was late may have run, and must not run twice.
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.05), 1, (RedisConnectionError,)),
        "health_check_interval": 0,
    }
    settings.update(options)
    client = Redis(connection_pool=BlockingConnectionPool.from_url(url, **settings))
    client.auto_close_connection_pool = True  # as Redis.from_url: aclose() closes the pool
    return client


@asynccontextmanager
async def guarded(what: str) -> AsyncIterator[None]:
    """Run Redis calls; a Redis failure becomes :class:`StoreUnavailable`."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StoreUnavailable(
            f"the shared state store is unavailable ({what}); try again in a moment"
        ) from exc


P = ParamSpec("P")
T = TypeVar("T")


def store_call(method: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Decorate a coroutine method whose Redis failures mean "store unavailable"."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        async with guarded(method.__name__):
            return await method(*args, **kwargs)

    return wrapper
