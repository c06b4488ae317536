"""Pages load the client's bundle and announce every module they will load
(issue 21, points 1 and 5).

The server serves the bundle esbuild built into web_client/dist (the test
session builds it when stale: tests/conftest.py): each page's entry is a
content-hashed file under /assets/, cached for a year, and the page's head
announces with ``<link rel="modulepreload">`` every chunk the entry imports
(conf_server/http/client_bundle.py), so the browser fetches them at once, not
one import level after another. Here Chromium loads each page: every
JavaScript file it fetched must be a file of the bundle that was announced.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from client_build import WEB_CLIENT
from e2e_helpers import browser, conf_server, test_network, tid, wait_joined

__all__ = ["browser", "conf_server", "test_network"]

pytestmark = pytest.mark.e2e

LOADED_AND_ANNOUNCED = """() => ({
  loaded: performance.getEntriesByType("resource")
    .filter((e) => e.initiatorType !== "fetch" && new URL(e.name).pathname.endsWith(".js"))
    .map((e) => new URL(e.name).pathname),
  announced: [...document.querySelectorAll('link[rel="modulepreload"]')]
    .map((link) => new URL(link.href).pathname),
  entry: new URL(document.querySelector('script[type="module"]').src).pathname,
})"""
#: A file of the bundle: its name ends in the hash of its content.
HASHED = re.compile(r"/assets/(js|css)/[a-z_]+-[A-Z0-9]{8}\.(js|css)")
IMMUTABLE = "public, max-age=31536000, immutable"


def bundle_entry(source: str) -> dict[str, Any]:
    """The manifest's entry of ``source`` (``js/room.js``) in web_client/dist."""
    manifest = json.loads((WEB_CLIENT / "dist/manifest.json").read_text())
    entry: dict[str, Any] = manifest["entries"][source]
    return entry


@pytest.mark.parametrize(
    ("path", "source", "at_least"),
    [("/r/preload-room", "js/room.js", 1), ("/", "js/landing.js", 0), ("/admin", "js/admin.js", 0)],
)
async def test_every_module_a_page_loads_was_announced_in_its_head(
    conf_server: Any, browser: Any, path: str, source: str, at_least: int
) -> None:
    context = await browser.new_context(permissions=["camera", "microphone"])
    try:
        page = await context.new_page()
        await page.goto(f"{conf_server.url}{path}")
        await page.wait_for_load_state("networkidle")
        seen = await page.evaluate(LOADED_AND_ANNOUNCED)
        entry = bundle_entry(source)
        assert seen["entry"] == f"/assets/{entry['file']}"
        loaded = set(seen["loaded"]) - {seen["entry"]}
        announced = set(seen["announced"])
        assert len(loaded) >= at_least
        assert loaded <= announced, sorted(loaded - announced)
        assert seen["announced"] == [f"/assets/{chunk}" for chunk in entry["imports"]]
        assert len(seen["announced"]) == len(announced), "a module announced twice"
        assert all(urlsplit(url).path.endswith(".js") for url in announced)
    finally:
        await context.close()


async def test_the_room_page_runs_on_the_hashed_bundle_cached_for_a_year(
    conf_server: Any, browser: Any
) -> None:
    context = await browser.new_context(permissions=["camera", "microphone"])
    responses: list[Any] = []
    try:
        page = await context.new_page()
        page.on("response", lambda response: responses.append(response))
        await page.goto(f"{conf_server.url}/r/bundle-room?name=Ada")
        await page.click(tid("join-button"))
        await wait_joined(page)
        # Modules loaded later (a dynamic import once media is up) come from the bundle too.
        await page.wait_for_load_state("networkidle")

        scripts = [r for r in responses if r.request.resource_type == "script"]
        styles = [r for r in responses if r.request.resource_type == "stylesheet"]
        paths = [urlsplit(r.url).path for r in scripts + styles]
        assert f"/assets/{bundle_entry('js/room.js')['file']}" in paths
        assert f"/assets/{bundle_entry('css/app.css')['file']}" in paths
        assert all(HASHED.fullmatch(path) for path in paths), paths
        for response in scripts + styles:
            assert response.status == 200, response.url
            assert response.headers["cache-control"] == IMMUTABLE, response.url
        assert not [r.url for r in responses if "/static/" in r.url or "/vendor/" in r.url]
    finally:
        await context.close()
