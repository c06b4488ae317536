"""Fixtures of the end-to-end tests live in e2e_helpers.py (importable by tests too)."""

from e2e_helpers import browser, conf_server, open_page, test_network

__all__ = ["browser", "conf_server", "open_page", "test_network"]
