"""The one rule for text that people (and programs) send us.

Display names, zone names, chat messages, poll questions and options, meeting
titles and the names in invite tokens all go through it, at every entry point:
Socket.IO messages (signaling/protocol.py, signaling/meeting_messages.py), the
REST API (conf_server/meetings_api.py, conf_server/escalations_api.py), invite
tokens (conf_server/invites.py) and the domain's chat and poll rules
(conf_server/domain/text.py uses the character rule from here).

The rule:

- Text is NFC-normalised: one spelling per name (``é`` precomposed), so two
  names that look alike compare alike.
- A one-line text has every run of white space (tabs, newlines, no-break and
  other Unicode spaces, line and paragraph separators) made one space and is
  trimmed. A multi-line text (chat) has its line endings made ``\\n`` and is
  trimmed.
- Refused characters (:func:`first_forbidden_char`):

  - lone surrogates: not Unicode at all; they make UTF-8 encoding fail (a
    webhook body, a CSV report) far from where they came in;
  - control characters (C0, C1, NUL); a newline only in multi-line text;
  - format characters: bidi embeddings, overrides and isolates
    (U+202A-U+202E, U+2066-U+2069) that make text read differently from how
    it is stored, zero-width spaces, word joiners, the BOM, soft hyphens, tag
    characters; except ZWNJ/ZWJ (U+200C/U+200D), which build emoji such as
    👩‍💻;
  - private-use and unassigned code points;
  - characters that draw nothing though they are letters or symbols: the
    Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the braille blank U+2800,
    the Khmer inherent vowels U+17B4/U+17B5, the combining grapheme joiner
    U+034F (a name made of them looks blank or copies another's).

- A text must show something: a character that is not white space, a joiner
  or a variation selector.
- Lengths are counted in code points, after cleaning; too long is refused,
  never cut.
"""

from __future__ import annotations

import unicodedata

from .errors import InvalidPayload

#: Longest display (and zone) name.
MAX_NAME = 64

#: Invisible format characters text may hold: the zero-width (non-)joiners
#: that build emoji such as 👩‍💻. Every other format character is refused.
ALLOWED_FORMAT_CHARS = frozenset({"\u200c", "\u200d"})

#: Letters and symbols that draw nothing (see the module docstring).
BLANK_LOOKING = frozenset(
    {"\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u2800", "\u3164", "\uffa0"}
)


class InvalidText(InvalidPayload):
    """A text that breaks the rule; ``invalid_payload`` on Socket.IO, each
    other entry point turns it into its own error (400 on REST)."""


def _is_variation_selector(ch: str) -> bool:
    return "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef"


def first_forbidden_char(text: str, allow_newline: bool = False) -> str | None:
    """The first character ``text`` may not hold, or None if all are fine."""
    for ch in text:
        if ch == "\n" and allow_newline:
            continue
        if ch in BLANK_LOOKING:
            return ch
        category = unicodedata.category(ch)
        if category == "Cf":
            if ch not in ALLOWED_FORMAT_CHARS:
                return ch
        elif category.startswith("C"):  # control, surrogate, private use, unassigned
            return ch
    return None


def has_visible_char(text: str) -> bool:
    """True if ``text`` shows something: not only white space, joiners and
    variation selectors."""
    return any(
        not ch.isspace() and ch not in ALLOWED_FORMAT_CHARS and not _is_variation_selector(ch)
        for ch in text
    )


def describe_char(ch: str) -> str:
    """``U+202E`` style name of a character, for error messages."""
    return f"U+{ord(ch):04X}"


def normalize_newlines(text: str) -> str:
    """Turn CRLF, lone CR and the Unicode line and paragraph separators into LF,
    so pasted text from any platform is alike."""
    return (
        text.replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\u2028", "\n")
        .replace("\u2029", "\n")
    )


def nfc(text: str) -> str:
    """``text`` in Unicode normal form C (left as it is if it holds lone
    surrogates: the rule refuses those anyway)."""
    try:
        return unicodedata.normalize("NFC", text)
    except UnicodeError:  # pragma: no cover - CPython normalises surrogates as they are
        return text


def one_line(raw: str) -> str:
    """NFC, white-space runs made one space, trimmed (no checks)."""
    return " ".join(nfc(raw).split())


def many_lines(raw: str) -> str:
    """NFC, line endings made ``\\n``, trimmed (no checks)."""
    return normalize_newlines(nfc(raw)).strip()


def check_text(
    text: str, field: str, max_length: int, allow_newline: bool = False, allow_empty: bool = False
) -> str:
    """``text`` (already normalised) if it keeps the rule, else :class:`InvalidText`."""
    if not text and allow_empty:
        return text
    if not has_visible_char(text) or len(text) > max_length:
        low = 0 if allow_empty else 1
        raise InvalidText(f"field {field!r} must be {low} to {max_length} characters")
    bad = first_forbidden_char(text, allow_newline)
    if bad is not None:
        raise InvalidText(
            f"field {field!r} must not contain control or invisible characters"
            f" ({describe_char(bad)})"
        )
    return text


def clean_line(raw: str, field: str, max_length: int, allow_empty: bool = False) -> str:
    """A one-line text (title, poll question or option) as it will be stored."""
    return check_text(one_line(raw), field, max_length, allow_empty=allow_empty)


def clean_lines(raw: str, field: str, max_length: int) -> str:
    """A multi-line text (a chat message) as it will be stored."""
    return check_text(many_lines(raw), field, max_length, allow_newline=True)


def clean_name(raw: str, field: str = "name") -> str:
    """A display (or zone) name: one line of 1 to :data:`MAX_NAME` characters."""
    return clean_line(raw, field, MAX_NAME)


def has_surrogate(text: str) -> bool:
    """True if ``text`` holds a lone surrogate: the only code points UTF-8
    cannot encode (so the encoder, in C, is the fast check)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
