"""Trickled remote ICE candidates, the same for both kinds of transport."""

from __future__ import annotations

import ipaddress
import re

from aiortc import RTCPeerConnection
from aiortc.sdp import candidate_from_sdp

from .errors import NegotiationError

#: What aiortc and aioice raise for a candidate line they cannot use:
#: ``candidate_from_sdp`` asserts it has 8 fields (AssertionError, or
#: IndexError under ``python -O``), int() of a field raises ValueError (also for
#: thousands of digits), aioice raises ValueError for a candidate after
#: end-of-candidates. None of them is a server fault.
MALFORMED = (AssertionError, IndexError, TypeError, ValueError)

#: A browser's mDNS host name (draft-ietf-mmusic-mdns-ice-candidates: a UUID
#: under ``.local``), in the form aioice resolves: one label, then ``.local``.
MDNS_NAME = re.compile(r"[A-Za-z0-9-]{1,63}\.local")


def check_candidate_host(host: str) -> None:
    """Raise ``invalid_candidate`` unless the ICE agent can use ``host``.

    aioice takes an IP address, and resolves a browser's mDNS name itself (over
    multicast, so only on the same link as the server; elsewhere it finds
    nothing and drops the candidate). Any other host name it drops silently,
    which would leave a client believing its candidate was taken: the server
    resolves no DNS names for candidates.
    """
    if MDNS_NAME.fullmatch(host):
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise NegotiationError(
            f"the candidate's address is not an IP address or an mDNS name: {host[:60]!r}",
            code="invalid_candidate",
        ) from None


async def add_remote_candidate(
    pc: RTCPeerConnection, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
) -> None:
    """Add one ``candidate:...`` line to ``pc``; raises NegotiationError if unusable."""
    if pc.remoteDescription is None:
        raise NegotiationError("ICE candidate before any description", code="invalid_state")
    try:
        parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
    except MALFORMED as exc:
        raise NegotiationError(
            "this is not an ICE candidate line", code="invalid_candidate"
        ) from exc
    check_candidate_host(parsed.ip)
    parsed.sdpMid = sdp_mid
    parsed.sdpMLineIndex = sdp_mline_index
    if sdp_mid is None and sdp_mline_index is None:
        parsed.sdpMLineIndex = 0  # bundled: every m-section shares one transport
    try:
        await pc.addIceCandidate(parsed)
    except MALFORMED as exc:
        raise NegotiationError(
            f"the ICE candidate cannot be used: {exc}", code="invalid_candidate"
        ) from exc
