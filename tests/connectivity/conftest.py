"""Fixtures of the connectivity tests: the tools they need, and browsers in namespaces.

These tests build namespaces of their own (netns_hosts.py) inside the suite's
private network namespace, so they run only there (``test_network``, as the
end-to-end tests) and are skipped with a reason when root, ``nft``, coturn or
Chromium is missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
from e2e_helpers import test_network
from namespaced_browser import NamespacedBrowser, OpenBrowser
from netns_hosts import missing_tools, remove_stale
from playwright.async_api import async_playwright

__all__ = ["connectivity_tools", "open_browser", "test_network"]


@pytest.fixture(scope="session")
def connectivity_tools(test_network: None) -> Iterator[None]:
    problem = missing_tools()
    if problem:
        pytest.skip(f"connectivity tests: {problem}")
    remove_stale()
    yield


@pytest.fixture
async def open_browser(connectivity_tools: None, tmp_path: Path) -> AsyncIterator[OpenBrowser]:
    """``await open_browser(namespace, name, server_url, room, extra_args=())``:
    a browser in ``namespace`` with the room page open; all closed afterwards."""
    browsers: list[NamespacedBrowser] = []
    async with async_playwright() as playwright:

        async def factory(
            namespace: str, name: str, server_url: str, room: str, extra_args: Sequence[str] = ()
        ) -> NamespacedBrowser:
            browser = NamespacedBrowser(namespace, name, tmp_path)
            browsers.append(browser)
            await browser.open(playwright, server_url, room, extra_args)
            return browser

        try:
            yield factory
        finally:
            for browser in browsers:
                await browser.close()
