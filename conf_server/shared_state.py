"""Where the state every node must see lives: in memory (one process, the
default) or in Redis (``--redis-url``), chosen once, here.

With Redis, the meeting store, the cluster (node registry, room directory,
rosters) and Socket.IO's fan-out (python-socketio's ``AsyncRedisManager``) all
use the same server, under one key prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from socketio import AsyncRedisManager

from .cluster import Cluster, MemoryCluster
from .node import node_url
from .redis_cluster import RedisCluster
from .redis_connection import COMMAND_TIMEOUT, connect
from .redis_store import RedisStore
from .settings import Settings
from .store import MeetingStore, MemoryStore


@dataclass
class SharedState:
    store: MeetingStore
    cluster: Cluster
    #: The Socket.IO client manager; None: python-socketio's in-memory one.
    socket_manager: Any | None
    _redis: Any | None = None

    @classmethod
    def connect(cls, settings: Settings) -> SharedState:
        if not settings.redis_url:
            return cls(MemoryStore(), MemoryCluster(), None)
        redis = connect(settings.redis_url)
        prefix = settings.redis_prefix
        manager = AsyncRedisManager(
            settings.redis_url,
            channel=f"{prefix}socketio",
            redis_options={
                "socket_timeout": COMMAND_TIMEOUT,
                "socket_connect_timeout": COMMAND_TIMEOUT,
            },
        )
        return cls(
            RedisStore(redis, prefix=prefix), RedisCluster(redis, prefix=prefix), manager, redis
        )

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def allowed_origins(settings: Settings) -> list[str] | None:
    """Origins whose pages may open Socket.IO here. None means this origin only;
    a node with its own URL also takes the pages of the deployment's entry."""
    own = node_url(settings)
    entry = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    if own == entry and not settings.public_url:
        return None
    return sorted({entry, own})
