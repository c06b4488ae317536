"""Checks for text that people type: chat messages, poll questions and options.

The character rule is the project's one text rule, :mod:`signaling.text`
(display names, titles and invite names follow it too): control characters
(other than a newline where allowed), lone surrogates, private-use and
unassigned code points, invisible format characters except the joiners that
build emoji such as 👩‍💻 (bidi overrides allow spoofing), and letters that
draw nothing (Hangul fillers, the braille blank) are refused. The edges hand
the domain NFC-normalised text.
"""

from __future__ import annotations

from signaling.text import (
    ALLOWED_FORMAT_CHARS,
    describe_char,
    first_forbidden_char,
    has_visible_char,
    normalize_newlines,
)

__all__ = [
    "ALLOWED_FORMAT_CHARS",
    "describe_char",
    "first_forbidden_char",
    "has_visible_char",
    "normalize_newlines",
]
