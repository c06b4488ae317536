"""A shape check of remote SDP before aiortc sees it.

aiortc accepts some descriptions it cannot work with and then fails later,
outside any call the SFU could catch, or fails whenever the description is
read back:

- a mangled media line (``m=audiæ… 9 UDP/TLS/RTP/SAVPF 96``) becomes a
  half-built transceiver;
- a ``BUNDLE`` group whose first mid names no m-section (an offer whose first
  ``m=`` line is gone, so that ``a=mid:0`` stands at session level) leaves the
  bundled transceivers without a transport: the connect task and
  ``RTCPeerConnection.close()`` raise ``AttributeError``, and the transport is
  never closed;
- a connection address that is no IP address (``c=IN IP4 example.org``,
  ``a=rtcp:9 IN IP4 x``) is kept, and every later read of
  ``pc.remoteDescription`` raises ``ValueError`` while writing it back.

Refusing such a description up front keeps that state from ever existing.
Lines are split as aiortc splits them (``str.splitlines``), so that both see
the same lines.
"""

from __future__ import annotations

import ipaddress
import re

from .errors import NegotiationError
from .sdp_sections import split_sections

#: RFC 8866 ``m=<media> <port>[/<count>] <proto> <fmt> ...`` for what WebRTC uses.
MEDIA_LINE = re.compile(r"m=(audio|video|application) \d{1,5}(/\d{1,5})? [A-Za-z0-9/_.]+( \S+)+")
#: RFC 8866 ``c=`` / RFC 3605 ``a=rtcp`` address, as aiortc reads it (and then
#: writes it back with ``ipaddress``: only an IP literal survives).
CONNECTION_ADDRESS = re.compile(r"IN (IP4|IP6) ([^ ]+)")
#: Attributes that only mean something inside an m-section (RFC 5888 mid,
#: RFC 8866 rtpmap/fmtp, RFC 4585 rtcp-fb, RFC 5576 ssrc, RFC 8830 msid,
#: RFC 8839 candidate, RFC 8851/8853 rid/simulcast). Before the first ``m=``
#: line they are a sign of a lost media line, never of a real client.
MEDIA_ONLY_ATTRIBUTES = frozenset(
    {
        "mid",
        "rtpmap",
        "fmtp",
        "rtcp-fb",
        "ssrc",
        "ssrc-group",
        "msid",
        "candidate",
        "rid",
        "simulcast",
    }
)


def check_media_lines(sdp: str, require_media: bool = True) -> None:
    """Raise ``invalid_sdp`` unless ``sdp`` has a shape aiortc can work with.

    Every line starting with ``m`` is a well-formed media line (and, with
    ``require_media``, there is one); no media-level attribute stands before
    the first one; each m-section has at most one mid and no two share one;
    every mid a ``BUNDLE`` group names is an m-section's; every connection
    address (``c=``, ``a=rtcp``) is an IP address.
    """
    lines = sdp.splitlines()
    for line in lines:
        if line.startswith("m") and not MEDIA_LINE.fullmatch(line):
            raise NegotiationError(f"not a media line: {line[:80]!r}", code="invalid_sdp")
    session, sections = split_sections(lines)
    if require_media and not sections:
        raise NegotiationError("the description has no media section", code="invalid_sdp")
    for line in session:
        if _attribute(line)[0] in MEDIA_ONLY_ATTRIBUTES:
            raise NegotiationError(
                f"a media attribute before the first m= line: {line[:80]!r}", code="invalid_sdp"
            )
    mids = _check_mids(sections)
    _check_bundle(session, mids)
    # Only c= and a=rtcp lines carry an address, and a description repeats
    # the same few (a subscriber's answer: two per m-section, two per
    # participant): each distinct one is checked once.
    checked: set[str] = set()
    for line in lines:
        if line.startswith(("c=", "a=rtcp:")):
            _check_address(line, checked)


def _attribute(line: str) -> tuple[str | None, str | None]:
    """``(name, value)`` of an ``a=`` line as aiortc parses it; ``(None, None)`` otherwise."""
    if not line.startswith("a="):
        return None, None
    name, colon, value = line[2:].partition(":")
    return name, (value if colon else None)


def _check_mids(sections: list[list[str]]) -> set[str]:
    """The mids of the m-sections; raises on two in one section or one in two."""
    mids: set[str] = set()
    for section in sections:
        found = [
            value
            for name, value in map(_attribute, (x for x in section if x.startswith("a=mid")))
            if name == "mid"
        ]
        if len(found) > 1:
            raise NegotiationError("an m-section has more than one a=mid", code="invalid_sdp")
        if not found or found[0] is None:
            continue
        if found[0] in mids:
            raise NegotiationError(
                f"two m-sections share mid {found[0][:40]!r}", code="invalid_sdp"
            )
        mids.add(found[0])
    return mids


def _check_bundle(session: list[str], mids: set[str]) -> None:
    # aiortc bundles every named m-section onto the first one's transport; a
    # first mid that is no m-section's leaves the others with none at all.
    for name, value in map(_attribute, session):
        if name != "group" or value is None:
            continue
        bits = value.split()
        if bits[:1] == ["BUNDLE"] and not set(bits[1:]) <= mids:
            unknown = sorted(set(bits[1:]) - mids)[:3]
            raise NegotiationError(
                f"the BUNDLE group names mids of no m-section: {unknown}", code="invalid_sdp"
            )


def _check_address(line: str, checked: set[str]) -> None:
    """Raise unless ``line``'s connection address (if it has one) is an IP
    address; ``checked``: addresses already found good (this one is added)."""
    if line.startswith("c="):
        address: str | None = line[2:]
    else:
        name, value = _attribute(line)
        address = value.split(" ", 1)[1] if name == "rtcp" and value and " " in value else None
    if address is None or address in checked:
        return
    found = CONNECTION_ADDRESS.fullmatch(address)
    try:
        ipaddress.ip_address(found[2] if found else "")
    except ValueError:
        raise NegotiationError(
            f"not an IP connection address: {line[:80]!r}", code="invalid_sdp"
        ) from None
    checked.add(address)
