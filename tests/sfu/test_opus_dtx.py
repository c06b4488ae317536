"""The publish answer asks browsers for Opus DTX (issue 17): in silence a
browser then sends one small packet every 400 ms instead of 50 a second."""

from __future__ import annotations

from aiortc import RTCSessionDescription
from test_aiortc_bridge import CHROME_AUDIO_OFFER

from sfu import aiortc_bridge


async def test_the_publish_answer_asks_for_dtx_and_keeps_fec():
    pc = aiortc_bridge.create_peer_connection(())
    try:
        await pc.setRemoteDescription(RTCSessionDescription(CHROME_AUDIO_OFFER, "offer"))
        [transceiver] = pc.getTransceivers()
        offered = aiortc_bridge.offered_media(pc)[transceiver.mid]
        aiortc_bridge.negotiate_publish_format(transceiver, offered)
        answer = await pc.createAnswer()
    finally:
        await pc.close()
    fmtp = next(line for line in answer.sdp.splitlines() if line.startswith("a=fmtp:111 "))
    parameters = dict(p.split("=") for p in fmtp.split(" ", 1)[1].split(";"))
    assert parameters == {"minptime": "10", "useinbandfec": "1", "usedtx": "1"}
