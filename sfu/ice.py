"""Trickled remote ICE candidates, the same for both kinds of transport."""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.sdp import candidate_from_sdp

from .errors import NegotiationError

#: What aiortc and aioice raise for a candidate line they cannot use:
#: ``candidate_from_sdp`` asserts it has 8 fields (AssertionError, or
#: IndexError under ``python -O``), int() of a field raises ValueError (also for
#: thousands of digits), aioice raises ValueError for a candidate after
#: end-of-candidates. None of them is a server fault.
MALFORMED = (AssertionError, IndexError, TypeError, ValueError)


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
