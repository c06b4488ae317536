"""PacketSink: the public way to tap a producer's packets (recording uses it).

A sink sees every packet its producer forwards, as the producer forwards it:
nothing while the producer is paused (muted) or closed. ``on_rtp`` runs on the
forwarding path, synchronously: it must be quick and must not keep ``view``
beyond the call unless it copies what it needs (``view.data`` is immutable
bytes, so keeping a reference is fine). An exception from a sink is logged and
swallowed; it never reaches the forwarding of other consumers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .rtp import RtpView


class PacketSink(Protocol):
    """Receives the packets of one producer."""

    def on_rtp(self, view: RtpView) -> None: ...

    def on_close(self) -> None: ...


@dataclass(frozen=True)
class SenderReport:
    """The last RTCP sender report of a publisher's stream: which RTP timestamp
    was current at which wall-clock moment (NTP 64-bit fixed point), and the
    local monotonic time it arrived."""

    ntp: int
    rtp_timestamp: int
    received_at: float

    @property
    def unix_time(self) -> float:
        """The report's NTP time as Unix seconds."""
        return self.ntp / (1 << 32) - NTP_EPOCH_OFFSET


NTP_EPOCH_OFFSET = 2208988800
