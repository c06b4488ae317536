"""VP8 frames from RTP packets (RFC 7741), without decoding anything.

Packets of one frame share an RTP timestamp, arrive with consecutive sequence
numbers, the first has the S bit with partition 0, the last has the marker
bit. A frame with a missing packet is dropped, and so is everything after it
until the next keyframe (delta frames would reference what was lost).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Vp8Frame:
    timestamp: int
    data: bytes
    keyframe: bool


def descriptor_length(payload: bytes) -> int:
    """Length of the VP8 payload descriptor at the start of ``payload``.

    Raises ``ValueError`` if the packet is too short to hold it.
    """
    if not payload:
        raise ValueError("empty VP8 payload")
    pos = 1
    if payload[0] & 0x80:  # X: extension byte follows
        if len(payload) < 2:
            raise ValueError("truncated VP8 descriptor")
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= pos:
                raise ValueError("truncated VP8 picture id")
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    if pos >= len(payload):
        raise ValueError("VP8 packet without payload")
    return pos


def keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header, or None."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return width, height


class Vp8Assembler:
    """Turns the RTP packets of one VP8 stream, in arrival order, into frames."""

    def __init__(self) -> None:
        self.need_keyframe = True
        self.frames_dropped = 0
        self._parts: list[bytes] = []
        self._timestamp: int | None = None
        self._next_seq: int | None = None

    def wait_for_keyframe(self) -> None:
        """Write nothing until the next keyframe (after a pause, say)."""
        self.need_keyframe = True
        self._parts = []
        self._timestamp = None

    def push(self, seq: int, timestamp: int, marker: bool, payload: bytes) -> Vp8Frame | None:
        """Add one packet; returns the frame it completes, if any.

        ``lost`` is reported through :attr:`need_keyframe` turning true.
        """
        if self._next_seq is not None and seq != self._next_seq:
            # A gap (loss, or reordering we do not repair): the frame in
            # progress is incomplete and later delta frames are useless.
            if self._parts:
                self.frames_dropped += 1
            self.wait_for_keyframe()
        self._next_seq = (seq + 1) & 0xFFFF
        try:
            offset = descriptor_length(payload)
        except ValueError:
            self.wait_for_keyframe()
            return None
        if payload[0] & 0x10 and not payload[0] & 0x07:  # S bit, partition 0
            if self._parts:
                self.frames_dropped += 1  # the previous frame never ended
            self._parts = [payload[offset:]]
            self._timestamp = timestamp
        elif self._parts and timestamp == self._timestamp:
            self._parts.append(payload[offset:])
        else:
            return None  # the middle of a frame whose start we did not see
        if not marker:
            return None
        data = b"".join(self._parts)
        self._parts = []
        keyframe = not data[0] & 0x01
        if self.need_keyframe and not keyframe:
            self.frames_dropped += 1
            return None
        self.need_keyframe = False
        return Vp8Frame(timestamp, data, keyframe)
