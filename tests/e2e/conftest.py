"""Fixtures of the end-to-end tests live in e2e_helpers.py (importable by tests too)."""

from collections.abc import Generator
from typing import Any

import pytest
from e2e_helpers import CALL_FAILED, browser, conf_server, open_page, test_network

__all__ = ["browser", "conf_server", "open_page", "test_network"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    """Remember a failed call phase, so fixtures print diagnostics on the way out
    (the server log, the room's media report, each page's state)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
