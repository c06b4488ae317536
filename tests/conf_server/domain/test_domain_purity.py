"""The domain stays pure: no I/O, no asyncio, no clock; errors keep the edge shape."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conf_server.domain import errors
from conf_server.errors import ConfServerError

DOMAIN = Path(__file__).resolve().parents[3] / "conf_server" / "domain"
ALLOWED_IMPORTS = {
    "__future__",
    "collections",
    "csv",
    "dataclasses",
    "enum",
    "hashlib",
    "io",
    "math",
    "secrets",
    "types",
    "typing",
    "unicodedata",
    "uuid",
    "conf_server",
    # The one text rule (signaling/text.py: pure, unicodedata only).
    "signaling",
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_modules_import_no_io_asyncio_or_clock(path):
    assert _imports(path) <= ALLOWED_IMPORTS, path.name


def test_domain_imports_from_conf_server_only_its_errors():
    for path in DOMAIN.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").startswith("conf_server")
            ):
                assert node.module == "conf_server.errors", path.name


def _error_classes() -> list[type[errors.DomainError]]:
    return [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.DomainError)
    ]


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_domain_error_has_a_stable_code_message_and_status(cls):
    error = cls("something clear", **({"retry_after": 1.0} if cls is errors.RateLimited else {}))
    assert isinstance(error, ConfServerError)
    assert error.message == "something clear"
    assert error.code and error.code.islower()
    assert 400 <= error.status < 500


def test_error_codes_are_unique():
    codes = [cls.code for cls in _error_classes()]
    assert len(codes) == len(set(codes))


def test_forbidden_code_is_forbidden():
    assert errors.Forbidden("no").code == "forbidden"
