"""Requests between the nodes of a room that spans nodes, with an answer.

Snapshots and commands (conf_server/meeting/room_span.py) are one-way; some
actions must run on one particular node and the asker needs its outcome:
a host on a satellite starts the recording, which runs on the room's owner
(the node whose relays receive every track), and the host gets the owner's
acknowledgement or its error, with the same code as on a single node.

A request goes over the node bus as ``{"type": "request", "room", "from",
"id", "action", ...}``; the node that handles it answers the asker with
``{"type": "reply", "room", "from", "id", "result" | "error"}``. The bus is
at most once: an asker that hears nothing within :data:`REQUEST_SECONDS`
gives up with ``node_unreachable`` (transient: try again). Handlers run in
tasks of their own, so a slow one never holds up the node's bus.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from conf_server.errors import ConfServerError, NodeUnreachable

logger = logging.getLogger(__name__)

#: How long an asker waits for the answer (the handler's own store calls
#: time out after a second or two; this covers a few of them).
REQUEST_SECONDS = 5.0

#: ``handler(room, args)``: the answer (JSON-able) or a ConfServerError.
RequestHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any] | None]]

#: ``send(node, message)``: one bus message to another node.
Send = Callable[[str, dict[str, Any]], Awaitable[None]]

#: Runs a coroutine in a task its owner cancels on close.
Spawn = Callable[[Coroutine[Any, Any, None]], object]


class OwnerUnreachable(NodeUnreachable):
    """The node that must do it did not answer in time (try again)."""

    retry_after = 2.0


class RemoteError(ConfServerError):
    """The error another node answered with (its code and message as they were)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("message") or "refused"), str(error.get("code") or ""))
        status = error.get("status")
        if isinstance(status, int) and 400 <= status < 600:
            self.status = status
        retry_after = error.get("retry_after")
        if isinstance(retry_after, int | float):
            self.retry_after = float(retry_after)


def error_answer(exc: ConfServerError) -> dict[str, Any]:
    """An error as a reply carries it."""
    answer: dict[str, Any] = {"code": exc.code, "message": exc.message, "status": exc.status}
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float):
        answer["retry_after"] = retry_after
    return answer


class SpanRequests:
    """This node's requests to other nodes and its answers to theirs."""

    def __init__(self, send: Send, spawn: Spawn) -> None:
        self._send = send
        self._spawn = spawn
        self._handlers: dict[str, RequestHandler] = {}
        #: request id -> (the node asked, the future of its reply).
        self._waiting: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}

    def handle(self, action: str, handler: RequestHandler) -> None:
        """Answer other nodes' ``action`` requests with ``handler``."""
        self._handlers[action] = handler

    async def ask(
        self, node: str, room: str, action: str, timeout: float = REQUEST_SECONDS, **args: Any
    ) -> dict[str, Any] | None:
        """``node``'s answer to ``action`` about ``room``; raises its error
        (same code), or :class:`NodeUnreachable` when it does not answer."""
        request_id = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = (node, future)
        try:
            await self._send(
                node, {**args, "type": "request", "room": room, "id": request_id, "action": action}
            )
            try:
                reply = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise OwnerUnreachable(
                    f"node {node}, which does this for the meeting, did not answer; try again"
                ) from None
        finally:
            self._waiting.pop(request_id, None)
        error = reply.get("error")
        if isinstance(error, dict):
            raise RemoteError(error)
        result = reply.get("result")
        return result if isinstance(result, dict) else None

    async def received(self, room: str, sender: str, message: dict[str, Any]) -> None:
        """A request or a reply from ``sender`` (a bus message)."""
        request_id = message.get("id")
        if not isinstance(request_id, str):
            return
        if message.get("type") == "reply":
            waiting = self._waiting.get(request_id)
            # Only the node asked may answer (and only once).
            if waiting is not None and waiting[0] == sender and not waiting[1].done():
                waiting[1].set_result(message)
            return
        handler = self._handlers.get(str(message.get("action")))
        if handler is None:
            logger.warning("node %s asked for %r: no such request", sender, message.get("action"))
            return
        self._spawn(self._answer(handler, room, sender, request_id, message))

    async def _answer(
        self,
        handler: RequestHandler,
        room: str,
        sender: str,
        request_id: str,
        message: dict[str, Any],
    ) -> None:
        reply: dict[str, Any] = {"type": "reply", "room": room, "id": request_id}
        try:
            reply["result"] = await handler(room, message)
        except ConfServerError as exc:
            reply["error"] = error_answer(exc)
        except Exception:
            logger.exception("a %r request of node %s failed", message.get("action"), sender)
            reply["error"] = error_answer(ConfServerError("internal error"))
        await self._send(sender, reply)

    def close(self) -> None:
        for _, future in self._waiting.values():
            if not future.done():
                future.cancel()
        self._waiting.clear()
