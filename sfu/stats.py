"""Node-wide media counters, cheap enough for the forwarding hot path.

One ``SfuStats`` is shared by every router of a process. The hot path only
adds to plain integer attributes; whoever exports them (``/metrics``) reads
them when asked. Forwarding latency is sampled (one packet in
``LATENCY_SAMPLE_EVERY``) into fixed histogram buckets.
"""

from __future__ import annotations

import bisect

#: Upper bounds (seconds) of the forwarding-latency histogram buckets.
LATENCY_BUCKETS = (
    0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
)  # fmt: skip
LATENCY_SAMPLE_EVERY = 16


class SfuStats:
    """Counters of everything the SFU received and forwarded since start."""

    __slots__ = (
        "bytes_forwarded",
        "bytes_received",
        "keyframe_requests",
        "latency_count",
        "latency_counts",
        "latency_sum",
        "layer_switches",
        "nack_repairs_failed",
        "nack_repairs_recovered",
        "nacks_received",
        "nacks_sent",
        "negotiation_failures",
        "packets_dropped",
        "packets_forwarded",
        "packets_received",
        "packets_unroutable",
        "retransmissions",
        "retransmissions_refused",
        "rtx_packets_received",
        "video_packets_received",
    )

    def __init__(self) -> None:
        self.packets_received = 0
        self.bytes_received = 0
        self.video_packets_received = 0
        self.packets_forwarded = 0
        self.bytes_forwarded = 0
        #: Packets a consumer should have sent but could not (transport not connected).
        self.packets_dropped = 0
        self.packets_unroutable = 0
        self.keyframe_requests = 0
        self.nacks_received = 0
        #: Sequence numbers the SFU asked publishers to resend.
        self.nacks_sent = 0
        #: Subscriber offers whose answer never came or could not be applied.
        self.negotiation_failures = 0
        self.retransmissions = 0
        #: Subscriber NACKs not answered: retransmissions used up their budget.
        self.retransmissions_refused = 0
        #: Simulcast layer switches of consumers.
        self.layer_switches = 0
        #: RTX packets received from publishers (unwrapped into what they repair).
        self.rtx_packets_received = 0
        #: Lost publisher packets the SFU gave up NACKing, and those that came after all.
        self.nack_repairs_failed = 0
        self.nack_repairs_recovered = 0
        self.latency_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0

    def observe_latency(self, seconds: float) -> None:
        """Record one SFU-in to SFU-out time (receive hook to send call returned)."""
        self.latency_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.latency_count += 1

    def snapshot(self) -> dict[str, object]:
        """A copy of every counter (for tests and the benchmark)."""
        return {name: list(v) if isinstance(v := getattr(self, name), list) else v
                for name in self.__slots__}  # fmt: skip
