"""Run an inline ES-module script in Node and read the JSON it prints (tests of
the browser client's DOM-free modules)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


def node_json(script: str, cwd: Path) -> Any:
    """``script`` (an ES module that prints one JSON document) run by ``node``
    in ``cwd``; its output parsed. Fails the test with Node's stderr."""
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
