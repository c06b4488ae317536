"""The composition root: ``create_app(settings)`` wires every part together."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from socketio import AsyncRedisManager

from signaling import MeetingNamespace, SocketEmitter, create_socket_server

from . import health, web_pages
from .api import create_api
from .api_keys import ApiKeys
from .database import Database
from .download_links import DownloadLinks
from .invites import InviteSigner, new_secret
from .keys import API_KEYS, DATABASE, INVITES, MEETINGS, SETTINGS, WEBHOOKS
from .meeting_service import MeetingService
from .metrics import setup_metrics
from .reports import ReportArchive
from .settings import Settings
from .webhooks import WebhookDispatcher


def create_app(settings: Settings | None = None) -> web.Application:
    """The whole server as one aiohttp application."""
    settings = settings or Settings()
    app = web.Application(client_max_size=1024 * 1024)
    app[SETTINGS] = settings

    manager = AsyncRedisManager(settings.redis_url) if settings.redis_url else None
    origins = [settings.public_url.rstrip("/")] if settings.public_url else None
    sio = create_socket_server(manager, origins)
    sio.attach(app, socketio_path="socket.io")
    database = Database(settings.data_dir / "conf.sqlite3")
    invites = InviteSigner(settings.invite_secret or database.setting("invite_secret", new_secret))
    webhooks = WebhookDispatcher(database)
    service = MeetingService(
        settings,
        SocketEmitter(sio),
        invites=invites,
        publisher=webhooks,
        archive=ReportArchive(database),
    )
    service.download_links = DownloadLinks(database.setting("download_secret", new_secret))
    sio.register_namespace(MeetingNamespace(service))
    app[MEETINGS] = service
    app[DATABASE] = database
    app[API_KEYS] = ApiKeys(database, settings.admin_api_key, settings.integration_api_keys)
    app[INVITES] = invites
    app[WEBHOOKS] = webhooks

    async def meetings_lifecycle(_: web.Application) -> AsyncIterator[None]:
        await webhooks.start()
        service.recording.start()
        yield
        await service.close()
        await webhooks.close()
        database.close()

    app.cleanup_ctx.append(meetings_lifecycle)
    app.add_subapp("/api/v1", create_api())
    health.add_routes(app)
    setup_metrics(app)
    web_pages.add_routes(app)
    return app
