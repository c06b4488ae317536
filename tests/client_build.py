"""Building the browser client's bundle from the tests (web_client/build.mjs).

The servers the tests start serve web_client/dist when it was built from the
sources as they are, else the source modules; the session fixture in
tests/conftest.py builds it when it is stale, so the browser tests load the
bundle, freshly built after an edit.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEB_CLIENT = Path(__file__).resolve().parents[1] / "web_client"
#: What a copy of the client needs to build and to be served (node_modules is linked).
SOURCES = (
    "js",
    "css",
    "locales",
    "index.html",
    "room.html",
    "admin.html",
    "share.html",
    "build.mjs",
    "package.json",
    "package-lock.json",
)


def build_client(client_dir: Path = WEB_CLIENT) -> None:
    """``npm run build`` in ``client_dir``; fails the test with what to do if it cannot."""
    try:
        done = subprocess.run(
            ["npm", "run", "build", "--silent"],
            cwd=client_dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except FileNotFoundError:
        pytest.fail("npm is missing: the browser client cannot be built; run scripts/setup.sh")
    if done.returncode != 0:
        pytest.fail(
            f"`npm run build` in {client_dir} failed (is esbuild installed? run `npm ci` there,"
            f" or scripts/setup.sh):\n{done.stdout}{done.stderr}"
        )


def copy_client(destination: Path) -> Path:
    """A copy of web_client/'s sources in ``destination`` (its node_modules
    linked, no dist/), to build and serve on its own."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        source = WEB_CLIENT / name
        if source.is_dir():
            shutil.copytree(source, destination / name)
        else:
            shutil.copy2(source, destination / name)
    (destination / "node_modules").symlink_to(WEB_CLIENT / "node_modules")
    return destination
