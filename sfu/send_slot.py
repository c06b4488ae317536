"""SendSlot: one sendonly m-section of a subscribe transport.

A slot outlives the consumers it carries: when a producer goes away its slot
is handed to the next producer of the same kind, so the SDP does not grow
without end. The slot keeps the outgoing sequence numbers and timestamps
continuous across such hand-overs and across pauses, so a receiver never sees
a jump it would treat as loss.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from aiortc import RTCRtpTransceiver

from . import aiortc_bridge as bridge
from . import rtp
from .stats import SfuStats

if TYPE_CHECKING:
    from .consumer import Consumer


class SendSlot:
    """Writes rewritten packets of whichever consumer currently owns it."""

    def __init__(self, transceiver: RTCRtpTransceiver, stats: SfuStats) -> None:
        self.transceiver = transceiver
        self._stats = stats
        self.kind: str = transceiver.kind
        self.consumer: Consumer | None = None
        self.codec: bridge.Codec | None = None
        self.ssrc = bridge.sender_ssrc(transceiver.sender)
        self._mid_element: list[tuple[int, bytes]] = []
        self._audio_level_id: int | None = None
        self._abs_send_time_id: int | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self._last_seq = random.randrange(0, 0x8000)
        self._last_ts = random.randrange(0, 0xFFFFFFFF)
        self._last_wall = time.monotonic()
        self.packets_sent = 0

    @property
    def mid(self) -> str | None:
        mid: str | None = self.transceiver.mid
        return mid

    @property
    def connected(self) -> bool:
        return bridge.is_connected(self.transceiver.sender)

    @property
    def ready(self) -> bool:
        """True once an answer for this slot has been applied."""
        return self.codec is not None

    def configure(self) -> None:
        """Read the negotiated codec and header-extension ids (after the answer)."""
        self.codec = bridge.negotiated_codec(self.transceiver)
        ids = bridge.header_extension_ids(self.transceiver)
        mid_id = ids.get(bridge.URI_MID)
        mid = self.mid
        self._mid_element = [(mid_id, mid.encode())] if mid_id and mid else []
        self._audio_level_id = ids.get(bridge.URI_AUDIO_LEVEL)
        self._abs_send_time_id = ids.get(bridge.URI_ABS_SEND_TIME)

    def rebase(self, view: rtp.RtpView) -> None:
        """Map ``view`` onto the next outgoing sequence number and a plausible timestamp."""
        assert self.codec is not None
        elapsed = time.monotonic() - self._last_wall
        target_seq = (self._last_seq + 1) & 0xFFFF
        target_ts = (self._last_ts + max(1, int(elapsed * self.codec.clock_rate))) & 0xFFFFFFFF
        self._seq_offset = (target_seq - view.sequence_number) & 0xFFFF
        self._ts_offset = (target_ts - view.timestamp) & 0xFFFFFFFF

    def original_sequence(self, out_seq: int) -> int:
        return (out_seq - self._seq_offset) & 0xFFFF

    def _extensions(self, view: rtp.RtpView) -> bytes:
        elements = list(self._mid_element)
        if self._audio_level_id and view.audio_level is not None:
            elements.append((self._audio_level_id, bytes([view.audio_level])))
        if self._abs_send_time_id:
            elements.append((self._abs_send_time_id, rtp.abs_send_time()))
        return rtp.one_byte_extensions(elements)

    async def write(self, view: rtp.RtpView, retransmission: bool = False) -> bool:
        """Rewrite and send one packet; False when the transport is not connected."""
        codec = self.codec
        if codec is None:
            return False
        seq = (view.sequence_number + self._seq_offset) & 0xFFFF
        ts = (view.timestamp + self._ts_offset) & 0xFFFFFFFF
        data = rtp.rewrite(view, codec.payload_type, seq, ts, self.ssrc, self._extensions(view))
        sender = self.transceiver.sender
        stats = self._stats
        if not await bridge.send_rtp(sender.transport, data):
            stats.packets_dropped += 1
            return False
        stats.packets_forwarded += 1
        stats.bytes_forwarded += len(data)
        if retransmission:
            stats.retransmissions += 1
        if not retransmission:
            if ((seq - self._last_seq) & 0xFFFF) < 0x8000:
                self._last_seq = seq
                self._last_ts = ts
                self._last_wall = time.monotonic()
            bridge.note_sent(sender, rtp.ntp_now(), ts, len(data))
        self.packets_sent += 1
        return True
