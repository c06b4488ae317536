"""A conf-server app running on a loopback port in the test process."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestServer

from conf_server import Settings, create_app
from conf_server.http.keys import MEETINGS
from conf_server.meeting.meeting_service import MeetingService


class RunningServer:
    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.url = str(server.make_url("")).rstrip("/")

    @property
    def service(self) -> MeetingService:
        return self.server.app[MEETINGS]


@asynccontextmanager
async def running(settings: Settings, **changes: Any) -> AsyncIterator[RunningServer]:
    """A server with ``settings`` changed by ``changes``, for a test that needs
    a configuration of its own beside the ``server`` fixture's."""
    server = TestServer(create_app(dataclasses.replace(settings, **changes)), host="127.0.0.1")
    await server.start_server()
    try:
        yield RunningServer(server)
    finally:
        await server.close()
