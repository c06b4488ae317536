"""Byte-level RTP helpers for the forwarding hot path.

Nothing here decodes media or builds aiortc ``RtpPacket`` objects: a packet is
parsed only as far as the fixed header, the header-extension block and the
first payload bytes (enough to spot a VP8 keyframe), and rewritten by packing a
new 12-byte header in front of the untouched payload.
"""

from __future__ import annotations

import struct
import time

_HEADER = struct.Struct("!BBHII")
_NTP_EPOCH_OFFSET = 2208988800

ONE_BYTE_PROFILE = 0xBEDE
#: The highest extension id the one-byte form can carry (15 is reserved).
MAX_ONE_BYTE_ID = 14


class RtpView:
    """The parts of one received RTP packet that forwarding needs."""

    __slots__ = (
        "abs_send_time",
        "audio_level",
        "data",
        "keyframe",
        "marker",
        "ntp",
        "padding",
        "padding_only",
        "payload",
        "payload_offset",
        "payload_type",
        "sequence_number",
        "ssrc",
        "timestamp",
    )

    def __init__(self, data: bytes, payload_offset: int) -> None:
        b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
        self.data = data
        self.payload_offset = payload_offset
        self.padding = b0 & 0x20
        #: The padding (RFC 3550 5.1) takes the whole payload: a bandwidth
        #: probe, nothing to decode or forward. Found once here, where the
        #: packet's first check (the padding bit) is cheapest.
        self.padding_only: bool = bool(self.padding) and payload_offset + data[-1] >= len(data)
        self.marker = b1 & 0x80
        self.payload_type = b1 & 0x7F
        self.sequence_number: int = seq
        self.timestamp: int = ts
        self.ssrc: int = ssrc
        self.audio_level: int | None = None
        self.keyframe = False
        # Filled once per packet by the producer, shared by all its consumers.
        self.payload = b""
        self.ntp = 0
        self.abs_send_time = b""

    def stamp(self) -> None:
        """Fill the values every consumer needs: payload bytes and send times."""
        self.payload = self.data[self.payload_offset :]
        now = time.time() + _NTP_EPOCH_OFFSET
        self.ntp = int(now * (1 << 32)) & 0xFFFFFFFFFFFFFFFF
        self.abs_send_time = (int(now * (1 << 18)) & 0xFFFFFF).to_bytes(3, "big")


def ntp_now() -> int:
    """The wallclock time now as a 64-bit NTP timestamp (RFC 3550 4)."""
    return int((time.time() + _NTP_EPOCH_OFFSET) * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


def header_extensions(data: bytes) -> tuple[int, int, int]:
    """Return ``(profile, start, end)`` of the extension elements, or ``(0, 0, 0)``."""
    b0 = data[0]
    if not b0 & 0x10:
        return 0, 0, 0
    offset = 12 + 4 * (b0 & 0x0F)
    if len(data) < offset + 4:
        raise ValueError("truncated RTP header extension")
    profile = (data[offset] << 8) | data[offset + 1]
    length = 4 * ((data[offset + 2] << 8) | data[offset + 3])
    start = offset + 4
    end = start + length
    if end > len(data):
        raise ValueError("RTP header extension longer than packet")
    return profile, start, end


def parse(data: bytes) -> RtpView:
    """Parse the header of one RTP packet; raises ``ValueError`` on garbage."""
    if len(data) < 12 or data[0] >> 6 != 2:
        raise ValueError("not an RTP packet")
    _profile, _start, end = header_extensions(data)
    offset = end or 12 + 4 * (data[0] & 0x0F)
    if offset > len(data):
        raise ValueError("RTP header longer than packet")
    return RtpView(data, offset)


def find_extension(data: bytes, ext_id: int) -> bytes | None:
    """Value of header extension ``ext_id`` (one- or two-byte form), or None."""
    profile, pos, end = header_extensions(data)
    if not profile:
        return None
    if profile == ONE_BYTE_PROFILE:
        while pos < end:
            b = data[pos]
            if b == 0:  # padding
                pos += 1
                continue
            eid, length = b >> 4, (b & 0x0F) + 1
            if eid == 15:
                break
            if eid == ext_id:
                return data[pos + 1 : pos + 1 + length]
            pos += 1 + length
    elif profile & 0xFFF0 == 0x1000:
        while pos + 1 < end:
            eid = data[pos]
            if eid == 0:
                pos += 1
                continue
            length = data[pos + 1]
            if eid == ext_id:
                return data[pos + 2 : pos + 2 + length]
            pos += 2 + length
    return None


def _vp8_frame_start(data: bytes, payload_offset: int) -> int:
    """Offset of the VP8 payload header if the packet starts a frame, else -1."""
    pos = payload_offset
    if len(data) <= pos:
        return -1
    desc = data[pos]
    # S bit set and partition index 0: start of a frame.
    if not desc & 0x10 or desc & 0x07:
        return -1
    pos += 1
    if desc & 0x80:  # X: extended control bits follow
        if len(data) <= pos:
            return -1
        ext = data[pos]
        pos += 1
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if len(data) <= pos:
                return -1
            pos += 2 if data[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/KEYIDX byte
            pos += 1
    return pos if pos < len(data) else -1


def is_vp8_keyframe_start(data: bytes, payload_offset: int) -> bool:
    """True if the packet carries the first bytes of a VP8 keyframe (RFC 7741)."""
    pos = _vp8_frame_start(data, payload_offset)
    # VP8 payload header: P bit (inverse keyframe flag) is the lowest bit.
    return pos >= 0 and not data[pos] & 0x01


def vp8_keyframe_size(data: bytes, payload_offset: int) -> tuple[int, int] | None:
    """``(width, height)`` a VP8 keyframe's first packet announces (RFC 6386
    9.1: a 3-byte frame tag, the start code 9d 01 2a, then 14-bit sizes)."""
    pos = _vp8_frame_start(data, payload_offset)
    if pos < 0 or data[pos] & 0x01 or len(data) < pos + 10:
        return None
    if data[pos + 3 : pos + 6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[pos + 6 : pos + 8], "little") & 0x3FFF
    height = int.from_bytes(data[pos + 8 : pos + 10], "little") & 0x3FFF
    return width, height


_SR = struct.Struct("!IQI")


def sender_reports(data: bytes) -> list[tuple[int, int, int]]:
    """``(ssrc, ntp, rtp_timestamp)`` of every sender report in a compound RTCP
    packet (decrypted); other packet types are skipped, garbage yields []."""
    reports: list[tuple[int, int, int]] = []
    pos = 0
    while pos + 4 <= len(data):
        if data[pos] >> 6 != 2:
            break
        length = 4 * (((data[pos + 2] << 8) | data[pos + 3]) + 1)
        if data[pos + 1] == 200 and pos + 4 + _SR.size <= len(data):
            reports.append(_SR.unpack_from(data, pos + 4))
        pos += length
    return reports


def unwrap_rtx(view: RtpView, payload_type: int, ssrc: int) -> RtpView | None:
    """The packet an RTX packet (RFC 4588) carries: the original sequence number
    from the first two payload bytes, the media stream's payload type and SSRC,
    header extensions kept, padding dropped. None for padding-only RTX (probes)."""
    data = view.data
    end = len(data) - (data[-1] if view.padding else 0)
    start = view.payload_offset
    if end - start < 3:
        return None
    header = _HEADER.pack(
        data[0] & ~0x20, (data[1] & 0x80) | payload_type, (data[start] << 8) | data[start + 1],
        view.timestamp, ssrc,
    )  # fmt: skip
    unwrapped = header + data[12:start] + data[start + 2 : end]
    return RtpView(unwrapped, start)


def rewrite(
    view: RtpView,
    payload_type: int,
    sequence_number: int,
    timestamp: int,
    ssrc: int,
    extensions: bytes,
) -> bytes:
    """A copy of the packet with new header fields and extension block (CSRCs dropped).

    ``view.stamp()`` must have been called (it slices the payload once).
    """
    b0 = 0x80 | view.padding | (0x10 if extensions else 0)
    header = _HEADER.pack(b0, view.marker | payload_type, sequence_number, timestamp, ssrc)
    return header + extensions + view.payload


class ExtensionTemplate:
    """A one-byte extension block with a constant part and at most one varying value.

    Built once per send slot; per packet only ``prefix + value + suffix`` is joined.
    """

    __slots__ = ("plain", "prefix", "suffix")

    def __init__(self, constant: list[tuple[int, bytes]], variable: tuple[int, int] | None) -> None:
        self.plain = one_byte_extensions(constant)
        if variable is None:
            self.prefix, self.suffix = self.plain, b""
            return
        ext_id, length = variable
        body = b"".join(bytes([(i << 4) | (len(v) - 1)]) + v for i, v in constant)
        body += bytes([(ext_id << 4) | (length - 1)])
        padding = -(len(body) + length) % 4
        words = (len(body) + length + padding) // 4
        self.prefix = struct.pack("!HH", ONE_BYTE_PROFILE, words) + body
        self.suffix = b"\x00" * padding

    def build(self, value: bytes | None) -> bytes:
        return self.plain if value is None else self.prefix + value + self.suffix


#: The one-byte values of the audio-level extension, made once.
LEVEL_BYTES = [bytes([level]) for level in range(128)]


def one_byte_extensions(elements: list[tuple[int, bytes]]) -> bytes:
    """Pack ``(id, value)`` pairs as an RFC 8285 one-byte extension block."""
    if not elements:
        return b""
    body = b"".join(bytes([(eid << 4) | (len(value) - 1)]) + value for eid, value in elements)
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("!HH", ONE_BYTE_PROFILE, len(body) // 4) + body
