"""Building the Socket.IO server and the event sink the domain emits through."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import engineio
import engineio.async_drivers.aiohttp
import socketio
from aiohttp import StreamReader, web

from .client_address import parse_networks
from .connection_limits import ConnectionGuard, ConnectionLimits

logger = logging.getLogger(__name__)

#: The largest message a client may send (a subscriber answer is up to 1 MiB,
#: protocol.py, plus JSON and Socket.IO framing).
MAX_MESSAGE_BYTES = 2 * 1024 * 1024

#: How long closing one idle socket may take (a long-polling client that stops
#: polling never collects its close packet).
CLOSE_TIMEOUT_SECONDS = 5.0

#: A flood of malformed packets gives one log line per this many seconds.
MALFORMED_LOG_SECONDS = 10.0


def create_socket_server(
    client_manager: Any | None = None,
    allowed_origins: list[str] | Callable[[str, dict[str, Any]], bool] | None = None,
    limits: ConnectionLimits | None = None,
    trusted_proxies: tuple[str, ...] = (),
) -> MeetingSocketServer:
    """An ``AsyncServer`` for aiohttp; pass ``AsyncRedisManager`` to fan out over Redis.

    ``allowed_origins`` None means same origin only (python-engineio's default;
    an empty list would switch the Origin check off); a callable decides per
    Origin (python-engineio passes the origin and the WSGI-style environ).
    ``limits`` caps connections (see connection_limits.py); per-address caps
    count the client address, from ``X-Forwarded-For`` of ``trusted_proxies``.
    """
    guard = ConnectionGuard(limits or ConnectionLimits(), parse_networks(trusted_proxies))
    kwargs: dict[str, Any] = {
        "async_mode": "aiohttp",
        "cors_allowed_origins": allowed_origins,
        "max_http_buffer_size": MAX_MESSAGE_BYTES,
        "ping_interval": 10,
        "ping_timeout": 10,
        "guard": guard,  # passed on to GuardedEngineServer
    }
    if client_manager is not None:
        kwargs["client_manager"] = client_manager
    return MeetingSocketServer(**kwargs)


#: Engine.IO v4 packet types (open, close, ping, pong, message, upgrade, noop);
#: a long-polling body may also carry base64 binary packets ("b...").
ENGINEIO_TYPES = frozenset("0123456")


def well_formed_packet(text: str) -> bool:
    """Could python-engineio decode this text packet? (It raises ValueError on
    an empty one or one whose type is not a digit, binascii.Error on a binary
    one that is not base64, and python-engineio then logs a traceback instead
    of answering.)"""
    if not text:
        return False
    if text[0] == "b":
        return _base64(text[1:])
    return text[0] in ENGINEIO_TYPES


def _base64(text: str) -> bool:
    try:
        base64.b64decode(text)
    except ValueError:  # binascii.Error is a ValueError
        return False
    return True


#: What a client sends in a long-polling POST: close, pong, message (text or
#: base64 binary). Ping and upgrade probes travel over the WebSocket, and a
#: ping or noop in a POST made python-engineio leave the POST unanswered.
POST_TYPES = frozenset("134b")


def well_formed_payload(body: bytes) -> bool:
    """A long-polling POST body: UTF-8 packets of the types a client POSTs,
    separated by U+001E."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(
        packet[:1] in POST_TYPES and (packet[:1] != "b" or _base64(packet[1:]))
        for packet in text.split("\x1e")
    )


class MalformedPayload(Exception):
    """A long-polling POST body python-engineio could not decode."""


class CheckedWebSocket(engineio.async_drivers.aiohttp.WebSocket):  # type: ignore[misc]
    """python-engineio's aiohttp WebSocket; a text frame it could not decode
    ends the connection (OSError is how its loop learns the socket is done)
    instead of escaping as a traceback."""

    async def wait(self) -> Any:
        data = await super().wait()
        if isinstance(data, str) and not well_formed_packet(data):
            raise OSError("malformed engine.io packet")
        return data


class _Body:
    """A POST body read in full, as python-engineio's ``wsgi.input``."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self, length: int = -1) -> bytes:
        return self._data


async def read_at_most(stream: StreamReader, limit: int) -> bytes:
    """The whole body, or its first ``limit`` bytes if it is longer. (One
    ``read(n)`` returns what has arrived so far: python-engineio's aiohttp
    driver read long-polling POSTs that way, so messages of about 190 KB and
    more were cut short and never acknowledged.)"""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class GuardedEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server, plus: connection limits checked before a
    socket is made (:class:`ConnectionGuard`), and long-polling POST bodies
    read in full."""

    def __init__(self, *, guard: ConnectionGuard | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = guard or ConnectionGuard(ConnectionLimits())
        driver: dict[str, Any] = self._async  # the async_mode's functions
        self._driver_translate = driver["translate_request"]
        # python-engineio awaits translate_request when it is a coroutine function.
        self._async: dict[str, Any] = {
            **driver,
            "translate_request": self._translate_request,
            "websocket": CheckedWebSocket,
        }

    async def handle_request(self, request: web.Request) -> web.StreamResponse:
        """python-engineio's handler; requests it would answer with a 500 or a
        logged traceback get 400: a body it cannot decode (or that does not
        decode as its Content-Encoding says), a request for a session that
        closed meanwhile (its ``_get_socket`` raises KeyError), or a WebSocket
        upgrade whose key is no ASCII."""
        if not _websocket_key_usable(request):
            return web.Response(status=400, text="Handshake error: Sec-WebSocket-Key")
        try:
            response: web.StreamResponse = await super().handle_request(request)
        except MalformedPayload:
            return web.Response(status=400, text="Malformed engine.io payload")
        except web.RequestPayloadError:  # the body does not decode as its Content-Encoding says
            return web.Response(status=400, text="Undecodable request body")
        except KeyError:
            return web.Response(status=400, text="Session is disconnected")
        return response

    async def _translate_request(self, request: web.Request) -> dict[str, Any]:
        environ: dict[str, Any] = self._driver_translate(request)
        declared = request.content_length
        if request.method == "POST" and (declared is None or declared <= self.max_http_buffer_size):
            # One byte over the limit is enough for python-engineio to refuse it.
            body = await read_at_most(request.content, self.max_http_buffer_size + 1)
            if len(body) <= self.max_http_buffer_size and not well_formed_payload(body):
                raise MalformedPayload()
            environ["wsgi.input"] = _Body(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return environ

    async def _handle_connect(
        self, environ: dict[str, Any], transport: str, jsonp_index: int | None = None
    ) -> Any:
        refusal = self.guard.refusal(environ, len(self.sockets))
        if refusal is not None:
            return refusal.response()
        return await super()._handle_connect(environ, transport, jsonp_index)

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "disconnect" and args:
            self.guard.closed(args[0])
        result = await super()._trigger_event(event, *args, **kwargs)
        if event == "connect" and len(args) >= 2 and result in (None, True):
            self.guard.opened(args[0], args[1])
        return result


def _websocket_key_usable(request: web.Request) -> bool:
    """False for a WebSocket upgrade whose ``Sec-WebSocket-Key`` is not ASCII:
    aiohttp's handshake decodes it with ``base64.b64decode``, which raises
    ValueError for such a string (aiohttp catches only ``binascii.Error``), so
    the upgrade failed with a 500 and a traceback, after python-engineio had
    already made the session. Other malformed keys get aiohttp's own 400."""
    if request.headers.get("Upgrade", "").strip().lower() != "websocket":
        return True
    return request.headers.get("Sec-WebSocket-Key", "").isascii()


class MeetingSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server on :class:`GuardedEngineServer`, which also
    disconnects sockets that stay out of any room (joined or waiting in a
    lobby) for ``unjoined_seconds``: such sockets cost a descriptor each and
    are what a flood of idle connections is made of."""

    eio: GuardedEngineServer

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sweeper: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        #: When each engine.io socket was last seen out of any room.
        self._idle_since: dict[str, float] = {}
        self._malformed_logged_at = float("-inf")

    def _engineio_server_class(self) -> type[GuardedEngineServer]:
        return GuardedEngineServer

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        """Decode and dispatch one packet; a packet python-socketio cannot decode
        (JSON nested too deep, an integer too long for Python, ``42null``, an
        attachment count out of range) closes that connection. No conforming
        client sends one, it has no acknowledgement id one could answer, and
        python-engineio would log a traceback for each and go on."""
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, IndexError, KeyError, AttributeError, RecursionError):
            now = asyncio.get_running_loop().time()
            if now - self._malformed_logged_at >= MALFORMED_LOG_SECONDS:
                self._malformed_logged_at = now
                logger.warning(
                    "closing a connection that sent a malformed Socket.IO packet "
                    "(logged at most every %.0f s)",
                    MALFORMED_LOG_SECONDS,
                )
            self._close_soon(eio_sid)

    def _close_soon(self, eio_sid: str) -> None:
        task = asyncio.get_running_loop().create_task(self._close_idle(eio_sid))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @property
    def limits(self) -> ConnectionLimits:
        """The connection limits in force (see connection_limits.py)."""
        return self.eio.guard.limits

    def attach(self, app: web.Application, socketio_path: str = "socket.io") -> None:
        """Serve Socket.IO on ``app``; the idle-socket sweep runs while it does."""
        super().attach(app, socketio_path=socketio_path)
        app.on_startup.append(self._start_sweeping)
        app.on_cleanup.append(self._stop_sweeping)

    async def _start_sweeping(self, _: web.Application) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="idle sockets")

    async def _stop_sweeping(self, _: web.Application) -> None:
        tasks = [t for t in (self._sweeper, *self._closing) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._sweeper = None

    async def _sweep(self) -> None:
        interval = min(1.0, self.limits.unjoined_seconds / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                self.sweep_idle(asyncio.get_running_loop().time())
            except Exception:
                logger.exception("sweeping idle sockets failed")

    def sweep_idle(self, now: float) -> list[str]:
        """Start closing every engine.io socket that has been out of any room
        for ``unjoined_seconds``; returns their engine.io ids."""
        sockets = self.eio.sockets
        self.eio.guard.forget_missing(sockets)
        for eio_sid in [s for s in self._idle_since if s not in sockets]:
            del self._idle_since[eio_sid]
        expired = []
        for eio_sid in list(sockets):
            if self._in_session(eio_sid):
                self._idle_since.pop(eio_sid, None)
                continue
            since = self._idle_since.setdefault(eio_sid, now)
            if now - since >= self.limits.unjoined_seconds:
                del self._idle_since[eio_sid]
                expired.append(eio_sid)
                self._close_soon(eio_sid)
        if expired:
            logger.debug("closing %d socket(s) that joined no room", len(expired))
        return expired

    def _in_session(self, eio_sid: str) -> bool:
        sid = self.manager.sid_from_eio_sid(eio_sid, "/")
        handler = self.namespace_handlers.get("/")
        in_session = getattr(handler, "in_session", None)
        return sid is not None and callable(in_session) and bool(in_session(sid))

    async def _close_idle(self, eio_sid: str) -> None:
        """Socket.IO's disconnect packet first (a client then knows the server
        let it go, and socket.io-client does not reconnect by itself), then the
        engine.io connection (a client that ignores the packet loses it too)."""
        socket = self.eio.sockets.get(eio_sid)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                sid = self.manager.sid_from_eio_sid(eio_sid, "/")
                if sid is not None and self.manager.is_connected(sid, "/"):
                    await self.disconnect(sid, ignore_queue=True)
                await self.eio.disconnect(eio_sid)
        if socket is not None and socket.upgraded:
            # python-engineio sends its close packet but leaves the WebSocket
            # to the client; this ends its writer, which closes the WebSocket.
            socket.queue.put_nowait(None)


def room_group(room: str) -> str:
    """The Socket.IO room (broadcast group) of a meeting room. Prefixed so that
    no room name can be taken for a socket's own group (python-socketio puts
    every socket in a group named by its sid; room names cannot hold ':')."""
    return f"room:{room}"


class SocketEmitter:
    """:class:`EventSink` on top of a python-socketio server."""

    def __init__(self, server: socketio.AsyncServer) -> None:
        self._server = server
        #: Rooms with sockets on other nodes too (rooms that span nodes).
        self._spanning: set[str] = set()

    # A room normally lives on one node, so its sockets are all connected here:
    # then events skip the Redis round trip (``ignore_queue``) and still reach
    # everybody while Redis is down. Events for sockets elsewhere (from a REST
    # call on another node, or a participant of a room that spans nodes) go
    # through the client manager's queue, and so do the events of a room that
    # spans nodes: python-socketio delivers them here first, then publishes
    # them (so this node's sockets get them in the order they were sent).

    def _local(self, group: str) -> bool:
        return bool(self._server.manager.rooms.get("/", {}).get(group))

    def set_spanning(self, room: str, spanning: bool) -> None:
        if spanning:
            self._spanning.add(room)
        else:
            self._spanning.discard(room)

    async def to_client(self, sid: str, event: str, data: dict[str, Any]) -> None:
        await self._server.emit(event, data, to=sid, ignore_queue=self._local(sid))

    async def to_room(
        self,
        room: str,
        event: str,
        data: dict[str, Any],
        skip_sid: str | list[str] | None = None,
        here_only: bool = False,
    ) -> None:
        group = room_group(room)
        if here_only and not self._local(group):
            return
        local = self._local(group) and (here_only or room not in self._spanning)
        await self._server.emit(event, data, room=group, skip_sid=skip_sid, ignore_queue=local)

    # Membership changes are local too (the manager's ``basic_*`` methods): the
    # sockets of a room are connected to this node, and going through Redis
    # would make a leave fail, and the socket stay a listener, while Redis is down.

    async def enter_room(self, sid: str, room: str) -> None:
        self._server.manager.basic_enter_room(sid, "/", room_group(room))

    async def leave_room(self, sid: str, room: str) -> None:
        self._server.manager.basic_leave_room(sid, "/", room_group(room))

    async def close_room(self, room: str) -> None:
        self._server.manager.basic_close_room(room_group(room), "/")

    async def disconnect(self, sid: str) -> None:
        await self._server.disconnect(sid)
