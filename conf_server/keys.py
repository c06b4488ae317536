"""Typed application keys shared by the aiohttp parts of the server."""

from aiohttp import web

from .meeting_service import MeetingService
from .settings import Settings

SETTINGS = web.AppKey("settings", Settings)
MEETINGS = web.AppKey("meetings", MeetingService)
