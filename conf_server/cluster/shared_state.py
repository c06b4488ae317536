"""Where the state every node must see lives: in memory (one process, the
default) or in Redis (``--redis-url``), chosen once, here.

With Redis, the meeting store, the cluster (node registry, room directory,
rosters), the node bus (messages between nodes) and Socket.IO's fan-out
(python-socketio's ``AsyncRedisManager``) all use the same server, under one
key prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis import Redis as SyncRedis
from redis.exceptions import RedisError
from socketio import AsyncRedisManager

from conf_server.errors import ConfigError
from conf_server.settings import Settings

from .cluster import Cluster, MemoryCluster
from .node import node_url
from .node_bus import MemoryNodeBus, NodeBus, RedisNodeBus
from .once_claims import MemoryOnceClaims, OnceClaims, RedisOnceClaims
from .redis_cluster import RedisCluster
from .redis_connection import COMMAND_TIMEOUT, connect
from .redis_store import RedisStore
from .store import MeetingStore, MemoryStore


@dataclass
class SharedState:
    store: MeetingStore
    cluster: Cluster
    #: The Socket.IO client manager; None: python-socketio's in-memory one.
    socket_manager: Any | None
    _redis: Any | None = None
    _url: str | None = None
    _prefix: str = ""
    #: Once-only claims (which node sends a meeting's summary).
    once: OnceClaims = field(default_factory=MemoryOnceClaims)
    #: Messages between nodes (rooms that span nodes).
    bus: NodeBus = field(default_factory=MemoryNodeBus)

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
            RedisStore(redis, prefix=prefix),
            RedisCluster(redis, prefix=prefix),
            manager,
            redis,
            settings.redis_url,
            prefix,
            RedisOnceClaims(redis, prefix=prefix),
            RedisNodeBus(redis, settings.redis_url, prefix),
        )

    def shared_secret(self, name: str, local: str) -> str:
        """One secret for the whole deployment: the first node's ``local`` value
        is kept in Redis and every node uses it (an invite or a download link
        signed by one node is checked by another). Without Redis: ``local``."""
        if self._redis is None or self._url is None:
            return local
        client = SyncRedis.from_url(
            self._url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5
        )
        try:
            key = f"{self._prefix}secret:{name}"
            client.set(key, local, nx=True)
            return str(client.get(key) or local)
        except RedisError as exc:
            raise ConfigError(f"cannot reach Redis at redis_url at start-up: {exc}") from exc
        finally:
            client.close()

    async def close(self) -> None:
        await self.bus.close()
        if self._redis is not None:
            await self._redis.aclose()


class OriginPolicy:
    """Which pages may open Socket.IO on this node (python-engineio calls it
    with the request's Origin): pages of this node's own origin as the browser
    addressed it (engine.io's default), of the public URL, and of every live
    node of the deployment, because a page loaded from one node is sent to the
    room's node by ``wrong_node``."""

    def __init__(self, settings: Settings) -> None:
        self._fixed = {node_url(settings)}
        if settings.public_url:
            self._fixed.add(settings.public_url.rstrip("/"))
        #: Base URLs of the live nodes, kept current by the node agent.
        self.peer_urls: set[str] = set()

    def __call__(self, origin: str, environ: dict[str, Any]) -> bool:
        if origin in self._fixed or origin in self.peer_urls:
            return True
        host = environ.get("HTTP_X_FORWARDED_HOST", environ.get("HTTP_HOST", ""))
        scheme = environ.get("HTTP_X_FORWARDED_PROTO", environ.get("wsgi.url_scheme", "http"))
        own = {f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"}
        own.add(f"{scheme.split(',')[0].strip()}://{host.split(',')[0].strip()}")
        return origin in own
