"""The Socket.IO namespace: validate, check state, call the service, acknowledge."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from .action_limits import ActionLimiter, PasscodeGuard
from .client_address import parse_networks
from .connection_limits import environ_address
from .errors import SignalingError
from .protocol import VALIDATORS
from .rate_limit import RateLimited
from .service import MeetingService

logger = logging.getLogger(__name__)

Ack = dict[str, Any]

#: Disconnect reasons that mean "the network went away", not "the user left".
#: A client that leaves on purpose sends Socket.IO's disconnect packet first
#: ("client disconnect"); a dropped WebSocket ("transport close") may be a
#: network change or a crashed tab, so it gets the reconnect grace period.
NETWORK_LOSS_REASONS = frozenset({"ping timeout", "transport error", "transport close"})

#: Event names python-socketio uses for a socket's life; a client emitting one
#: gets ``unknown_event`` and never reaches the lifecycle code.
LIFECYCLE_EVENTS = frozenset({"connect", "disconnect"})


def error_ack(code: str, message: str, retry_after: float | None = None) -> Ack:
    error: dict[str, Any] = {"code": code, "message": message}
    if retry_after is not None:
        error["retry_after"] = retry_after
    return {"ok": False, "error": error}


class MeetingNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Handles protocol v1 on one namespace; each client's messages run in order."""

    def __init__(
        self,
        service: MeetingService,
        namespace: str = "/",
        trusted_proxies: tuple[str, ...] = (),
        rate_limit_scale: float = 1.0,
    ) -> None:
        super().__init__(namespace)
        self._service = service
        #: The limits of every message and of wrong passcodes (action_limits.py).
        self._limits = ActionLimiter(rate_limit_scale)
        self._passcodes = PasscodeGuard(rate_limit_scale)
        self._trusted = parse_networks(trusted_proxies)
        #: Each connected socket's client address (see client_address.py).
        self.addresses: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        #: Sockets between their lifecycle connect and disconnect.
        self._connected: set[str] = set()

    async def trigger_event(self, event: str, *args: Any) -> Any:
        sid = args[0]
        if not isinstance(event, str):  # e.g. 42[["join"],{}]: no event has such a name
            event = repr(event)[:64]
        if event in LIFECYCLE_EVENTS and self._is_lifecycle(event, sid):
            if event == "connect":
                self._connected.add(sid)
                self._locks[sid] = asyncio.Lock()
                self.addresses[sid] = self._address_of(args[1] if len(args) > 1 else {})
                return None
            self._connected.discard(sid)
            reason = args[1] if len(args) > 1 else None
            await self._on_disconnect(sid, reason if isinstance(reason, str) else None)
            return None
        # A client may emit any event name, "connect" and "disconnect" too:
        # those are never lifecycle (see _is_lifecycle), just unknown.
        payloads = args[1:]
        refused = self._over_limit(sid, event)
        if refused is not None:
            return refused
        validator = VALIDATORS.get(event)
        if validator is None:
            return error_ack("unknown_event", f"unknown event {event[:64]!r}")
        if len(payloads) != 1 or not isinstance(payloads[0], dict):
            return error_ack("invalid_payload", "the payload must be one JSON object")
        lock = self._locks.setdefault(sid, asyncio.Lock())
        async with lock:
            return await self._dispatch(sid, event, validator, payloads[0])

    def in_session(self, sid: str) -> bool:
        """Is the socket in a room or a lobby, or is a message of it being
        handled (a join on its way)? Sockets that are none of these for
        ``unjoined_socket_seconds`` are disconnected (server.py)."""
        lock = self._locks.get(sid)
        return self._service.has_session(sid) or (lock is not None and lock.locked())

    def _address_of(self, environ: Any) -> str:
        """The client address of a new socket (the same the connection limits count)."""
        return environ_address(environ if isinstance(environ, dict) else {}, self._trusted)

    def _is_lifecycle(self, event: str, sid: str) -> bool:
        """Did python-socketio itself call ``connect``/``disconnect``, or did a
        client emit an event of that name? The server calls them while the
        socket is not (or no longer) fully connected; a client's event only
        arrives while it is. Each happens once per socket."""
        if self.server.manager.is_connected(sid, self.namespace):
            return False
        return (sid not in self._connected) if event == "connect" else (sid in self._connected)

    def _over_limit(self, sid: str, event: object) -> Ack | None:
        """Refuse a message over its rate limit on arrival, before it waits for
        the socket's earlier messages (unknown and invalid ones count too)."""
        try:
            self._limits.admit(sid, self.addresses.get(sid, "unknown"), event)
        except RateLimited as exc:
            return error_ack(exc.code, exc.message, exc.retry_after)
        return None

    async def _dispatch(self, sid: str, event: str, validator: Any, payload: dict[str, Any]) -> Ack:
        try:
            args = validator(payload)
            joined = self._service.has_session(sid)
            if event == "join":
                if joined:
                    raise SignalingError("already in a room; send leave first", "already_joined")
            elif not joined:
                raise SignalingError("join a room first", "not_joined")
            handler = getattr(self, f"_handle_{event}", None)
            if handler is None:
                result = await self._service.action(sid, event, args)
            else:
                result = await handler(sid, **args)
        except Exception as exc:
            code, message = getattr(exc, "code", None), getattr(exc, "message", None)
            if isinstance(code, str) and isinstance(message, str):
                retry_after = getattr(exc, "retry_after", None)
                ack = error_ack(
                    code, message, retry_after if isinstance(retry_after, float) else None
                )
                details = getattr(exc, "details", None)  # e.g. wrong_node's node and url
                if isinstance(details, dict):
                    ack["error"] = {**details, **ack["error"]}
                return ack
            logger.exception("handling %r from %s failed", event, sid)
            return error_ack("internal_error", "the server failed to handle this message")
        return {"ok": True, **(result or {})}

    async def _handle_join(self, sid: str, **args: Any) -> dict[str, Any]:
        if args.get("passcode") is None:
            return await self._service.join(sid, **args)

        async def join(with_passcode: bool) -> dict[str, Any]:
            passcode = args["passcode"] if with_passcode else None
            return await self._service.join(sid, **{**args, "passcode": passcode})

        address = self.addresses.get(sid, "unknown")
        return await self._passcodes.join(sid, address, args["room"], join)

    async def _handle_publish(self, sid: str, sdp: str, sources: dict[str, str]) -> dict[str, Any]:
        return await self._service.publish(sid, sdp, sources)

    async def _handle_publisher_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        await self._service.publisher_ice(sid, candidate, sdp_mid, sdp_mline_index)

    async def _handle_subscriber_answer(self, sid: str, revision: int, sdp: str) -> None:
        await self._service.subscriber_answer(sid, revision, sdp)

    async def _handle_subscriber_ice(
        self, sid: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        await self._service.subscriber_ice(sid, candidate, sdp_mid, sdp_mline_index)

    async def _handle_set_view(
        self, sid: str, video: list[str], sizes: dict[str, int], pinned: list[str], later: int
    ) -> None:
        await self._service.set_view(sid, video, sizes, pinned, later)

    async def _handle_mute(self, sid: str, source: str, muted: bool) -> None:
        await self._service.mute(sid, source, muted)

    async def _handle_leave(self, sid: str) -> None:
        await self._service.leave(sid)

    async def _on_disconnect(self, sid: str, reason: str | None) -> None:
        lock = self._locks.setdefault(sid, asyncio.Lock())
        async with lock:
            try:
                await self._service.disconnected(sid, reason in NETWORK_LOSS_REASONS)
            except Exception:
                logger.exception("cleaning up after %s disconnected failed", sid)
        self._locks.pop(sid, None)
        self.addresses.pop(sid, None)
        self._limits.forget_socket(sid)
        self._passcodes.forget_socket(sid)
