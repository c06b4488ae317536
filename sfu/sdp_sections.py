"""SDP text split into its session part and its m-sections, as aiortc groups it."""

from __future__ import annotations

from collections.abc import Iterable


def split_sections(lines: Iterable[str]) -> tuple[list[str], list[list[str]]]:
    """The session lines and each m-section's lines (its ``m=`` line first).

    Pass ``sdp.splitlines()``: aiortc splits lines the same way, so both see
    the same sections.
    """
    session: list[str] = []
    sections: list[list[str]] = []
    for line in lines:
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            session.append(line)
    return session, sections
