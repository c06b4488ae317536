"""Layers import downward only (ARCHITECTURE.md): a lower layer importing a higher one fails."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"conf_server", "signaling", "sfu", "recording", "conf_bench"}
ALLOWED = {
    "sfu": set(),
    "signaling": set(),
    "recording": {"sfu"},
    "conf_server": {"signaling", "sfu", "recording"},
    # The benchmark drives a real conf-server; it may use the SFU's helpers.
    "conf_bench": {"sfu"},
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package):
    for path in (ROOT / package).rglob("*.py"):
        illegal = imported_packages(path) - ALLOWED[package] - {package}
        assert not illegal, f"{path.relative_to(ROOT)} imports {sorted(illegal)}"
