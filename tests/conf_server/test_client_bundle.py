"""The browser client's bundle (issue 21, point 1): a copy of web_client/ really
built with esbuild (``npm run build``), then served by the client's routes.

A bundle built from the sources as they are is what pages load, its chunks
announced, its files cached for a year under content-hashed names; a stale or
missing one is refused with a warning naming the fix, and the pages load the
source modules as before. Only the files the manifest lists are served.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from client_build import build_client, copy_client
from yarl import URL

from conf_server.http import client_bundle, web_pages
from conf_server.http.client_bundle import ASSETS, IMMUTABLE, load_bundle, source_digest

Fetch = Callable[..., Awaitable[tuple[int, bytes, Any]]]
PAGES = {
    "/": "js/landing.js",
    "/r/standup": "js/room.js",
    "/admin": "js/admin.js",
    "/s/any-share-id": "js/share_page.js",
}
MODULE_SCRIPT = re.compile(r'<script type="module" src="([^"]+)"></script>')
PRELOADS = re.compile(r'<link rel="modulepreload" href="([^"]+)">')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)">')


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of web_client/, built."""
    client_dir = copy_client(tmp_path_factory.mktemp("client") / "web_client")
    build_client(client_dir)
    return client_dir


def manifest_of(client_dir: Path) -> dict[str, Any]:
    return json.loads((client_dir / "dist/manifest.json").read_text())


def copy_of(built: Path, tmp_path: Path) -> Path:
    """A copy of the built client to spoil (its node_modules link kept)."""
    return Path(shutil.copytree(built, tmp_path / "web_client", symlinks=True))


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Path], Awaitable[Fetch]]]:
    """``fetch = await serve(client_dir)``: the client's routes on a loopback
    port; ``await fetch(path, **get_kwargs)`` is (status, body, headers), the
    path sent as it is (no dot segments resolved)."""
    servers: list[TestServer] = []
    http = aiohttp.ClientSession(auto_decompress=False)

    async def start(client_dir: Path) -> Fetch:
        app = web.Application()
        web_pages.add_client_routes(app, client_dir)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        base = str(server.make_url("")).rstrip("/")

        async def fetch(path: str, **kwargs: Any) -> tuple[int, bytes, Any]:
            async with http.get(URL(base + path, encoded=True), **kwargs) as response:
                return response.status, await response.read(), response.headers

        return fetch

    yield start
    await http.close()
    for server in servers:
        await server.close()


def test_the_build_hashes_the_sources_as_the_server_does(built: Path) -> None:
    assert manifest_of(built)["digest"] == source_digest(built)
    assert load_bundle(built) is not None


def test_the_socket_io_client_is_bundled_not_fetched(built: Path) -> None:
    room = (built / "dist" / manifest_of(built)["entries"]["js/room.js"]["file"]).read_text()
    assert "ping timeout" in room  # engine.io-client's own text
    assert not any("/vendor/" in p.read_text() for p in (built / "dist/js").glob("*.js"))


@pytest.mark.parametrize(("path", "entry"), PAGES.items())
async def test_a_current_bundle_is_what_pages_load(
    built: Path, serve: Callable[[Path], Awaitable[Fetch]], path: str, entry: str
) -> None:
    fetch = await serve(built)
    manifest = manifest_of(built)
    status, body, headers = await fetch(path)
    page = body.decode()
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    assert "/static/" not in page
    (script,) = MODULE_SCRIPT.findall(page)
    assert script == ASSETS + manifest["entries"][entry]["file"]
    assert re.fullmatch(r"/assets/js/[a-z_]+-[A-Z0-9]{8}\.js", script)
    assert PRELOADS.findall(page) == [ASSETS + f for f in manifest["entries"][entry]["imports"]]
    assert STYLESHEET.findall(page) == [ASSETS + manifest["entries"]["css/app.css"]["file"]]
    for url in [script, *PRELOADS.findall(page), *STYLESHEET.findall(page)]:
        status, body, headers = await fetch(url, headers={"Accept-Encoding": "identity"})
        assert status == 200, url
        assert headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        assert body == (built / "dist" / url.removeprefix(ASSETS)).read_bytes()
        assert headers["Content-Type"].startswith(("text/javascript", "text/css"))


def test_the_room_entry_imports_chunks_shared_with_other_pages(built: Path) -> None:
    imports = manifest_of(built)["entries"]["js/room.js"]["imports"]
    # Modules the other pages (or lazily loaded ones) use too: esbuild split them off.
    assert imports and all(re.fullmatch(r"js/chunk-[A-Z0-9]{8}\.js", f) for f in imports)


async def test_assets_go_gzipped_to_browsers_that_take_it(
    built: Path, serve: Callable[[Path], Awaitable[Fetch]]
) -> None:
    fetch = await serve(built)
    room = ASSETS + manifest_of(built)["entries"]["js/room.js"]["file"]
    plain = (built / "dist" / room.removeprefix(ASSETS)).read_bytes()
    status, body, headers = await fetch(room, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept-Encoding" and headers["Cache-Control"] == IMMUTABLE
    assert len(body) < len(plain) / 2
    assert gzip.decompress(body) == plain
    for refused in ("identity", "gzip;q=0", "br", ""):
        _, body, headers = await fetch(room, headers={"Accept-Encoding": refused})
        assert "Content-Encoding" not in headers and body == plain, refused


@pytest.mark.parametrize(
    "path",
    [
        "/assets/manifest.json",
        "/assets/",
        "/assets/js/",
        "/assets/js/room.js",
        "/assets/js/nope-ABCDEFGH.js",
        "/assets/../package.json",
        "/assets/js/../../package.json",
        "/assets/%2e%2e/package.json",
        "/assets/js/%2e%2e/%2e%2e/build.mjs",
        "/assets/..%2fpackage.json",
        "/assets//etc/passwd",
        "/assets/%2Fetc%2Fpasswd",
    ],
)
async def test_assets_serve_nothing_but_the_bundle(
    built: Path, serve: Callable[[Path], Awaitable[Fetch]], path: str
) -> None:
    fetch = await serve(built)
    status, _, _ = await fetch(path)
    assert status == 404


async def test_a_file_in_dist_that_the_manifest_does_not_list_is_not_served(
    built: Path, tmp_path: Path, serve: Callable[[Path], Awaitable[Fetch]]
) -> None:
    client_dir = copy_of(built, tmp_path)
    (client_dir / "dist/js/extra.js").write_text("export const x = 1;\n")
    fetch = await serve(client_dir)
    assert (await fetch("/assets/js/extra.js"))[0] == 404
    assert (await fetch("/assets/" + manifest_of(client_dir)["files"][0]))[0] == 200


def edit_a_source(client_dir: Path) -> None:
    with (client_dir / "js/ui/dom.js").open("a") as edited:
        edited.write("// an edit after the build\n")


def remove_the_bundle(client_dir: Path) -> None:
    shutil.rmtree(client_dir / "dist")


@pytest.mark.parametrize(
    ("damage", "warning"),
    [(edit_a_source, "built from other sources"), (remove_the_bundle, "manifest.json is missing")],
    ids=["stale", "missing"],
)
async def test_a_stale_or_missing_bundle_gives_the_sources_and_a_warning(
    built: Path,
    tmp_path: Path,
    serve: Callable[[Path], Awaitable[Fetch]],
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], None],
    warning: str,
) -> None:
    client_dir = copy_of(built, tmp_path)
    damage(client_dir)
    caplog.set_level(logging.WARNING, client_bundle.__name__)
    fetch = await serve(client_dir)
    assert_warned(caplog, warning)
    await assert_sources_served(fetch, client_dir)


@pytest.mark.parametrize("damage", ["symlink", "linked folder", "outside", "gone", "json"])
async def test_a_damaged_bundle_is_refused(
    built: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    client_dir = copy_of(built, tmp_path)
    manifest = manifest_of(client_dir)
    room = client_dir / "dist" / manifest["entries"]["js/room.js"]["file"]
    if damage == "symlink":  # never followed, even to a file of the client
        room.unlink()
        room.symlink_to(client_dir / "package.json")
    elif damage == "linked folder":  # dist/js/ a link to a folder outside dist/
        elsewhere = shutil.move(client_dir / "dist/js", tmp_path / "elsewhere")
        (client_dir / "dist/js").symlink_to(elsewhere)
    elif damage == "outside":
        manifest["files"].append("../package.json")
        (client_dir / "dist/manifest.json").write_text(json.dumps(manifest))
    elif damage == "gone":
        room.unlink()
    else:
        (client_dir / "dist/manifest.json").write_text('{"digest": ')
    caplog.set_level(logging.WARNING, client_bundle.__name__)
    assert load_bundle(client_dir) is None
    assert_warned(caplog, "")


def assert_warned(caplog: pytest.LogCaptureFixture, why: str) -> None:
    (record,) = [r for r in caplog.records if r.name == client_bundle.__name__]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert why in message and "npm run build" in message and "scripts/setup.sh" in message


async def assert_sources_served(fetch: Fetch, client_dir: Path) -> None:
    for path, entry in PAGES.items():
        _, body, _ = await fetch(path)
        page = body.decode()
        assert MODULE_SCRIPT.findall(page) == [f"/static/{entry}"]
        assert STYLESHEET.findall(page) == ["/static/css/app.css"]
        assert "/assets/" not in page
        if entry == "js/room.js":  # module_preload's links, as before the bundle
            assert "/static/js/session.js" in PRELOADS.findall(page)
    status, body, _ = await fetch("/static/js/room.js")
    assert status == 200 and body == (client_dir / "js/room.js").read_bytes()
    for file in manifest_of(client_dir)["files"] if (client_dir / "dist").exists() else []:
        assert (await fetch(ASSETS + file))[0] == 404
