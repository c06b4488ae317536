"""Pages announce every module they will load (issue 21, point 1).

The client is plain ES modules, four import levels deep on the room page:
without ``<link rel="modulepreload">`` the browser learns of each level only
when the one above it has arrived. The server lists every module a page's
entry imports in the page's head (conf_server/http/module_preload.py); here
Chromium loads each page and every JavaScript file it fetched must have been
announced that way, so it was fetched at once, not level after level.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from e2e_helpers import browser, conf_server, test_network

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


@pytest.mark.parametrize(("path", "at_least"), [("/r/preload-room", 40), ("/", 1), ("/admin", 1)])
async def test_every_module_a_page_loads_was_announced_in_its_head(
    browser: Any, conf_server: Any, path: str, at_least: int
) -> None:
    context = await browser.new_context(permissions=["camera", "microphone"])
    try:
        page = await context.new_page()
        await page.goto(f"{conf_server.url}{path}")
        await page.wait_for_load_state("networkidle")
        seen = await page.evaluate(LOADED_AND_ANNOUNCED)
        loaded = set(seen["loaded"]) - {seen["entry"]}
        announced = set(seen["announced"])
        assert len(loaded) >= at_least
        assert loaded <= announced, sorted(loaded - announced)
        assert len(seen["announced"]) == len(announced), "a module announced twice"
        assert all(urlsplit(url).path.endswith(".js") for url in announced)
    finally:
        await context.close()
