"""Trickled remote ICE candidates, the same for both kinds of transport."""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.sdp import candidate_from_sdp

from .errors import NegotiationError


async def add_remote_candidate(
    pc: RTCPeerConnection, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
) -> None:
    """Add one ``candidate:...`` line to ``pc``; raises NegotiationError if unusable."""
    if pc.remoteDescription is None:
        raise NegotiationError("ICE candidate before any description", code="invalid_state")
    try:
        parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
    except (ValueError, IndexError) as exc:
        raise NegotiationError(f"bad ICE candidate: {exc}", code="invalid_candidate") from exc
    parsed.sdpMid = sdp_mid
    parsed.sdpMLineIndex = sdp_mline_index
    if sdp_mid is None and sdp_mline_index is None:
        parsed.sdpMLineIndex = 0  # bundled: every m-section shares one transport
    await pc.addIceCandidate(parsed)
