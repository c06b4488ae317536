"""The browser client as bundled by ``npm run build`` (web_client/build.mjs, issue 21).

esbuild bundles each page's entry module with the socket.io client, splits
the code shared between pages (and every dynamic ``import()``) into chunks,
names every file after its content's hash and writes them to
``web_client/dist/`` with a ``manifest.json``. At start-up the server reads
that manifest and uses the bundle only if its ``digest`` matches the sources
it was built from (:func:`source_digest`); then pages name the hashed files,
announce the chunks their entry imports with ``<link rel="modulepreload">``,
and ``/assets/…`` serves the files from memory with a year-long
``immutable`` cache lifetime (a changed file is a new name). Otherwise it
logs a warning and the pages load the source modules from ``/static/``, as
they are (:mod:`.module_preload`).
"""

from __future__ import annotations

import gzip
import html
import json
import logging
import os
import re
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

#: Where the bundle's files are served, and the lifetime they are cached for.
ASSETS = "/assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
#: What the sources' digest covers (build.mjs hashes the same), relative to web_client/.
DIGEST_FOLDERS = ("js", "css", "locales")
DIGEST_FILES = ("build.mjs", "package.json", "package-lock.json")
MANIFEST = "dist/manifest.json"
REBUILD = "run `npm run build` in web_client/ (or scripts/setup.sh) and restart the server"
_CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".map": "application/json"}
#: Sent gzipped to browsers that take it (each compressed once, when first asked for).
_GZIPPED = (".js", ".css")
#: A page's references to the sources: ``src="/static/js/room.js"``, ``href="/static/css/app.css"``.
_SOURCE_REF = re.compile(r"""\b(src|href)="/static/([^"]+)\"""")
_ENTRY_SCRIPT = re.compile(r"""<script type="module" src="/static/([^"]+)"></script>""")


def _source_files(client_dir: Path) -> list[str]:
    """The files the digest covers, relative to ``client_dir`` (posix), sorted
    by code point (the byte order of their UTF-8). Symbolic links are skipped."""
    found = list(DIGEST_FILES)
    for folder in DIGEST_FOLDERS:
        for top, _, names in os.walk(client_dir / folder):
            for name in names:
                path = Path(top, name)
                if path.is_file() and not path.is_symlink():
                    found.append(path.relative_to(client_dir).as_posix())
    return sorted(found)


def source_digest(client_dir: Path) -> str:
    """sha256 over ``path + "\\0" + bytes + "\\0"`` of each source file, as
    web_client/build.mjs computes it before building. Raises ``OSError``
    when one of :data:`DIGEST_FILES` is missing."""
    digest = sha256()
    for relative in _source_files(client_dir):
        digest.update(relative.encode() + b"\0")
        digest.update((client_dir / relative).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class Asset:
    """One file of the bundle, in memory: built files are small and never change."""

    body: bytes
    content_type: str
    #: Worth sending gzipped (source maps are only for developer tools).
    compress: bool = False
    _gzipped: bytes | None = field(default=None, repr=False)

    def gzipped(self) -> bytes:
        """The body gzipped (compressed when first asked for)."""
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, 9, mtime=0)
        return self._gzipped


@dataclass(frozen=True)
class Entry:
    """A bundled entry (a page's module or the stylesheet): its file and the
    chunks it imports statically, transitively (both relative to dist/)."""

    file: str
    imports: tuple[str, ...] = ()


@dataclass
class ClientBundle:
    """A current bundle: its entries by source path (``js/room.js``) and its files."""

    entries: dict[str, Entry] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)

    def page(self, page: str) -> str | None:
        """``page`` loading its entry module and stylesheet from the bundle,
        the chunks the entry imports announced before its script tag; None if
        its entry module is not in the bundle."""
        script = _ENTRY_SCRIPT.search(page)
        if script is None or script.group(1) not in self.entries:
            return None
        entry = self.entries[script.group(1)]
        links = "".join(
            f'<link rel="modulepreload" href="{html.escape(ASSETS + chunk)}">\n  '
            for chunk in entry.imports
        )
        page = page[: script.start()] + links + page[script.start() :]

        def bundled(ref: re.Match[str]) -> str:
            found = self.entries.get(ref.group(2))
            if found is None:
                return ref.group(0)
            return f'{ref.group(1)}="{html.escape(ASSETS + found.file)}"'

        return _SOURCE_REF.sub(bundled, page)

    async def serve(self, request: web.Request) -> web.Response:
        """``GET /assets/{path}``: a file of the bundle, gzipped if the browser takes it."""
        asset = self.assets.get(request.match_info["path"])
        if asset is None:
            raise web.HTTPNotFound()
        headers = {"Cache-Control": IMMUTABLE}
        body = asset.body
        if asset.compress:
            headers["Vary"] = "Accept-Encoding"
            if _accepts_gzip(request.headers.get("Accept-Encoding", "")):
                body = asset.gzipped()
                headers["Content-Encoding"] = "gzip"
        return web.Response(
            body=body, content_type=asset.content_type, charset="utf-8", headers=headers
        )


def _accepts_gzip(accept_encoding: str) -> bool:
    """Does an ``Accept-Encoding`` header take gzip (``gzip``, else ``*``, at a quality above 0)?"""
    qualities: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[coding] = quality
    return qualities.get("gzip", qualities.get("*", 0.0)) > 0


class BundleError(Exception):
    """dist/ is missing, stale or damaged: why, in words for the log."""


def _read_manifest(client_dir: Path) -> dict[str, Any]:
    path = client_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{path} is missing (the client was never built)") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path} is unreadable ({exc})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{path} is not a manifest of web_client/build.mjs")
    try:
        digest = source_digest(client_dir)
    except OSError as exc:
        raise BundleError(f"the client's sources are unreadable ({exc})") from None
    if manifest.get("digest") != digest:
        raise BundleError(
            f"{client_dir / 'dist'} was built from other sources than those in"
            f" {client_dir} now (changed since the last build)"
        )
    return manifest


def _asset(dist: Path, relative: str) -> Asset:
    """A file of dist/ named by the manifest: a regular file inside it, no link."""
    path = dist / relative
    if relative.startswith("/") or ".." in relative.split("/") or "\\" in relative:
        raise BundleError(f"the manifest names a file outside dist/: {relative!r}")
    if path.is_symlink() or not path.resolve().is_relative_to(dist.resolve()):
        raise BundleError(f"{path} is a symbolic link or in one")
    if not path.is_file():
        raise BundleError(f"{path} is missing or not a regular file")
    body = path.read_bytes()
    content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    return Asset(body, content_type, compress=path.suffix in _GZIPPED)


def _bundle(client_dir: Path) -> ClientBundle:
    manifest = _read_manifest(client_dir)
    dist = client_dir / "dist"
    try:
        assets = {relative: _asset(dist, relative) for relative in manifest["files"]}
        entries = {
            source: Entry(entry["file"], tuple(entry.get("imports", ())))
            for source, entry in manifest["entries"].items()
        }
    except OSError as exc:
        raise BundleError(f"{dist} is unreadable ({exc})") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise BundleError(f"{client_dir / MANIFEST} lacks a part ({exc!r})") from None
    for source, entry in entries.items():
        missing = [f for f in (entry.file, *entry.imports) if f not in assets]
        if missing:
            raise BundleError(f"{source}'s files are not in the manifest: {missing}")
    return ClientBundle(entries, assets)


def load_bundle(client_dir: Path) -> ClientBundle | None:
    """The bundle in ``client_dir/dist`` if it was built from the sources as
    they are now; None, with a warning logged, if not."""
    try:
        bundle = _bundle(client_dir)
    except BundleError as exc:
        logger.warning(
            "Serving the browser client's source modules, not its bundle: %s; %s", exc, REBUILD
        )
        return None
    logger.info(
        "Serving the browser client's bundle (%d files) under %s", len(bundle.assets), ASSETS
    )
    return bundle


def add_routes(app: web.Application, bundle: ClientBundle | None) -> None:
    """``GET /assets/{path}``: the bundle's files (none without a bundle: 404)."""
    app.router.add_get(ASSETS + "{path:.+}", (bundle or ClientBundle()).serve)
