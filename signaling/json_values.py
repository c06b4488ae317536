"""What a JSON value from outside may look like before anything reads it.

Python's ``json`` accepts things that later break far from the door: lone
surrogates (``"\\ud800"`` is valid JSON but not Unicode; encoding it as UTF-8
fails in a webhook or a CSV report), integers of thousands of digits
(converting one over 4,300 digits raises ``ValueError``), ``NaN`` and
``Infinity`` (not JSON at all), and nesting so deep that the parser itself
runs out of stack. The REST API parses bodies with :func:`loads` and both it
and the Socket.IO validators check the result with :func:`problem`, so every
such value gets a clear error instead of a 500.
"""

from __future__ import annotations

import json
from typing import Any

from .text import has_surrogate

#: Deepest nesting of objects and arrays a message may have (ours need 4).
MAX_DEPTH = 32
#: Integers beyond this magnitude are refused: no field of ours needs more,
#: and JavaScript cannot hold them exactly.
MAX_SAFE_INT = 2**53 - 1
#: Longest run of digits an integer literal may have (sign not counted).
MAX_INT_DIGITS = 16


class JsonProblem(ValueError):
    """A JSON text or value that is refused; the message says why."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonProblem(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_constant(name: str) -> Any:
    raise JsonProblem(f"{name} is not a JSON number")


def loads(text: str) -> Any:
    """Parse a JSON text; :class:`JsonProblem` for anything :func:`problem`
    refuses or that is not JSON (``json.JSONDecodeError`` is a ValueError too)."""
    try:
        value = json.loads(text, parse_int=_parse_int, parse_constant=_parse_constant)
    except RecursionError:
        raise JsonProblem(f"the value is nested more than {MAX_DEPTH} levels deep") from None
    found = problem(value)
    if found is not None:
        raise JsonProblem(found)
    return value


def problem(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``value`` (parsed JSON) is refused, or None: too deep, an integer
    beyond ±(2**53 - 1), a float that is not finite, or a string (object keys
    included) holding a lone surrogate. Iterative, so no depth overflows it."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if has_surrogate(item):
                return "a string holds a lone surrogate (not valid Unicode)"
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if abs(item) > MAX_SAFE_INT:
                return "a number is too large"
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return "a number is not finite"
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                return f"the value is nested more than {max_depth} levels deep"
            if isinstance(item, dict):
                stack.extend((key, depth + 1) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return None
