"""Shared fixtures: a real server on a free loopback port."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "e2e"))

# Imported first: from here on bytecode is kept (bytecode_cache.py).
import bytecode_cache  # noqa: F401
from client_build import WEB_CLIENT, build_client

# A hung asyncio test prints what it waits on before pytest-timeout fails it.
from hang_report import pytest_timeout_cancel_timer, pytest_timeout_set_timer  # noqa: F401
from meeting_client import MeetingClient
from running_server import RunningServer
from server_keys import ADMIN_KEY
from signaling_client import SignalingClient

from conf_server import Settings, create_app
from conf_server.http.client_bundle import load_bundle


@pytest.fixture(scope="session", autouse=True)
def current_client_bundle() -> None:
    """web_client/dist built from the sources as they are now (built first if
    it is missing or stale), so every server of the session serves the bundle
    and the browser tests load it, an edit included."""
    if load_bundle(WEB_CLIENT) is None:
        build_client(WEB_CLIENT)
        if load_bundle(WEB_CLIENT) is None:
            pytest.fail("web_client/dist is still not current after `npm run build`")


@pytest.fixture(scope="session")
def bench_media_dir(request: pytest.FixtureRequest) -> Path:
    """Where the tests keep conf-bench's pre-encoded media: pytest's cache, so
    a clean checkout's run is its own (encoding takes a few seconds); with
    ``-p no:cacheprovider``, conf-bench's own cache."""
    cache = getattr(request.config, "cache", None)
    if cache is None:
        from conf_bench.media import DEFAULT_CACHE_DIR

        return DEFAULT_CACHE_DIR
    return Path(cache.mkdir("conf-bench-media"))


@pytest.fixture
def media_cache_dir(bench_media_dir: Path) -> Path:
    """``bench_media_dir`` for the media tests that run only in the private
    network namespace (scripts/test.sh); skipped elsewhere."""
    if os.environ.get("CONF_TEST_NETNS") != "1":
        pytest.skip("media test: runs in the private network namespace (scripts/test.sh)")
    return bench_media_dir


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # ICE on loopback only: the aiortc peers of the tests live in this process.
    return Settings(
        data_dir=tmp_path / "data",
        ice_addresses=("127.0.0.1",),
        reconnect_grace_seconds=2.0,
        admin_api_key=ADMIN_KEY,
    )


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    test_server = TestServer(create_app(settings), host="127.0.0.1")
    await test_server.start_server()
    try:
        yield RunningServer(test_server)
    finally:
        await test_server.close()


@pytest.fixture
async def make_client(server: RunningServer) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    clients: list[MeetingClient] = []

    async def factory(name: str = "Ada", connect: bool = True) -> MeetingClient:
        client = MeetingClient(server.url, name)
        clients.append(client)
        if connect:
            await client.connect()
        return client

    yield factory
    for client in clients:
        await client.close()


@pytest.fixture
async def make_member(server: RunningServer) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Media-free clients: ``await make_member("Ada", room="r")`` connects (and joins
    ``room`` if given)."""
    clients: list[SignalingClient] = []

    async def factory(
        name: str = "Ada", room: str | None = None, client_id: str | None = None, **join: Any
    ) -> SignalingClient:
        client = SignalingClient(server.url, name, client_id)
        clients.append(client)
        await client.connect()
        if room is not None:
            await client.join(room, **join)
        return client

    yield factory
    for client in clients:
        await client.close()
