"""A conf-server app running on a loopback port in the test process."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from conf_server.http.keys import MEETINGS
from conf_server.meeting.meeting_service import MeetingService


class RunningServer:
    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.url = str(server.make_url("")).rstrip("/")

    @property
    def service(self) -> MeetingService:
        return self.server.app[MEETINGS]
