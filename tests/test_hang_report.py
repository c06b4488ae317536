"""The suite's hang report (tests/hang_report.py): a test that hangs on an
await prints, before pytest-timeout fails it, which await that was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

HANGING_TEST = """
import asyncio

import pytest


async def waits_for_a_reply_that_never_comes():
    await asyncio.Event().wait()


@pytest.mark.timeout(8)
async def test_hangs():
    await waits_for_a_reply_that_never_comes()
"""

CONFTEST = f"""
import sys
sys.path.insert(0, {str(HERE)!r})
from hang_report import pytest_timeout_cancel_timer, pytest_timeout_set_timer  # noqa: F401
"""


PYTEST_OPTIONS = ("-o", "asyncio_mode=auto", "--rootdir", ".")


def test_a_hung_test_says_which_await_it_hangs_on(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_hanging.py").write_text(HANGING_TEST)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *PYTEST_OPTIONS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "Timeout (>8.0s)" in out
    assert "test_hanging.py::test_hangs is about to time out" in out
    # The stack of the task that hangs, down to the await that never returns.
    assert "in waits_for_a_reply_that_never_comes" in out
    assert "await asyncio.Event().wait()" in out
