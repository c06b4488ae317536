"""Typed application keys shared by the aiohttp parts of the server."""

from aiohttp import web

from .api_keys import ApiKeys
from .database import Database
from .invites import InviteSigner
from .meeting_service import MeetingService
from .settings import Settings
from .webhooks import WebhookDispatcher

SETTINGS = web.AppKey("settings", Settings)
MEETINGS = web.AppKey("meetings", MeetingService)
DATABASE = web.AppKey("database", Database)
API_KEYS = web.AppKey("api_keys", ApiKeys)
INVITES = web.AppKey("invites", InviteSigner)
WEBHOOKS = web.AppKey("webhooks", WebhookDispatcher)
