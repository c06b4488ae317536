"""The browser client: landing page, room page, admin page, a recording share
link's player page (``/s/{share_id}``; the page carries no data, the share
routes of conf_server/http/share_viewer_api.py answer it), the bundle built by
``npm run build`` under ``/assets/`` (:mod:`.client_bundle`), the source modules
under ``/static/`` and the vendored socket.io client that ``npm ci`` put under
web_client/node_modules. Pages load the bundle when it is current, else the
source modules.

Every response of the server (pages, API, Socket.IO) also gets the headers of
:func:`add_security_headers`: a Content-Security-Policy that lets pages run
only the client's own scripts and styles and connect only to this deployment,
no framing (clickjacking), ``nosniff``, ``Referrer-Policy: no-referrer`` (page
addresses carry host keys and invite tokens, which must not leak to other
sites in a Referer), and a ``Server`` header without versions.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp import web_response as aiohttp_web_response

from signaling.protocol import is_room_name

from . import client_bundle
from .client_bundle import ClientBundle
from .keys import MEETINGS, SETTINGS
from .module_preload import with_module_preloads

logger = logging.getLogger(__name__)

WEB_CLIENT_DIR = Path(__file__).resolve().parents[2] / "web_client"
SOCKET_IO_CLIENT = "node_modules/socket.io-client/dist/socket.io.esm.min.js"
#: The only folders of web_client/ served under /static/ (not README.md,
#: package.json or node_modules); ``locales`` holds the message catalogs the
#: source modules import as JSON modules.
STATIC_FOLDERS = ("css", "js", "locales")
#: What the ``Server`` header says (aiohttp's default names the Python and aiohttp versions).
SERVER_HEADER = "conf-server"

#: The policy of every page. ``style-src-attr 'unsafe-inline'``: the client
#: sets a few ``style`` attributes (poll result bars); style elements and
#: stylesheets still come only from /static/. ``media-src``: local camera
#: previews and remote tracks are MediaStreams. ``connect-src`` is made per
#: request (:func:`content_security_policy`).
CSP = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def _origins(base_url: str) -> list[str]:
    """``http://node:8080`` as the origins a page may connect to there
    (Socket.IO polls over http(s) and upgrades to ws(s))."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return []
    socket_scheme = "wss" if parts.scheme == "https" else "ws"
    return [f"{parts.scheme}://{parts.netloc}", f"{socket_scheme}://{parts.netloc}"]


def content_security_policy(request: web.Request) -> str:
    """The CSP of this deployment: :data:`CSP` and ``connect-src``.

    One node: to itself and its public URL. Several nodes (``redis_url``): to
    any origin of the deployment's schemes, because a page follows
    ``wrong_node`` and ``room_moved`` to nodes that may have joined (or that
    this node had not yet heard of) after the page loaded: a list frozen into
    the page would strand it there. Scripts still come only from the server
    itself, which is what keeps injected code out.
    """
    settings = request.config_dict[SETTINGS]
    peers = set(request.config_dict[MEETINGS].node.peer_urls)
    for url in (settings.public_url, settings.node_url):
        if url:
            peers.add(url)
    origins = {o for url in peers for o in _origins(url.rstrip("/"))}
    if settings.redis_url:
        origins = {f"{urlsplit(origin).scheme}:" for origin in origins} | {"https:", "wss:"}
    connect = ["'self'", *sorted(origins)]
    return "; ".join((*CSP, "connect-src " + " ".join(connect)))


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the headers of the module docstring, on every response."""
    response.headers["Server"] = SERVER_HEADER
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", content_security_policy(request))


def _page(client_dir: Path, name: str, bundle: ClientBundle | None) -> str:
    """A page of the client as served: its bundled entry if there is one, else
    its source modules; either way with the modules it imports announced up front."""
    source = (client_dir / name).read_text(encoding="utf-8")
    if bundle is not None:
        page = bundle.page(source)
        if page is not None:
            return page
        logger.warning("%s: its module is not in the bundle; served from the sources", name)
    return with_module_preloads(source, client_dir / "js")


def _html(page: str) -> web.Response:
    # Read at start-up: a browser asks again each time (no-cache), cheaply.
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application, client_dir: Path = WEB_CLIENT_DIR) -> None:
    """The client's routes (:func:`add_client_routes`) and the security headers."""
    # Answers aiohttp makes before any handler or hook runs (a malformed
    # request line gets 400 from its parser) take the Server header from this
    # module global, with the Python and aiohttp versions in it.
    aiohttp_web_response.SERVER_SOFTWARE = SERVER_HEADER  # type: ignore[attr-defined]
    app.on_response_prepare.append(add_security_headers)
    add_client_routes(app, client_dir)


def add_client_routes(app: web.Application, client_dir: Path) -> None:
    """The pages, ``/assets/``, ``/static/`` and ``/vendor/`` of the client in
    ``client_dir``; its bundle and pages are read now, once."""
    bundle = client_bundle.load_bundle(client_dir)
    pages = {
        name: _page(client_dir, name, bundle)
        for name in ("index.html", "room.html", "admin.html", "share.html")
    }

    async def landing(_: web.Request) -> web.Response:
        return _html(pages["index.html"])

    async def room(request: web.Request) -> web.StreamResponse:
        if not is_room_name(request.match_info["room"]):
            raise web.HTTPNotFound(text="Room names are 1-64 characters of A-Z a-z 0-9 _ -")
        return _html(pages["room.html"])

    async def admin(_: web.Request) -> web.Response:
        return _html(pages["admin.html"])

    async def shared_recording(_: web.Request) -> web.Response:
        # The page asks the share routes whether the link exists (no oracle here).
        return _html(pages["share.html"])

    async def socket_io_client(_: web.Request) -> web.StreamResponse:
        path = client_dir / SOCKET_IO_CLIENT
        if not path.is_file():
            raise web.HTTPServiceUnavailable(
                text="socket.io client missing: run `npm ci` in web_client/ (see README)"
            )
        return web.FileResponse(path, headers={"Content-Type": "text/javascript"})

    app.router.add_get("/", landing)
    app.router.add_get("/r/{room}", room)
    app.router.add_get("/admin", admin)
    app.router.add_get("/s/{share_id}", shared_recording)
    client_bundle.add_routes(app, bundle)
    app.router.add_get("/vendor/socket.io.esm.min.js", socket_io_client)
    for folder in STATIC_FOLDERS:
        app.router.add_static(f"/static/{folder}/", client_dir / folder, follow_symlinks=False)
