"""Finding whose resume token a client shows.

A client that comes back (a new socket, another node of a room that spans
several) shows the resume token its join gave it; the server looks for the
participant it belongs to among its own participants, among the mirrors of
other nodes' participants, and in the rosters the nodes keep in the shared
store. One lookup for all three: compared in constant time, an empty token
matches nobody, and the token is compared as bytes, so any string a client
sends is simply no match (:func:`secrets.compare_digest` raises on ``str``
with non-ASCII characters).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def holder_of(candidates: Iterable[T], resume_token: str, token_of: Callable[[T], str]) -> T | None:
    """The first of ``candidates`` whose token (``token_of``) is
    ``resume_token``; None if none is, or if ``resume_token`` is empty."""
    if not resume_token:
        return None
    given = resume_token.encode()
    for candidate in candidates:
        token = token_of(candidate)
        if token and secrets.compare_digest(token.encode(), given):
            return candidate
    return None


def entry_token(entry: Mapping[str, Any]) -> str:
    """The resume token of a participant as a node's roster in the shared
    store describes it ("" if it has none)."""
    return str(entry.get("resume_token") or "")
