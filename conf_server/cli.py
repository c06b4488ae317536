"""The ``conf-server`` command."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from pathlib import Path

from aiohttp import web

from .app import create_app
from .errors import ConfigError
from .settings import load_settings


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
        "--redis-url", help="fan Socket.IO events out through Redis (shared state: later)"
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
    parser.add_argument("--log-level", help="debug, info, warning or error (default info)")
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
    print(f"conf-server listening on http://{settings.host}:{settings.port}", flush=True)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)
    return 0
