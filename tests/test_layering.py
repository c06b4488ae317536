"""Layers import downward only (ARCHITECTURE.md): a lower layer importing a higher one fails.

Between the top-level packages, and inside ``conf_server`` between its
subpackages (each ``__init__`` says what it may import). Imports made only
for type hints (under ``TYPE_CHECKING``) count too. And no two modules import
each other, directly or through others (in any of our packages).
"""

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

#: conf_server's parts. "base" is errors.py and settings.py (with its checks in
#: connectivity_settings.py), which every part may use; "root" is the
#: composition root (app, cli, __main__, __init__).
BASE = {"conf_server.errors", "conf_server.settings", "conf_server.connectivity_settings"}
ROOT_MODULES = {"conf_server", "conf_server.app", "conf_server.cli", "conf_server.__main__"}
CONF_SERVER_ALLOWED = {
    "root": {"http", "meeting", "cluster", "integration", "domain", "base"},
    "http": {"meeting", "cluster", "integration", "domain", "base"},
    "meeting": {"cluster", "integration", "domain", "base"},
    "cluster": {"domain", "base"},
    "integration": {"domain", "base"},
    "domain": {"base"},
    "base": {"base"},
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


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_graph(packages: list[str]) -> dict[str, set[str]]:
    """Our modules and the modules of ours each imports (any import statement,
    TYPE_CHECKING ones included; ``from package import module`` names the module)."""
    paths = {module_name(p): p for package in packages for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    found.add(sub if sub in paths else module)
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def part_of(module: str) -> str:
    if module in ROOT_MODULES:
        return "root"
    if module in BASE:
        return "base"
    return module.split(".")[1]


def test_conf_server_parts_import_only_lower_parts():
    graph = module_graph(["conf_server"])
    assert set(CONF_SERVER_ALLOWED) >= {part_of(m) for m in graph}, "a part with no rule"
    for module, imports in sorted(graph.items()):
        part = part_of(module)
        illegal = {m for m in imports if part_of(m) not in CONF_SERVER_ALLOWED[part] | {part}}
        assert not illegal, f"{module} ({part}) imports {sorted(illegal)}"


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return circles


@pytest.mark.parametrize("package", ["conf_server", "signaling", "sfu", "recording", "conf_bench"])
def test_no_import_circles(package):
    assert import_circles(module_graph([package])) == []
