"""TrackWriter: one track into one WebM file with PyAV, no decoding, no encoding.

Frames go in as ``av.Packet`` with timestamps in the RTP clock (1/90000 for
VP8, 1/48000 for Opus). The Matroska muxer is told to close a cluster every
second and to flush the file after every packet it writes, so a process that
is killed leaves a file that plays up to about its last second: the segment is
written with an unknown size up front, and only cues and the duration (added
by a clean close) are missing.
"""

from __future__ import annotations

import fractions
from pathlib import Path
from typing import Any

import av

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
AUDIO_TIME_BASE = fractions.Fraction(1, 48000)

#: Muxer options: clusters of at most one second, flushed as they close.
MUXER_OPTIONS = {"cluster_time_limit": "1000", "flush_packets": "1"}


class TrackWriter:
    """Writes VP8 (video) or Opus (audio) frames of one track to ``path``."""

    def __init__(self, path: Path, kind: str, width: int = 0, height: int = 0) -> None:
        self.path = path
        self.kind = kind
        self.frames = 0
        self.first_pts: int | None = None
        self.last_pts: int | None = None
        self.closed = False
        self.time_base = VIDEO_TIME_BASE if kind == "video" else AUDIO_TIME_BASE
        self._container: Any = av.open(
            str(path), "w", format="webm", container_options=dict(MUXER_OPTIONS)
        )
        if kind == "video":
            self._stream = self._container.add_mux_stream("vp8", width=width, height=height)
        else:
            # A (never used) encoder context, so the muxer gets a proper OpusHead
            # as CodecPrivate: WebM players need it; a bare mux stream has none.
            self._stream = self._container.add_stream("libopus", rate=48000, layout="stereo")
        self._stream.time_base = self.time_base

    def write(self, data: bytes, pts: int, keyframe: bool) -> bool:
        """Mux one frame at ``pts`` (in :attr:`time_base`); False if dropped
        because it would go back in time."""
        if self.closed or (self.last_pts is not None and pts <= self.last_pts):
            return False
        packet = av.Packet(data)
        packet.stream = self._stream
        packet.time_base = self.time_base
        packet.pts = packet.dts = pts
        packet.is_keyframe = keyframe
        self._container.mux(packet)
        if self.first_pts is None:
            self.first_pts = pts
        self.last_pts = pts
        self.frames += 1
        return True

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame written."""
        if self.first_pts is None or self.last_pts is None:
            return 0.0
        return float((self.last_pts - self.first_pts) * self.time_base)

    def close(self) -> None:
        """Finish the file (cues, duration); safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self._container.close()
