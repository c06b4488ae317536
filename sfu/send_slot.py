"""SendSlot: one sendonly m-section of a subscribe transport.

A slot outlives the consumers it carries: when a producer goes away its slot
is handed to the next producer of the same kind, so the SDP does not grow
without end. The slot keeps the outgoing sequence numbers and timestamps
continuous across such hand-overs and across pauses, so a receiver never sees
a jump it would treat as loss. A packet lost on its way out (the socket's
buffer full) is loss, and keeps its number: the receiver asks for it again.
"""

from __future__ import annotations

import random
import time
from typing import Protocol

from aiortc import RTCRtpTransceiver

from . import aiortc_bridge as bridge
from . import native_send, rtcp, rtp
from .producer import Producer
from .stats import SfuStats


class SlotConsumer(Protocol):
    """The consumer that currently writes into a slot (:class:`sfu.Consumer` is one).

    The consumer owns its slot and sets ``slot.consumer`` to itself. Through
    the slot, the subscribe transport routes the receiver's feedback (PLI,
    NACK) and starts the consumer once the answer is applied, and the
    application reads which producer the slot carries.
    """

    @property
    def producer(self) -> Producer: ...

    @property
    def paused(self) -> bool: ...

    def resume(self) -> None: ...

    def request_keyframe(self) -> None: ...

    def retransmit(self, out_sequence_number: int) -> int: ...


class SendSlot(native_send.SlotBase):
    """Writes rewritten packets of whichever consumer currently owns it.

    Its per-packet numbers and counters are fields of
    :data:`sfu.native_send.SlotBase`, which the compiled fan-out
    (``Producer.receive``) updates as :meth:`write` would.
    """

    def __init__(
        self, transceiver: RTCRtpTransceiver, stats: SfuStats, path: bridge.RtpSendPath
    ) -> None:
        self.transceiver = transceiver
        self._stats: SfuStats = stats
        self._path: bridge.RtpSendPath = path
        self._send = path.send_rewritten
        self.kind: str = transceiver.kind
        self.consumer: SlotConsumer | None = None
        self._codec: bridge.Codec | None = None
        self._payload_type = -1
        self.ssrc = bridge.sender_ssrc(transceiver.sender)
        self._set_extensions(rtp.ExtensionTemplate([], None), None)
        self._octets = 0
        self._report_lsr = 0
        self._report_time: float | None = None
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
        return self._path.connected

    @property
    def ready(self) -> bool:
        """True once an answer for this slot has been applied."""
        return self.codec is not None

    @property
    def codec(self) -> bridge.Codec | None:
        """The negotiated codec (None until the answer is applied)."""
        return self._codec

    @codec.setter
    def codec(self, codec: bridge.Codec | None) -> None:
        self._codec = codec
        self._payload_type = -1 if codec is None else codec.payload_type

    def _set_extensions(self, template: rtp.ExtensionTemplate, varying: str | None) -> None:
        """Use ``template``, with ``varying`` ("audio_level", "abs_send_time"
        or None) as its one value taken from each packet."""
        self._extensions = template
        # The same template as the compiled fan-out reads it.
        self._varying_kind = _VARYING_KINDS[varying]
        self._ext_plain = template.plain
        self._ext_prefix = template.prefix
        self._ext_zeros = len(template.suffix)

    def configure(self) -> None:
        """Read the negotiated codec and header-extension ids (after the answer)."""
        self.codec = bridge.negotiated_codec(self.transceiver)
        # Only ids the one-byte form (RFC 8285) can carry; an answer that
        # names others simply does not get that extension.
        ids = {
            uri: i for uri, i in bridge.header_extension_ids(self.transceiver).items()
            if 1 <= i <= rtp.MAX_ONE_BYTE_ID
        }  # fmt: skip
        mid_id = ids.get(bridge.URI_MID)
        mid = self.mid
        constant = [(mid_id, mid.encode())] if mid_id and mid and len(mid.encode()) <= 16 else []
        level_id = ids.get(bridge.URI_AUDIO_LEVEL)
        abs_id = ids.get(bridge.URI_ABS_SEND_TIME)
        if self.kind == "audio" and level_id:
            self._set_extensions(rtp.ExtensionTemplate(constant, (level_id, 1)), "audio_level")
        elif self.kind == "video" and abs_id:
            self._set_extensions(rtp.ExtensionTemplate(constant, (abs_id, 3)), "abs_send_time")
        else:
            self._set_extensions(rtp.ExtensionTemplate(constant, None), None)

    def rebase(self, view: rtp.RtpView, behind: int = 0) -> None:
        """Map ``view`` onto the next outgoing sequence number and a plausible
        timestamp: the last one moved on by the time since it was sent.

        ``behind``: how many ticks ``view`` was taken before the newest
        packet of its stream (a keyframe replayed from the cache with what
        followed it): the *newest* then lands on that timestamp and ``view``
        this much earlier (never at or before the last one sent), so the
        stream's timestamps keep pace with the wall clock instead of running
        ahead by the replayed span at every replay.
        """
        assert self.codec is not None
        elapsed = int((time.monotonic() - self._last_wall) * self.codec.clock_rate)
        target_seq = (self._last_seq + 1) & 0xFFFF
        target_ts = (self._last_ts + max(1, elapsed - behind)) & 0xFFFFFFFF
        self._seq_offset = (target_seq - view.sequence_number) & 0xFFFF
        self._ts_offset = (target_ts - view.timestamp) & 0xFFFFFFFF

    def skip(self, view: rtp.RtpView) -> bool:
        """Leave ``view`` out (a packet that is not forwarded, e.g. padding)
        without a gap: if it would have had the next outgoing number, the
        packets after it move down by one. True if they did (then numbers
        sent before map to other packets than :meth:`original_sequence` says).
        A packet that comes out of order (after one that followed it went
        out) leaves its gap: rare, and the receiver's NACK goes unanswered."""
        if (view.sequence_number + self._seq_offset - self._last_seq) & 0xFFFF != 1:
            return False
        self._seq_offset = (self._seq_offset - 1) & 0xFFFF
        return True

    @property
    def stats(self) -> SfuStats:
        return self._stats

    @property
    def octets_sent(self) -> int:
        """RTP bytes this slot has sent (retransmissions included)."""
        return self._octets

    @property
    def next_sequence_number(self) -> int:
        """The outgoing sequence number the next new packet gets."""
        return (self._last_seq + 1) & 0xFFFF

    def original_sequence(self, out_seq: int) -> int:
        return (out_seq - self._seq_offset) & 0xFFFF

    def _extension_block(self, view: rtp.RtpView) -> bytes:
        varying = self._varying_kind
        if varying == _ABS_SEND_TIME:
            return self._extensions.build(view.abs_send_time)
        if varying == _AUDIO_LEVEL and view.audio_level is not None:
            return self._extensions.build(rtp.LEVEL_BYTES[view.audio_level])
        return self._extensions.plain

    def write(self, view: rtp.RtpView, retransmission: bool = False) -> bool:
        """Rewrite and send one packet; True if it went out.

        False when the transport is not connected (then the packet takes no
        number), or when the connected transport's socket could not take it
        (its send buffer full): then the packet is lost as on the network and
        keeps its number, so the subscriber sees the gap and NACKs it, and
        the consumer answers from the producer's cache (``retransmit``).
        Giving its number to the next packet would leave the subscriber
        nothing to ask for.
        """
        payload_type = self._payload_type
        if payload_type < 0:
            return False  # no codec negotiated yet
        seq = (view.sequence_number + self._seq_offset) & 0xFFFF
        ts = (view.timestamp + self._ts_offset) & 0xFFFFFFFF
        size = self._send(view, payload_type, seq, ts, self.ssrc, self._extension_block(view))
        return self.account(size, seq, ts, retransmission)

    def account(self, size: int, seq: int, ts: int, retransmission: bool = False) -> bool:
        """Count a packet sent with outgoing ``seq`` and ``ts``, ``size``
        bytes long (0: not sent), as :meth:`write` explains; True if it
        went out. (The compiled fan-out counts what went out itself and
        calls this for what did not.)"""
        stats = self._stats
        sent = size > 0
        if sent:
            stats.packets_forwarded += 1
            stats.bytes_forwarded += size
            self.packets_sent += 1
            self._octets += size
            if retransmission:
                stats.retransmissions += 1
                return True
        else:
            stats.packets_dropped += 1
            if retransmission or not self._path.connected:
                return False  # a resend the subscriber asks for again; or no number
        if ((seq - self._last_seq) & 0xFFFF) < 0x8000:
            self._last_seq = seq
            self._last_ts = ts
            self._last_wall = time.monotonic()
        return sent

    def sender_report(self) -> bytes:
        """This slot's RTCP sender report (RFC 3550 6.4.1): packets and octets
        sent, and the wallclock (NTP) time now with the RTP timestamp the
        rewritten stream has now: the last packet's, moved on by the time
        since it was sent at the codec's clock rate, as libwebrtc's sender
        does and as :meth:`rebase` continues the stream after a pause or a
        layer switch. (The last packet's own pair would describe the past:
        stale by a whole pause on a paused slot.) Remembers when it was
        made, to measure the round trip from the reports that answer it."""
        now = time.monotonic()
        ntp = rtp.ntp_now()
        ts = self._last_ts
        if self.codec is not None:
            ts += int((now - self._last_wall) * self.codec.clock_rate)
        self._report_lsr = (ntp >> 16) & 0xFFFFFFFF
        self._report_time = now
        return rtcp.sender_report(self.ssrc, ntp, ts, self.packets_sent, self._octets)

    def round_trip(self, lsr: int, dlsr: int) -> float | None:
        """The round trip (seconds) a receiver's report block about this slot
        implies: time since the sender report it names (``lsr``), less the
        receiver's delay ``dlsr`` (1/65536 s); None unless it names our last."""
        if not dlsr or self._report_time is None or lsr != self._report_lsr:
            return None
        return time.monotonic() - self._report_time - dlsr / 65536


#: SlotBase's ``_varying_kind`` for each kind of varying extension value
#: (the VARYING_* values of sfu/_rtp_send.c).
_AUDIO_LEVEL = 1
_ABS_SEND_TIME = 2
_VARYING_KINDS = {None: 0, "audio_level": _AUDIO_LEVEL, "abs_send_time": _ABS_SEND_TIME}
