"""The ``conf-server`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from sfu import timeline

from .app import create_app
from .errors import ConfigError
from .http.keys import MEETINGS
from .settings import Settings, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conf-server",
        description="Self-hosted video-meeting server. Every setting can also be set as "
        "CONF_<NAME> in the environment (CONF_ICE_SERVERS and CONF_ICE_ADDRESSES take "
        "comma-separated lists) or in a TOML file given by --config.",
    )
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument("--data-dir", help="where recordings and state go (default ./data)")
    parser.add_argument(
        "--redis-url",
        help="share state and Socket.IO fan-out through Redis: many processes and machines "
        "form one deployment",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="processes to start on this machine (default: one per core with --redis-url, "
        "else one); worker i also listens on port+1+i for its own clients",
    )
    parser.add_argument("--node-name", help="this node's name in the deployment")
    parser.add_argument(
        "--node-url", help="base URL clients use to reach this node ({port}: its node port)"
    )
    parser.add_argument("--node-port", type=int, help="a second port for this node's own clients")
    parser.add_argument(
        "--drain-seconds",
        type=float,
        help="on SIGTERM, how long meetings may go on before they move (default 30)",
    )
    parser.add_argument("--public-url", help="base URL used in links the server hands out")
    parser.add_argument(
        "--ice-server",
        action="append",
        dest="ice_servers",
        metavar="URL",
        help="STUN/TURN server for ICE (repeatable; default: none)",
    )
    parser.add_argument(
        "--ice-address",
        action="append",
        dest="ice_addresses",
        metavar="IP",
        help="only gather ICE host candidates on this address (repeatable)",
    )
    parser.add_argument(
        "--announced-address",
        metavar="IP",
        help="advertise this address in the server's ICE host candidates instead of the "
        "bound one (behind 1:1 NAT or in a container)",
    )
    parser.add_argument(
        "--rtc-ports",
        metavar="LOW-HIGH",
        help="UDP ports for media sockets, e.g. 40000-40100 (default: ephemeral)",
    )
    parser.add_argument(
        "--turn-secret",
        help="secret shared with coturn (use-auth-secret); prefer CONF_TURN_SECRET, "
        "since command lines are visible to other users",
    )
    parser.add_argument("--log-level", help="debug, info, warning or error (default info)")
    parser.add_argument("--event-loop", help="asyncio (default) or uvloop")
    return parser


def _is_local_address(address: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "config" and v is not None}
    try:
        settings = load_settings(args.config, overrides=overrides)
    except ConfigError as exc:
        print(f"conf-server: {exc.message}", file=sys.stderr)
        return 2
    unusable = [a for a in settings.ice_addresses if not _is_local_address(a)]
    if unusable:
        print(
            f"conf-server: ice address(es) {', '.join(unusable)} do not exist on this host; "
            "media could never connect",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if settings.join_timeline:
        timeline.LOGGER.setLevel(logging.DEBUG)
    workers = settings.workers or ((os.cpu_count() or 1) if settings.redis_url else 1)
    if workers > 1:
        return run_workers(settings, workers, argv if argv is not None else sys.argv[1:])
    try:
        run_on_event_loop(settings.event_loop, serve(settings))
    except ConfigError as exc:
        print(f"conf-server: {exc.message}", file=sys.stderr)
        return 2
    return 0


def run_on_event_loop(event_loop: str, main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` to completion on the ``event_loop`` setting's loop."""
    if event_loop == "uvloop":
        try:
            import uvloop
        except ImportError as exc:
            main.close()
            raise ConfigError(
                "event_loop uvloop needs the uvloop package (pip install uvloop); "
                "or set event_loop = asyncio"
            ) from exc
        uvloop.run(main)
    else:
        asyncio.run(main)


async def serve(settings: Settings) -> None:
    """Run one node until SIGTERM or SIGINT, then drain it (a second signal
    stops at once)."""
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    # A worker shares the public port with its siblings (the kernel spreads
    # connections) and has a port of its own for clients sent to it.
    shared_port = settings.node_port is not None
    sites = [web.TCPSite(runner, settings.host, settings.port, reuse_port=shared_port)]
    if settings.node_port is not None:
        sites.append(web.TCPSite(runner, settings.host, settings.node_port))
    for site in sites:
        try:
            await site.start()
        except OSError as exc:  # the port is taken, the address is not ours...
            await runner.cleanup()
            raise ConfigError(f"cannot listen on {site.name}: {exc.strerror or exc}") from exc
    service = app[MEETINGS]
    print(
        f"conf-server listening on http://{settings.host}:{settings.port}"
        f" (node {service.node.name}, {service.node.url})",
        flush=True,
    )
    loop = asyncio.get_running_loop()
    # The loop's stalls explain waits no step of a join shows (join_timeline).
    watchdog = asyncio.ensure_future(timeline.watch_stalls()) if timeline.enabled() else None
    signalled = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, signalled.set)
    try:
        await signalled.wait()
        signalled.clear()
        drain = asyncio.ensure_future(service.node.drain(settings.drain_seconds))
        # A drain that is over at once (nothing hosted, --drain-seconds 0) ends
        # the process at once, without waiting out the echo's second.
        second = asyncio.ensure_future(_second_signal(signalled))
        await asyncio.wait({drain, second}, return_when=asyncio.FIRST_COMPLETED)
        for task in (drain, second):
            task.cancel()
    finally:
        if watchdog is not None:
            watchdog.cancel()
        await runner.cleanup()


async def _second_signal(signalled: asyncio.Event) -> None:
    """Return on a signal that comes more than a second after the first: a
    terminal's Ctrl-C reaches the workers and their parent, which passes it on,
    so a second signal within a second is that echo, not "stop now"."""
    await asyncio.sleep(1.0)
    signalled.clear()
    await signalled.wait()


def _die_with_parent() -> None:
    """In a worker, before it starts: get SIGTERM (a drain) when the parent
    dies, even by kill -9, so no worker outlives its supervisor (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def run_workers(settings: Settings, workers: int, argv: list[str]) -> int:
    """Start ``workers`` node processes on this machine and keep them running:
    a worker that dies is started again; SIGTERM and SIGINT are passed on."""
    base = [sys.executable, "-m", "conf_server", *argv]

    def start(index: int) -> subprocess.Popen[bytes]:
        port = settings.port + 1 + index
        return subprocess.Popen(
            [
                *base,
                "--workers",
                "1",
                "--node-name",
                f"{settings.node_name}-{index + 1}",
                "--node-port",
                str(port),
                # Unset: each worker's node_url() is http://<host>:<its port>.
                *(
                    ["--node-url", settings.node_url.replace("{port}", str(port))]
                    if settings.node_url
                    else []
                ),
            ],
            preexec_fn=_die_with_parent,
            # A fixed relay port: each worker the next one (0 stays "any free").
            env={**os.environ, "CONF_RELAY_PORT": str(settings.relay_port + index)}
            if settings.relay_port
            else None,
        )

    children = [start(index) for index in range(workers)]
    started = [time.monotonic()] * workers
    stopping = False
    failed = False

    def pass_on(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    print(f"conf-server: started {workers} workers", flush=True)
    while True:
        time.sleep(0.5)
        if stopping:
            if all(child.poll() is not None for child in children):
                return 1 if failed else 0
            continue
        for index, child in enumerate(children):
            code = child.poll()
            if code is None:
                continue
            if time.monotonic() - started[index] < 3:
                # It could not even start (a port in use, a bad setting): stop.
                print(f"conf-server: worker {index + 1} failed to start ({code})", flush=True)
                failed = True
                pass_on(signal.SIGTERM, None)
                continue
            print(f"conf-server: worker {index + 1} exited ({code}); starting it again")
            children[index], started[index] = start(index), time.monotonic()
