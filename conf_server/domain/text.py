"""Checks for text that people type: chat messages, poll questions and options.

The character rule matches the one signaling applies to display names: control
characters (other than a newline where allowed), surrogates, private-use and
unassigned code points are refused, and so are invisible format characters except
the joiners that build emoji such as 👩‍💻 (bidi overrides allow spoofing).
"""

from __future__ import annotations

import unicodedata

#: Invisible format characters text may hold: the zero-width (non-)joiners.
ALLOWED_FORMAT_CHARS = frozenset({"\u200c", "\u200d"})


def normalize_newlines(text: str) -> str:
    """Turn CRLF and lone CR into LF, so pasted text from any platform is alike."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def first_forbidden_char(text: str, allow_newline: bool) -> str | None:
    """The first character ``text`` may not hold, or None if all are fine."""
    for ch in text:
        if ch == "\n" and allow_newline:
            continue
        category = unicodedata.category(ch)
        if category == "Cf":
            if ch not in ALLOWED_FORMAT_CHARS:
                return ch
        elif category.startswith("C"):
            return ch
    return None


def describe_char(ch: str) -> str:
    """``U+0009`` style name of a character, for error messages."""
    return f"U+{ord(ch):04X}"


def has_visible_char(text: str) -> bool:
    """True if ``text`` shows something: not only white space and joiners."""
    return any(not ch.isspace() and ch not in ALLOWED_FORMAT_CHARS for ch in text)
