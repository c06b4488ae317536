"""The composition root: ``create_app(settings)`` wires every part together."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from signaling import MeetingNamespace, SocketEmitter, create_socket_server
from signaling.connection_limits import ConnectionLimits, quiet_accept_errors, raise_fd_limit
from signaling.log_filters import quiet_client_errors

from .cluster.node_relay import NodeRelay
from .cluster.shared_state import OriginPolicy, SharedState
from .http import health, web_pages
from .http.api import create_api
from .http.keys import API_KEYS, DATABASE, INVITES, MEETINGS, SETTINGS, WEBHOOKS
from .http.metrics import setup_metrics
from .integration.api_keys import ApiKeys
from .integration.database import Database
from .integration.download_links import DownloadLinks
from .integration.invites import InviteSigner, new_secret
from .integration.meeting_summary import SummaryQueue
from .integration.reports import ReportArchive
from .integration.webhooks import WebhookDispatcher
from .meeting.meeting_service import MeetingService
from .meeting.summary_sender import SummarySender
from .settings import Settings


def create_app(settings: Settings | None = None) -> web.Application:
    """The whole server as one aiohttp application."""
    settings = settings or Settings()
    # Descriptors: use what the administrator allows, and never flood the log
    # when they run out (signaling/connection_limits.py).
    raise_fd_limit()
    quiet_accept_errors()
    quiet_client_errors()
    # An HTTP connection with no request in progress is closed after 75 s
    # (aiohttp's default, an hour, let idle TCP connections hold descriptors;
    # 75 s outlasts a reverse proxy's usual 60 s upstream keep-alive).
    app = web.Application(client_max_size=1024 * 1024, handler_args={"keepalive_timeout": 75})
    app[SETTINGS] = settings

    shared = SharedState.connect(settings)
    origins = OriginPolicy(settings)
    sio = create_socket_server(
        shared.socket_manager,
        origins,
        ConnectionLimits(
            settings.max_connections,
            settings.max_connections_per_address,
            settings.unjoined_socket_seconds,
        ),
        settings.trusted_proxies,
    )
    sio.attach(app, socketio_path="socket.io")
    database = Database(settings.data_dir / "conf.sqlite3")
    invites = InviteSigner(
        settings.invite_secret
        or shared.shared_secret("invite", database.setting("invite_secret", new_secret))
    )
    webhooks = WebhookDispatcher(database, allowed_networks=settings.webhook_allowed_networks)
    service = MeetingService(
        settings,
        SocketEmitter(sio),
        invites=invites,
        publisher=webhooks,
        archive=ReportArchive(database),
        store=shared.store,
        cluster=shared.cluster,
    )
    # meeting.summary: every event passes through the summary sender, which
    # notes ended meetings and sends their summaries once (summary_sender.py).
    summaries = SummarySender(service, webhooks, SummaryQueue(database), shared.once)
    service.publisher = summaries
    service.node.peer_urls = origins.peer_urls
    service.node.forward_key = shared.shared_secret(
        "forward", database.setting("forward_secret", new_secret)
    ).encode()
    service.spans.bus = shared.bus
    if settings.relay_host is not None:
        service.node.relay = NodeRelay(
            settings.node_name,
            shared.shared_secret("relay", database.setting("relay_secret", new_secret)).encode(),
        )
    service.download_links = DownloadLinks(
        shared.shared_secret("download", database.setting("download_secret", new_secret))
    )
    sio.register_namespace(
        MeetingNamespace(
            service,
            trusted_proxies=settings.trusted_proxies,
            rate_limit_scale=settings.rate_limit_scale,
        )
    )
    app[MEETINGS] = service
    app[DATABASE] = database
    app[API_KEYS] = ApiKeys(database, settings.admin_api_key, settings.integration_api_keys)
    app[INVITES] = invites
    app[WEBHOOKS] = webhooks

    async def meetings_lifecycle(_: web.Application) -> AsyncIterator[None]:
        await webhooks.start()
        service.recording.start()
        # Before this node hosts anything: finish the reports a crash cut off.
        await service.live_reports.start()
        if service.node.relay is not None and settings.relay_host is not None:
            await service.node.relay.start(settings.relay_host, settings.relay_port)
            service.spans.listen()
        await service.node.beat()
        service.node.start()
        await summaries.start()
        yield
        await summaries.close()
        await service.node.stop()
        if service.node.relay is not None:
            service.node.relay.close()
        await service.live_reports.stop()
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
