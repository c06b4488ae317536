"""Fixtures of the integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def cache_dir(request: pytest.FixtureRequest) -> Path:
    """Where conf_bench's pre-encoded media is kept between runs (pytest's
    cache); the media tests that use it run only in the private network
    namespace."""
    if os.environ.get("CONF_TEST_NETNS") != "1":
        pytest.skip("media test: runs in the private network namespace (scripts/test.sh)")
    return Path(request.config.cache.mkdir("conf-bench-media"))
