"""Run the browser client's DOM-free modules in Node and read the JSON they
print (the layout mirror, catalog and device-choice tests)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest


def node_output(args: list[str], cwd: Path | None = None) -> Any:
    """``node *args`` (in ``cwd``), which prints one JSON document; its output
    parsed. Fails the test with Node's stderr, or when Node is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to test the browser client's modules (Node 18 or newer)")
    done = subprocess.run(
        [node, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def node_json(script: str, cwd: Path) -> Any:
    """``script`` (an ES module that prints one JSON document) run by Node in ``cwd``."""
    return node_output(["--input-type=module", "-e", script], cwd)
