"""ProducerLayer: one RTP stream (one SSRC) of a producer.

A track published without simulcast has one layer; a simulcast camera has one
per spatial layer, lowest first. Each layer keeps what belongs to its stream:
receive statistics for receiver reports, the gaps to NACK, the packets to
answer subscribers' NACKs with (audio too), its bitrate, the frame size its keyframes
announce, its own keyframe-request throttle, and the consumers that currently
forward it (or wait to switch to it).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from . import rtp
from .bitrate_meter import BitrateMeter
from .nack_generator import NackGenerator
from .packet_cache import PacketCache
from .receive_stream import ReceiveStream
from .sink import SenderReport


class Downstream(Protocol):
    """What a producer needs of each consumer it feeds (:class:`sfu.Consumer` is one).

    The consumer knows its producer and registers itself with
    :meth:`Producer.add_consumer` and with the layers it forwards
    (:meth:`ProducerLayer.attach`); the producer knows its consumers only
    through these calls, so ownership points down without an import
    cycle.
    """

    #: Takes a talker's packets whether or not speaker selection ranks it
    #: (:attr:`ProducerLayer.every_packet`): a relay to another node does.
    takes_every_packet: bool

    def send(self, view: rtp.RtpView, layer: int) -> None: ...

    def skip(self, view: rtp.RtpView, layer: int) -> None:
        """A packet of ``layer`` that is not forwarded (padding): its number goes unused."""
        ...

    def resync(self) -> None: ...

    def wanted_layers(self) -> Collection[int]:
        """The layers it forwards or waits for (none while it is kept paused)."""
        ...

    async def close(self) -> None: ...


#: NACK limits for audio. A lost Opus packet is worth asking for only while
#: the receivers' jitter buffers (typically 40-200 ms) still wait for it: the
#: SFU sees the gap when the next packet comes (20 ms on), the resend takes a
#: round trip (assumed 100 ms), and the subscriber's buffer must still hold
#: its slot. So ask at once and once more a round trip later (a NACK or its
#: resend lost on a 5 % link: 1 in 10); a third answer would come some 300 ms
#: late and be thrown away. Packets more than 25 behind the newest (0.5 s at
#: 20 ms) are not asked for at all, and more than 64 missing at once is an
#: outage, not loss: the list is dropped.
AUDIO_NACK_RETRIES = 2
AUDIO_NACK_MAX_AGE = 25
AUDIO_NACK_MAX_LIST = 64

#: A layer that (re)starts is offered to subscribers only after arriving this
#: long: browsers switch upper layers off and on as their estimate moves, and
#: each switch to such a layer costs a keyframe.
STABLE_AFTER_S = 2.0


class ProducerLayer:
    """One incoming stream of a producer (see module docstring)."""

    def __init__(
        self,
        *,
        kind: str,
        index: int,
        rid: str | None,
        clock_rate: int,
        cache_size: int,
        audio_cache_size: int = 64,
    ) -> None:
        self.kind = kind
        self.index = index
        self.rid = rid
        self.clock_rate = clock_rate
        self.ssrc: int | None = None
        #: The SSRC its retransmissions (RTX) come on, if known.
        self.rtx_ssrc: int | None = None
        self.stream: ReceiveStream | None = None
        #: Recent packets, to answer subscribers' NACKs (video and audio alike).
        self.cache = PacketCache(cache_size if kind == "video" else audio_cache_size)
        #: The gaps to NACK upstream.
        self.nacks: NackGenerator = (
            NackGenerator()
            if kind == "video"
            else NackGenerator(
                max_packet_age=AUDIO_NACK_MAX_AGE,
                max_retries=AUDIO_NACK_RETRIES,
                max_list=AUDIO_NACK_MAX_LIST,
            )
        )
        self.meter = BitrateMeter()
        self.width: int | None = None
        self.height: int | None = None
        self.keyframes = 0
        #: Loss fraction (0..255) of the last receiver report sent for this stream.
        self.fraction_lost = 0
        self._live_since: float | None = None
        #: NACK repairs (failed, recovered) already added to the node's counters.
        self.repairs_counted = (0, 0)
        self.sender_report: SenderReport | None = None
        #: Consumers that forward this layer now, or wait for its next keyframe.
        self.consumers: list[Downstream] = []
        #: Those of :attr:`consumers` that take a talker's packets whether or
        #: not speaker selection ranks it (a relay to another node, which
        #: ranks the room's talkers itself: a packet held back here would be
        #: a gap there, NACKed and counted as lost).
        self.every_packet: list[Downstream] = []
        self.last_keyframe_request = -1e9
        #: A keyframe was asked for while the publisher could not be told (its
        #: connection not up, or this layer's SSRC not known yet): the request
        #: goes out with the layer's first packet (Producer.receive).
        self.keyframe_owed = False
        #: Where and when the latest keyframe began: a consumer whose
        #: connection just came up starts from the cache there, up to the
        #: stream's highest sequence number (Consumer.resync), instead of
        #: asking for a new one.
        self.keyframe_sequence: int | None = None
        self.keyframe_at = -1e9

    def __repr__(self) -> str:
        return f"ProducerLayer({self.index}, rid={self.rid}, ssrc={self.ssrc})"

    def bind(self, ssrc: int) -> None:
        """Learn the SSRC this layer arrives on (from the SDP or the first
        packet), or that the publisher restarted it on another: its sequence
        numbers and timestamps start anew, so every consumer of the layer
        starts again too (rebased on the new stream's first (key)frame), or
        its subscriber would see the jump as loss."""
        if self.ssrc == ssrc:
            return
        restarted = self.ssrc is not None
        self.ssrc = ssrc
        self.stream = ReceiveStream(ssrc, self.clock_rate)
        if restarted:
            self.keyframe_sequence = None  # a number of the old stream
            for consumer in self.consumers:
                consumer.resync()

    def attach(self, consumer: Downstream) -> None:
        if consumer not in self.consumers:
            # A new list: the producer may be iterating the old one right now.
            self.consumers = [*self.consumers, consumer]
            if consumer.takes_every_packet:
                self.every_packet = [*self.every_packet, consumer]

    def detach(self, consumer: Downstream) -> None:
        if consumer in self.consumers:
            self.consumers = [c for c in self.consumers if c is not consumer]
            self.every_packet = [c for c in self.every_packet if c is not consumer]

    def stable_bitrate(self, now: float) -> int:
        """The layer's bitrate once it has arrived for ``STABLE_AFTER_S``, else 0."""
        bitrate = self.meter.bitrate(now)
        if bitrate <= 0:
            self._live_since = None
            return 0
        if self._live_since is None:
            self._live_since = now
        return bitrate if now - self._live_since >= STABLE_AFTER_S else 0
