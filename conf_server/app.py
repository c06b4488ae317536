"""The composition root: ``create_app(settings)`` wires every part together."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

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
from .shared_state import OriginPolicy, SharedState
from .webhooks import WebhookDispatcher


def create_app(settings: Settings | None = None) -> web.Application:
    """The whole server as one aiohttp application."""
    settings = settings or Settings()
    app = web.Application(client_max_size=1024 * 1024)
    app[SETTINGS] = settings

    shared = SharedState.connect(settings)
    origins = OriginPolicy(settings)
    sio = create_socket_server(shared.socket_manager, origins)
    sio.attach(app, socketio_path="socket.io")
    database = Database(settings.data_dir / "conf.sqlite3")
    invites = InviteSigner(
        settings.invite_secret
        or shared.shared_secret("invite", database.setting("invite_secret", new_secret))
    )
    webhooks = WebhookDispatcher(database)
    service = MeetingService(
        settings,
        SocketEmitter(sio),
        invites=invites,
        publisher=webhooks,
        archive=ReportArchive(database),
        store=shared.store,
        cluster=shared.cluster,
    )
    service.node.peer_urls = origins.peer_urls
    service.node.forward_key = shared.shared_secret(
        "forward", database.setting("forward_secret", new_secret)
    ).encode()
    service.download_links = DownloadLinks(
        shared.shared_secret("download", database.setting("download_secret", new_secret))
    )
    sio.register_namespace(MeetingNamespace(service, trusted_proxies=settings.trusted_proxies))
    app[MEETINGS] = service
    app[DATABASE] = database
    app[API_KEYS] = ApiKeys(database, settings.admin_api_key, settings.integration_api_keys)
    app[INVITES] = invites
    app[WEBHOOKS] = webhooks

    async def meetings_lifecycle(_: web.Application) -> AsyncIterator[None]:
        await webhooks.start()
        service.recording.start()
        await service.node.beat()
        service.node.start()
        yield
        await service.node.stop()
        await service.close()
        await webhooks.close()
        await shared.close()
        database.close()

    app.cleanup_ctx.append(meetings_lifecycle)
    app.add_subapp("/api/v1", create_api())
    health.add_routes(app)
    setup_metrics(app)
    web_pages.add_routes(app)
    return app
