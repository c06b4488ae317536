"""A shape check of remote SDP before aiortc sees it.

aiortc parses a mangled media line (``m=audiæ… 9 UDP/TLS/RTP/SAVPF 96``) into
a half-built transceiver and then fails later, outside any call the SFU
could catch: its connect task and ``RTCPeerConnection.close()`` raise
``AttributeError`` on the missing transport. Refusing such a description up
front keeps that state from ever existing.
"""

from __future__ import annotations

import re

from .errors import NegotiationError

#: RFC 8866 ``m=<media> <port>[/<count>] <proto> <fmt> ...`` for what WebRTC uses.
MEDIA_LINE = re.compile(r"m=(audio|video|application) \d{1,5}(/\d{1,5})? [A-Za-z0-9/_.]+( \S+)+")


def check_media_lines(sdp: str, require_media: bool = True) -> None:
    """Raise ``invalid_sdp`` unless every line starting with ``m`` is a
    well-formed media line (and, with ``require_media``, there is one)."""
    media = [line.rstrip("\r") for line in sdp.split("\n") if line.startswith("m")]
    if require_media and not media:
        raise NegotiationError("the description has no media section", code="invalid_sdp")
    for line in media:
        if not MEDIA_LINE.fullmatch(line):
            raise NegotiationError(f"not a media line: {line[:80]!r}", code="invalid_sdp")
