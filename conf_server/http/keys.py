"""Typed application keys shared by the aiohttp parts of the server."""

from aiohttp import web

from conf_server.integration.api_keys import ApiKeys
from conf_server.integration.database import Database
from conf_server.integration.invites import InviteSigner
from conf_server.integration.webhooks import WebhookDispatcher
from conf_server.meeting.meeting_service import MeetingService
from conf_server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
MEETINGS = web.AppKey("meetings", MeetingService)
DATABASE = web.AppKey("database", Database)
API_KEYS = web.AppKey("api_keys", ApiKeys)
INVITES = web.AppKey("invites", InviteSigner)
WEBHOOKS = web.AppKey("webhooks", WebhookDispatcher)
