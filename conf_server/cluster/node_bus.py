"""Messages between the nodes of a deployment (the control plane of rooms
that span nodes, issue 17).

A node sends a message to another node by name; each node receives the
messages addressed to it one at a time, in the order each sender sent them.
Delivery is at most once (a node that is down or reconnecting misses what
was sent meanwhile), so what travels here are snapshots that the next one
repairs, and commands whose loss the sender's periodic work makes good.

:class:`RedisNodeBus` uses Redis pub/sub: node ``name`` listens on the
channel ``<prefix>bus:<name>`` on a connection of its own. Redis is the
deployment's trusted core (docs/security.md): whoever can publish there can
already rewrite every meeting. :class:`MemoryNodeBus` is the embedded one
(one node: nobody to talk to), and :class:`LocalBusHub` joins several nodes
of one process (tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis

from sfu.tasks import cancel_and_wait

from .redis_connection import COMMAND_TIMEOUT, connect, guarded

logger = logging.getLogger(__name__)

#: ``handler(message)``: one message to this node (a JSON object).
BusHandler = Callable[[dict[str, Any]], Awaitable[None]]

#: A message larger than this is not sent (a roster of 1,000 people is ~300 kB).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class NodeBus(Protocol):
    """Messages to other nodes by name."""

    def listen(self, name: str, handler: BusHandler) -> None:
        """Receive this node's messages (``name``) with ``handler`` from now on."""
        ...

    async def send(self, node: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``node`` (best effort: raises only
        :class:`~conf_server.cluster.store.StoreUnavailable`)."""
        ...

    async def close(self) -> None: ...


class MemoryNodeBus:
    """The bus of a deployment of one node: there is nobody to send to."""

    def listen(self, name: str, handler: BusHandler) -> None:
        return None

    async def send(self, node: str, message: dict[str, Any]) -> None:
        return None

    async def close(self) -> None:
        return None


class LocalBusHub:
    """Several nodes in one process (tests): ``hub.bus()`` for each."""

    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def bus(self) -> LocalNodeBus:
        return LocalNodeBus(self)

    def listen(self, name: str, handler: BusHandler) -> None:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues[name] = queue

        async def deliver() -> None:
            while True:
                message = await queue.get()
                try:
                    await handler(message)
                except Exception:
                    logger.exception("bus message to %s failed", name)

        self._tasks[name] = asyncio.get_running_loop().create_task(deliver())

    def send(self, node: str, message: dict[str, Any]) -> None:
        queue = self._queues.get(node)
        if queue is not None:
            # Through JSON, as on the wire: nobody shares objects.
            queue.put_nowait(json.loads(json.dumps(message)))

    async def stop(self, name: str) -> None:
        self._queues.pop(name, None)
        task = self._tasks.pop(name, None)
        if task is not None:
            await cancel_and_wait(task)


class LocalNodeBus:
    """One node's end of a :class:`LocalBusHub`."""

    def __init__(self, hub: LocalBusHub) -> None:
        self._hub = hub
        self._name: str | None = None

    def listen(self, name: str, handler: BusHandler) -> None:
        self._name = name
        self._hub.listen(name, handler)

    async def send(self, node: str, message: dict[str, Any]) -> None:
        self._hub.send(node, message)

    async def close(self) -> None:
        if self._name is not None:
            await self._hub.stop(self._name)


class RedisNodeBus:
    """Node-to-node messages over Redis pub/sub (see the module docstring)."""

    def __init__(self, redis: Redis, url: str, prefix: str) -> None:
        self._redis = redis
        self._url = url
        self._prefix = prefix
        self._task: asyncio.Task[None] | None = None
        #: Messages received and handled (tests and logs).
        self.received = 0

    def channel(self, node: str) -> str:
        return f"{self._prefix}bus:{node}"

    def listen(self, name: str, handler: BusHandler) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._listen(name, handler), name="node bus"
            )

    async def send(self, node: str, message: dict[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":"))
        if len(data) > MAX_MESSAGE_BYTES:
            logger.warning("bus message to %s too large (%d bytes): dropped", node, len(data))
            return
        async with guarded("node bus"):
            await self._redis.publish(self.channel(node), data)

    async def _listen(self, name: str, handler: BusHandler) -> None:
        """Subscribe on a connection of its own (a subscribed connection can do
        nothing else) and hand each message to ``handler``; reconnect after
        Redis failures."""
        failed = False
        while True:
            # No read timeout: a quiet channel is not a failure.
            client = connect(self._url, socket_timeout=None)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel(name))
                if failed:
                    logger.info("node bus: listening again")
                    failed = False
                while True:
                    raw = await pubsub.get_message(timeout=COMMAND_TIMEOUT * 5)
                    if raw is None or raw.get("type") != "message":
                        continue
                    try:
                        message = json.loads(raw["data"])
                    except (TypeError, ValueError):
                        logger.warning("node bus: a message that is not JSON: dropped")
                        continue
                    if not isinstance(message, dict):
                        continue
                    self.received += 1
                    try:
                        await handler(message)
                    except Exception:
                        logger.exception("node bus: a %r message failed", message.get("type"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failed:
                    logger.warning("node bus: Redis failed (%s); reconnecting", exc)
                failed = True
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)  # (a single cancel may be lost: see there)
            self._task = None
