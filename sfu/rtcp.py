"""Building and reading the RTCP feedback the SFU exchanges with its peers.

Pure bytes and :mod:`struct`: receiver reports (RFC 3550 6.4.2), generic NACK
(RFC 4585 6.2.1), PLI (RFC 4585 6.3.1), REMB (draft-alvestrand-rmcat-remb-03),
the layers a node relaying a simulcast track wants ("LAYR", between nodes only),
and a walker over a decrypted compound packet that reports the feedback a
sender has to act on. Nothing here raises on bytes from the network: a
malformed packet ends the walk and what was read before it is kept.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

PT_SR = 200
PT_RR = 201
PT_RTPFB = 205
PT_PSFB = 206

FMT_NACK = 1
FMT_TRANSPORT_CC = 15
FMT_PLI = 1
FMT_FIR = 4
FMT_ALFB = 15

#: RFC 3550: the report count is 5 bits.
MAX_REPORT_BLOCKS = 31
#: NACK FCI entries per packet when splitting (4 bytes each: stays well under an MTU).
MAX_NACK_ITEMS = 250

_HEADER = struct.Struct("!BBH")
_SSRC = struct.Struct("!I")
_TWO_SSRC = struct.Struct("!II")
_BLOCK = struct.Struct("!IIIIII")  # ssrc, fraction|lost, highest, jitter, lsr, dlsr
_SENDER_INFO = struct.Struct("!QIII")
_NACK_ITEM = struct.Struct("!HH")

FeedbackKind = Literal["rr", "sr", "nack", "pli", "fir", "remb", "transport_cc", "layers"]


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report block (RFC 3550 6.4.1), values as they go on the wire.

    ``cumulative_lost`` is signed and clamped to 24 bits when packed;
    ``highest_sequence`` is the extended (cycles << 16 | seq) number; ``lsr`` is
    the middle 32 bits of the last sender report's NTP time and ``dlsr`` the
    delay since it in 1/65536 s.
    """

    ssrc: int
    fraction_lost: int
    cumulative_lost: int
    highest_sequence: int
    jitter: int
    lsr: int
    dlsr: int


@dataclass(frozen=True, slots=True)
class Feedback:
    """One piece of feedback read from a compound RTCP packet.

    Which fields mean something depends on ``kind``:

    * ``rr``/``sr``: ``reports`` (blocks about the streams the sender receives);
      ``sr`` also ``ntp``, ``rtp_timestamp``, ``packet_count``, ``octet_count``.
    * ``nack``: ``media_ssrc`` and ``lost`` (16-bit sequence numbers).
    * ``pli``: ``media_ssrc``.
    * ``fir``: ``ssrcs`` (the streams asked for a full intra frame).
    * ``remb``: ``bitrate`` (bit/s) and ``ssrcs`` it applies to.
    * ``transport_cc``: ``media_ssrc`` and ``packet`` (the whole RTCP packet,
      for :func:`sfu.transport_cc.parse_transport_cc`; decoded only on demand).
    * ``layers``: ``media_ssrc`` (a relayed track's lowest layer) and
      ``layers``, the indexes of the layers wanted (:func:`layers_wanted`).
    """

    kind: FeedbackKind
    sender_ssrc: int
    media_ssrc: int = 0
    reports: tuple[ReportBlock, ...] = ()
    lost: tuple[int, ...] = ()
    ssrcs: tuple[int, ...] = ()
    bitrate: int = 0
    ntp: int = 0
    rtp_timestamp: int = 0
    packet_count: int = 0
    octet_count: int = 0
    packet: bytes = b""
    layers: tuple[int, ...] = ()


# -- building -------------------------------------------------------------------


def _pack_block(block: ReportBlock) -> bytes:
    lost = max(-0x800000, min(block.cumulative_lost, 0x7FFFFF)) & 0xFFFFFF
    fraction = max(0, min(block.fraction_lost, 255))
    return _BLOCK.pack(
        block.ssrc & 0xFFFFFFFF,
        (fraction << 24) | lost,
        block.highest_sequence & 0xFFFFFFFF,
        block.jitter & 0xFFFFFFFF,
        block.lsr & 0xFFFFFFFF,
        block.dlsr & 0xFFFFFFFF,
    )


def receiver_report(sender_ssrc: int, blocks: Sequence[ReportBlock]) -> bytes:
    """A receiver report (PT 201) carrying ``blocks``.

    More than 31 blocks do not fit one report: several reports are
    concatenated (a compound packet). No blocks gives one empty report, which
    is what RFC 3550 asks for when nothing was received.
    """
    ssrc = _SSRC.pack(sender_ssrc & 0xFFFFFFFF)
    out: list[bytes] = []
    start = 0
    while True:
        chunk = blocks[start : start + MAX_REPORT_BLOCKS]
        words = 1 + 6 * len(chunk)
        out.append(_HEADER.pack(0x80 | len(chunk), PT_RR, words) + ssrc)
        out.extend(_pack_block(block) for block in chunk)
        start += MAX_REPORT_BLOCKS
        if start >= len(blocks):
            return b"".join(out)


def _wrap_order(lost: Iterable[int]) -> list[int]:
    """Distinct 16-bit sequence numbers, oldest first across a wrap at 65535.

    The numbers are points on a circle; the oldest one is the one after the
    widest empty arc, so ``[65534, 65535, 0, 1]`` stays in that order.
    """
    seqs = sorted({seq & 0xFFFF for seq in lost})
    if len(seqs) < 2:
        return seqs
    widest, start = 0x10000 - seqs[-1] + seqs[0], 0
    for i in range(1, len(seqs)):
        gap = seqs[i] - seqs[i - 1]
        if gap > widest:
            widest, start = gap, i
    return seqs[start:] + seqs[:start]


def _nack_items(seqs: list[int]) -> list[bytes]:
    items: list[bytes] = []
    pid = -1
    blp = 0
    for seq in seqs:
        if pid >= 0:
            distance = (seq - pid - 1) & 0xFFFF
            if distance < 16:
                blp |= 1 << distance
                continue
            items.append(_NACK_ITEM.pack(pid, blp))
        pid, blp = seq, 0
    if pid >= 0:
        items.append(_NACK_ITEM.pack(pid, blp))
    return items


def _nack_packet(sender_ssrc: int, media_ssrc: int, items: list[bytes]) -> bytes:
    header = _HEADER.pack(0x80 | FMT_NACK, PT_RTPFB, 2 + len(items))
    ssrcs = _TWO_SSRC.pack(sender_ssrc & 0xFFFFFFFF, media_ssrc & 0xFFFFFFFF)
    return header + ssrcs + b"".join(items)


def generic_nack(sender_ssrc: int, media_ssrc: int, lost: Iterable[int]) -> bytes:
    """One generic NACK (RTPFB fmt 1) asking for ``lost`` (taken mod 2**16).

    Each FCI entry is a PID and a bitmask of the 16 numbers after it; the
    numbers are ordered across a wrap. Nothing lost gives ``b""`` (a NACK
    without FCI is not valid). See :func:`generic_nacks` for MTU-sized pieces.
    """
    items = _nack_items(_wrap_order(lost))
    return _nack_packet(sender_ssrc, media_ssrc, items) if items else b""


def generic_nacks(
    sender_ssrc: int, media_ssrc: int, lost: Iterable[int], max_items: int = MAX_NACK_ITEMS
) -> list[bytes]:
    """Like :func:`generic_nack`, split into packets of at most ``max_items`` entries."""
    items = _nack_items(_wrap_order(lost))
    step = max(1, max_items)
    return [
        _nack_packet(sender_ssrc, media_ssrc, items[i : i + step])
        for i in range(0, len(items), step)
    ]


PT_SDES = 202
#: Sender reports put in one compound packet (28 bytes each: well under an MTU).
MAX_SENDER_REPORTS = 40


def sender_report(ssrc: int, ntp: int, rtp_timestamp: int, packets: int, octets: int) -> bytes:
    """A sender report (PT 200, RFC 3550 6.4.1) without report blocks."""
    info = _SENDER_INFO.pack(
        ntp & 0xFFFFFFFFFFFFFFFF,
        rtp_timestamp & 0xFFFFFFFF,
        packets & 0xFFFFFFFF,
        octets & 0xFFFFFFFF,
    )
    return _HEADER.pack(0x80, PT_SR, 6) + _SSRC.pack(ssrc & 0xFFFFFFFF) + info


def sdes_cname(ssrc: int, cname: str) -> bytes:
    """An SDES packet (PT 202) with one chunk: ``ssrc``'s CNAME (at most 255 bytes)."""
    name = cname.encode()[:255]
    chunk = _SSRC.pack(ssrc & 0xFFFFFFFF) + bytes((1, len(name))) + name
    chunk += bytes(4 - len(chunk) % 4)  # the item list ends with a zero byte, padded to 32 bits
    return _HEADER.pack(0x81, PT_SDES, len(chunk) // 4) + chunk


def pli(sender_ssrc: int, media_ssrc: int) -> bytes:
    """A picture loss indication (PSFB fmt 1): please send a keyframe."""
    ssrcs = _TWO_SSRC.pack(sender_ssrc & 0xFFFFFFFF, media_ssrc & 0xFFFFFFFF)
    return _HEADER.pack(0x80 | FMT_PLI, PT_PSFB, 2) + ssrcs


def remb(sender_ssrc: int, bitrate: int, media_ssrcs: Sequence[int]) -> bytes:
    """A receiver estimated maximum bitrate (PSFB fmt 15, "REMB") for ``media_ssrcs``.

    The bitrate is sent as an 18-bit mantissa and 6-bit exponent, rounded
    down; at most 255 SSRCs fit.
    """
    mantissa = max(0, bitrate)
    exponent = 0
    while mantissa > 0x3FFFF and exponent < 63:
        mantissa >>= 1
        exponent += 1
    mantissa = min(mantissa, 0x3FFFF)
    targets = list(media_ssrcs)[:255]
    body = struct.pack(
        f"!II4sBBH{len(targets)}I",
        sender_ssrc & 0xFFFFFFFF,
        0,  # media source is unused in REMB (RFC 4585 ALFB)
        b"REMB",
        len(targets),
        (exponent << 2) | (mantissa >> 16),
        mantissa & 0xFFFF,
        *(ssrc & 0xFFFFFFFF for ssrc in targets),
    )
    return _HEADER.pack(0x80 | FMT_ALFB, PT_PSFB, len(body) // 4) + body


def layers_wanted(sender_ssrc: int, media_ssrc: int, layers: Iterable[int]) -> bytes:
    """Which simulcast layers of a relayed track the receiving node wants
    (application-layer feedback, PSFB fmt 15, identifier "LAYR"; our own,
    between nodes only: :mod:`sfu.relay_tracks`). ``media_ssrc`` is the
    track's lowest layer; ``layers`` are indexes below 8, sent as a bit mask."""
    mask = 0
    for index in layers:
        if 0 <= index < 8:
            mask |= 1 << index
    body = _TWO_SSRC.pack(sender_ssrc & 0xFFFFFFFF, media_ssrc & 0xFFFFFFFF)
    body += b"LAYR" + bytes((mask, 0, 0, 0))
    return _HEADER.pack(0x80 | FMT_ALFB, PT_PSFB, len(body) // 4) + body


# -- reading --------------------------------------------------------------------


def _blocks(data: bytes, pos: int, count: int) -> tuple[ReportBlock, ...]:
    blocks: list[ReportBlock] = []
    for _ in range(count):
        ssrc, lost_word, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, pos)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        blocks.append(ReportBlock(ssrc, lost_word >> 24, lost, highest, jitter, lsr, dlsr))
        pos += _BLOCK.size
    return tuple(blocks)


def _nack_lost(data: bytes, pos: int, end: int) -> tuple[int, ...]:
    lost: list[int] = []
    while pos + 4 <= end:
        pid, blp = _NACK_ITEM.unpack_from(data, pos)
        lost.append(pid)
        for bit in range(16):
            if blp >> bit & 1:
                lost.append((pid + bit + 1) & 0xFFFF)
        pos += 4
    return tuple(lost)


def _application(data: bytes, pos: int, end: int, sender: int, media: int) -> Feedback | None:
    """Application-layer feedback: REMB, or a relay's LAYR; others are not ours to read."""
    if end - pos >= 8 and data[pos : pos + 4] == b"LAYR":
        mask = data[pos + 4]
        return Feedback("layers", sender, media, layers=tuple(i for i in range(8) if mask >> i & 1))
    return _remb(data, pos, end, sender)


def _remb(data: bytes, pos: int, end: int, sender: int) -> Feedback | None:
    if end - pos < 8 or data[pos : pos + 4] != b"REMB":
        return None
    count = data[pos + 4]
    exponent = data[pos + 5] >> 2
    mantissa = ((data[pos + 5] & 0x03) << 16) | (data[pos + 6] << 8) | data[pos + 7]
    if pos + 8 + 4 * count > end:
        raise ValueError("REMB lists more SSRCs than it holds")
    ssrcs = struct.unpack_from(f"!{count}I", data, pos + 8)
    return Feedback("remb", sender, bitrate=mantissa << exponent, ssrcs=ssrcs)


def _one(
    data: bytes, start: int, end: int, packet_end: int, count: int, ptype: int
) -> Feedback | None:
    """Read one packet whose payload (after the 4-byte header) is ``[start, end)``.

    ``packet_end`` is where the packet ends including any padding.

    Raises ``ValueError``/``struct.error`` when the payload is too short for
    what it claims to hold; returns None for types that need no action.
    """
    if ptype == PT_RR:
        if start + 4 + 24 * count > end:
            raise ValueError("receiver report shorter than its blocks")
        sender = _SSRC.unpack_from(data, start)[0]
        return Feedback("rr", sender, reports=_blocks(data, start + 4, count))
    if ptype == PT_SR:
        if start + 24 + 24 * count > end:
            raise ValueError("sender report shorter than its blocks")
        sender = _SSRC.unpack_from(data, start)[0]
        ntp, rtp_ts, packets, octets = _SENDER_INFO.unpack_from(data, start + 4)
        reports = _blocks(data, start + 24, count)
        return Feedback(
            "sr",
            sender,
            reports=reports,
            ntp=ntp,
            rtp_timestamp=rtp_ts,
            packet_count=packets,
            octet_count=octets,
        )
    if ptype not in (PT_RTPFB, PT_PSFB):
        return None
    if start + 8 > end:
        raise ValueError("feedback message shorter than its SSRCs")
    sender, media = _TWO_SSRC.unpack_from(data, start)
    if ptype == PT_RTPFB:
        if count == FMT_NACK:
            return Feedback("nack", sender, media, lost=_nack_lost(data, start + 8, end))
        if count == FMT_TRANSPORT_CC:
            return Feedback("transport_cc", sender, media, packet=data[start - 4 : packet_end])
        return None
    if count == FMT_PLI:
        return Feedback("pli", sender, media)
    if count == FMT_FIR:
        ssrcs = tuple(_SSRC.unpack_from(data, p)[0] for p in range(start + 8, end - 7, 8))
        return Feedback("fir", sender, media, ssrcs=ssrcs)
    if count == FMT_ALFB:
        return _application(data, start + 8, end, sender, media)
    return None


def parse_feedback(data: bytes) -> list[Feedback]:
    """The feedback in a decrypted compound RTCP packet, in order.

    Types we do not act on (SDES, BYE, APP, unknown feedback formats) are
    skipped. A malformed packet (bad version, length past the end, bad
    padding, a payload too short for its contents) ends the walk: what was
    read before it is returned. Never raises.
    """
    found: list[Feedback] = []
    pos = 0
    size = len(data)
    try:
        while pos + 4 <= size:
            first, ptype, words = _HEADER.unpack_from(data, pos)
            end = pos + 4 + 4 * words
            if first >> 6 != 2 or end > size:
                break
            payload_end = end
            if first & 0x20:  # padding: the last byte counts the padding bytes
                pad = data[end - 1]
                if pad == 0 or pad > 4 * words:
                    break
                payload_end -= pad
            item = _one(data, pos + 4, payload_end, end, first & 0x1F, ptype)
            if item is not None:
                found.append(item)
            pos = end
    except (ValueError, struct.error):
        pass
    return found
