"""The Redis backend of the cluster (conf_server/cluster/cluster.py).

Keys (under the same prefix as the store, default ``conf:``):

- ``node:<name>``: a node's heartbeat (NodeInfo JSON) with the heartbeat's TTL,
  so a node that dies drops out of the registry by itself;
- ``room-node``: a hash, room -> hosting node (the room directory); claims are
  a compare-and-set script, so one room never gets two owners;
- ``span:<room>``: the satellites of a room that spans nodes (a set), and
  ``spanned``: the rooms that have satellites (a set);
- ``roster:<room>``: the owner's roster of the room (resume tokens
  included), read by the node that takes the room over; a satellite's is
  ``roster:<room>:<node>`` (room names hold no ``:``);
- ``recordings``: a hash, recording id -> its summary with the ``node`` whose
  disk holds the files (each node republishes its own entries).
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from .cluster import NodeInfo
from .redis_connection import connect, guarded

# KEYS of the claim, cede and release scripts: room-node, span:<room>, spanned.
_CLAIM = """
local current = redis.call('hget', KEYS[1], ARGV[1])
if (current == false and ARGV[3] == '') or current == ARGV[3] then
  redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
  if redis.call('srem', KEYS[2], ARGV[2]) == 1 then
    redis.call('del', KEYS[4])
    if redis.call('scard', KEYS[2]) == 0 then redis.call('srem', KEYS[3], ARGV[1]) end
  end
  return ARGV[2]
end
return current
"""

_RELEASE = """
if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then
  for _, node in ipairs(redis.call('smembers', KEYS[2])) do
    redis.call('del', ARGV[3] .. node)
  end
  redis.call('del', KEYS[2])
  redis.call('srem', KEYS[3], ARGV[1])
  return redis.call('hdel', KEYS[1], ARGV[1])
end
return 0
"""

_SPAN = """
local owner = redis.call('hget', KEYS[1], ARGV[1])
if owner == false then return 0 end
if owner ~= ARGV[2] then
  redis.call('sadd', KEYS[2], ARGV[2])
  redis.call('sadd', KEYS[3], ARGV[1])
end
return 1
"""

_UNSPAN = """
redis.call('srem', KEYS[1], ARGV[2])
redis.call('del', KEYS[3])
if redis.call('scard', KEYS[1]) == 0 then redis.call('srem', KEYS[2], ARGV[1]) end
return 1
"""

# KEYS: room-node, span:<room>, spanned, roster:<room>, roster:<room>:<successor>.
_CEDE = """
local owner = redis.call('hget', KEYS[1], ARGV[1])
if owner == ARGV[2] and redis.call('sismember', KEYS[2], ARGV[3]) == 1 then
  redis.call('hset', KEYS[1], ARGV[1], ARGV[3])
  redis.call('srem', KEYS[2], ARGV[3])
  if redis.call('scard', KEYS[2]) == 0 then redis.call('srem', KEYS[3], ARGV[1]) end
  if redis.call('exists', KEYS[5]) == 1 then
    redis.call('rename', KEYS[5], KEYS[4])
  else
    redis.call('del', KEYS[4])
  end
  return ARGV[3]
end
return owner
"""

# KEYS: room-node, span:<room>, roster:<room>, roster:<room>:<node>.
_SAVE_ROSTER = """
local key
if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then
  key = KEYS[3]
elseif redis.call('sismember', KEYS[2], ARGV[2]) == 1 then
  key = KEYS[4]
else
  return 0
end
redis.call('set', key, ARGV[3], 'EX', ARGV[4])
return 1
"""

_DROP_ROSTER = """
local owner = redis.call('hget', KEYS[1], ARGV[1])
if owner == false or owner == ARGV[2] then return redis.call('del', KEYS[2]) end
return 0
"""

#: Rosters outlive their room's node by this long at most (a takeover reads them
#: within seconds; this only bounds garbage).
ROSTER_TTL_SECONDS = 24 * 3600


class RedisCluster:
    """Node registry, room directory and rosters in Redis."""

    def __init__(self, redis: Redis, prefix: str = "conf:") -> None:
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisCluster:
        return cls(connect(url), **kwargs)

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> None:
        async with guarded("ping"):
            await self._redis.ping()

    async def heartbeat(self, node: NodeInfo, ttl: float) -> None:
        async with guarded("heartbeat"):
            await self._redis.set(
                self._key("node", node.name),
                json.dumps(node.to_dict()),
                px=max(1, int(ttl * 1000)),
            )

    async def leave(self, name: str) -> None:
        async with guarded("leave"):
            await self._redis.delete(self._key("node", name))

    async def nodes(self) -> list[NodeInfo]:
        prefix = self._key("node", "")
        async with guarded("nodes"):
            keys = [key async for key in self._redis.scan_iter(prefix + "*")]
            values = await self._redis.mget(keys) if keys else []
        nodes = [NodeInfo.from_dict(json.loads(raw)) for raw in values if raw is not None]
        return sorted(nodes, key=lambda n: n.name)

    async def owner(self, room: str) -> str | None:
        async with guarded("room directory"):
            owner = await self._redis.hget(self._key("room-node"), room)
        return None if owner is None else str(owner)

    async def claim(self, room: str, node: str, expected: str | None) -> str | None:
        keys = (
            self._key("room-node"),
            self._key("span", room),
            self._key("spanned"),
            self._key("roster", room, node),
        )
        async with guarded("room directory"):
            owner = await self._redis.eval(_CLAIM, len(keys), *keys, room, node, expected or "")
        return None if owner is None else str(owner)

    async def release(self, room: str, node: str) -> None:
        keys = (self._key("room-node"), self._key("span", room), self._key("spanned"))
        async with guarded("room directory"):
            await self._redis.eval(
                _RELEASE, len(keys), *keys, room, node, self._key("roster", room, "")
            )

    async def placements(self) -> dict[str, str]:
        async with guarded("room directory"):
            entries = await self._redis.hgetall(self._key("room-node"))
        return {str(room): str(node) for room, node in entries.items()}

    async def hosts(self, room: str) -> list[str]:
        async with guarded("room directory"), self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(self._key("room-node"), room)
            pipe.smembers(self._key("span", room))
            owner, satellites = await pipe.execute()
        if owner is None:
            return []
        return [str(owner), *sorted(str(s) for s in satellites if s != owner)]

    async def span(self, room: str, node: str) -> bool:
        keys = (self._key("room-node"), self._key("span", room), self._key("spanned"))
        async with guarded("room directory"):
            spanned = await self._redis.eval(_SPAN, len(keys), *keys, room, node)
        return bool(spanned)

    async def unspan(self, room: str, node: str) -> None:
        keys = (self._key("span", room), self._key("spanned"), self._key("roster", room, node))
        async with guarded("room directory"):
            await self._redis.eval(_UNSPAN, len(keys), *keys, room, node)

    async def cede(self, room: str, node: str, successor: str) -> str | None:
        keys = (
            self._key("room-node"),
            self._key("span", room),
            self._key("spanned"),
            self._key("roster", room),
            self._key("roster", room, successor),
        )
        async with guarded("room directory"):
            owner = await self._redis.eval(_CEDE, len(keys), *keys, room, node, successor)
        return None if owner is None else str(owner)

    async def spans(self) -> dict[str, list[str]]:
        async with guarded("room directory"):
            rooms = sorted(str(r) for r in await self._redis.smembers(self._key("spanned")))
            if not rooms:
                return {}
            async with self._redis.pipeline(transaction=False) as pipe:
                for room in rooms:
                    pipe.smembers(self._key("span", room))
                members = await pipe.execute()
        pairs = zip(rooms, members, strict=True)
        return {room: sorted(str(n) for n in nodes) for room, nodes in pairs if nodes}

    async def save_roster(self, room: str, roster: list[dict[str, Any]], node: str) -> bool:
        keys = (
            self._key("room-node"),
            self._key("span", room),
            self._key("roster", room),
            self._key("roster", room, node),
        )
        async with guarded("roster"):
            saved = await self._redis.eval(
                _SAVE_ROSTER, len(keys), *keys, room, node, json.dumps(roster), ROSTER_TTL_SECONDS
            )
        return bool(saved)

    async def roster(self, room: str) -> list[dict[str, Any]]:
        async with guarded("roster"):
            raw = await self._redis.get(self._key("roster", room))
        return [] if raw is None else list(json.loads(raw))

    async def rosters(self, room: str) -> dict[str, list[dict[str, Any]]]:
        hosts = await self.hosts(room)
        if not hosts:
            return {}
        keys = [self._key("roster", room)] + [self._key("roster", room, n) for n in hosts[1:]]
        async with guarded("roster"):
            values = await self._redis.mget(keys)
        return {
            node: list(json.loads(raw))
            for node, raw in zip(hosts, values, strict=True)
            if raw is not None
        }

    async def publish_recordings(self, node: str, records: list[dict[str, Any]]) -> None:
        key = self._key("recordings")
        async with guarded("recordings"):
            current = await self._redis.hgetall(key)
            stale = [rid for rid, raw in current.items() if json.loads(raw).get("node") == node]
            fresh = {r["id"]: json.dumps({**r, "node": node}) for r in records}
            gone = [rid for rid in stale if rid not in fresh]
            async with self._redis.pipeline(transaction=True) as pipe:
                if gone:
                    pipe.hdel(key, *gone)
                if fresh:
                    pipe.hset(key, mapping=fresh)
                await pipe.execute()

    async def recordings(self) -> list[dict[str, Any]]:
        async with guarded("recordings"):
            values = await self._redis.hvals(self._key("recordings"))
        return [json.loads(raw) for raw in values]

    async def drop_roster(self, room: str, node: str) -> None:
        keys = (self._key("room-node"), self._key("roster", room))
        async with guarded("roster"):
            await self._redis.eval(_DROP_ROSTER, 2, *keys, room, node)
