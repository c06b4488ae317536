"""Readers and painters for the composite: decoded frames from the per-track
WebM files, tiles and name labels painted into a yuv420p canvas with numpy.

Everything here works on the recording's one timeline (seconds since the
recording started), the time base every track file was written in.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

AUDIO_RATE = 48000
BLACK_Y = 16
EMPTY_Y = 40  # a tile without video: dark grey, so it shows against the background

Array = np.ndarray[Any, Any]


class VideoReader:
    """The frames of one video track in order; :meth:`advance` moves to a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: Any = None  # the av.VideoFrame shown now
        self.current_time: float | None = None
        self.version = 0  # bumped whenever ``current`` changes
        self._container: Any = None
        self._frames: Iterator[Any] | None = None
        self._next: Any = None
        try:
            self._container = av.open(str(path))
            self._frames = self._container.decode(video=0)
        except (av.FFmpegError, OSError, IndexError):
            logger.warning("cannot read %s; its video is left out", path.name)
            self._frames = None
        self._pull()

    def _pull(self) -> None:
        self._next = None
        if self._frames is None:
            return
        try:
            while self._next is None or self._next.time is None:
                self._next = next(self._frames)
        except StopIteration:
            self._next = None
            self._frames = None
        except av.FFmpegError:  # a file cut short by a killed process: stop there
            logger.warning("%s ends with damaged data; read up to there", self.path.name)
            self._next = None
            self._frames = None

    def advance(self, time: float) -> None:
        """Make ``current`` the last frame at or before ``time``."""
        while self._next is not None and float(self._next.time) <= time:
            self.current, self.current_time = self._next, float(self._next.time)
            self.version += 1
            self._pull()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()


class AudioReader:
    """The samples of one audio track (mono float32, 48 kHz) by timeline position.

    Decoded frames are kept as chunks with their place on the timeline, so a
    long gap (a muted microphone, say) costs nothing: silence is made only for
    what is read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._chunks: deque[tuple[int, Array]] = deque()  # (timeline sample, samples)
        self._end = 0  # timeline sample just after the last chunk
        self._container: Any = None
        self._frames: Iterator[Any] | None = None
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
        try:
            self._container = av.open(str(path))
            self._frames = self._container.decode(audio=0)
        except (av.FFmpegError, OSError, IndexError):
            logger.warning("cannot read %s; its audio is left out", path.name)

    def _decode_one(self) -> bool:
        if self._frames is None:
            return False
        try:
            frame = next(self._frames)
        except (StopIteration, av.FFmpegError):
            self._frames = None
            return False
        if frame.time is None:
            return True
        chunks = [r.to_ndarray().reshape(-1) for r in self._resampler.resample(frame)]
        if not chunks:
            return True
        data = np.concatenate(chunks).astype(np.float32, copy=False)
        at = round(float(frame.time) * AUDIO_RATE)
        if self._chunks and abs(at - self._end) <= AUDIO_RATE // 1000:
            at = self._end  # contiguous: timestamps jitter by a sample or so
        self._chunks.append((at, data))
        self._end = at + data.size
        return True

    def read(self, start: int, count: int) -> Array:
        """Samples ``[start, start + count)`` of the timeline; silence where
        there are none. Reads go forward: what lies before ``start`` is dropped."""
        stop = start + count
        while (not self._chunks or self._end < stop) and self._decode_one():
            pass
        out = np.zeros(count, dtype=np.float32)
        for at, data in self._chunks:
            if at >= stop:
                break
            lo, hi = max(start, at), min(stop, at + data.size)
            if hi > lo:
                out[lo - start : hi - start] = data[lo - at : hi - at]
        while self._chunks and self._chunks[0][0] + self._chunks[0][1].size <= stop:
            self._chunks.popleft()
        return out

    def close(self) -> None:
        if self._container is not None:
            self._container.close()


class Canvas:
    """One yuv420p output frame as a packed array, with views of its planes."""

    def __init__(self, width: int, height: int) -> None:
        if width % 4 or height % 4:
            raise ValueError("the composite's width and height must be multiples of 4")
        self.width, self.height = width, height
        self.data: Array = np.empty((height * 3 // 2, width), dtype=np.uint8)
        self.y = self.data[:height]
        self.u = self.data[height : height + height // 4].reshape(height // 2, width // 2)
        self.v = self.data[height + height // 4 :].reshape(height // 2, width // 2)

    def clear(self) -> None:
        self.y[:] = BLACK_Y
        self.u[:] = 128
        self.v[:] = 128

    def fill(self, x: int, y: int, w: int, h: int, luma: int) -> None:
        self.y[y : y + h, x : x + w] = luma
        self.u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = 128
        self.v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = 128

    def paste(self, x: int, y: int, tile: tuple[Array, Array, Array]) -> None:
        """Put a tile (its Y, U, V planes; even sizes) with its corner at ``x, y`` (even)."""
        ty, tu, tv = tile
        h, w = ty.shape
        self.y[y : y + h, x : x + w] = ty
        self.u[y // 2 : y // 2 + h // 2, x // 2 : x // 2 + w // 2] = tu
        self.v[y // 2 : y // 2 + h // 2, x // 2 : x // 2 + w // 2] = tv

    def label(self, x: int, y: int, mask: Array) -> None:
        """White text (``mask``: 0..1 coverage) on a darkened box at ``x, y``."""
        h, w = mask.shape
        h, w = min(h, self.height - y) // 2 * 2, min(w, self.width - x) // 2 * 2
        if h <= 0 or w <= 0:
            return
        m = mask[:h, :w]
        region = self.y[y : y + h, x : x + w].astype(np.float32) * 0.35
        self.y[y : y + h, x : x + w] = (region * (1 - m) + 235 * m).astype(np.uint8)
        self.u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = 128
        self.v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = 128


def cover(frame: Any, width: int, height: int) -> tuple[Array, Array, Array]:
    """``frame`` scaled to fill ``width`` x ``height`` (even), cropped at the
    centre, as Y, U, V planes: what the live gallery's ``object-fit: cover`` shows."""
    scale = max(width / frame.width, height / frame.height)
    # Multiples of 4, so the packed array holds whole rows of the chroma planes.
    sw = -(-max(width, round(frame.width * scale)) // 4) * 4
    sh = -(-max(height, round(frame.height * scale)) // 4) * 4
    scaled = frame.reformat(width=sw, height=sh, format="yuv420p", interpolation="BILINEAR")
    packed = scaled.to_ndarray()
    y = packed[:sh]
    u = packed[sh : sh + sh // 4].reshape(sh // 2, sw // 2)
    v = packed[sh + sh // 4 :].reshape(sh // 2, sw // 2)
    cx, cy = (sw - width) // 4 * 2, (sh - height) // 4 * 2
    return (
        y[cy : cy + height, cx : cx + width],
        u[cy // 2 : (cy + height) // 2, cx // 2 : (cx + width) // 2],
        v[cy // 2 : (cy + height) // 2, cx // 2 : (cx + width) // 2],
    )


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans when the system has it (it covers most scripts), else
    Pillow's built-in font."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


@lru_cache(maxsize=256)
def label_mask(text: str, tile_height: int) -> Array:
    """The name label for a tile ``tile_height`` high: coverage 0..1 of white
    text, with its padding; the box is the whole array."""
    size = max(10, tile_height // 16)
    font = _font(size)
    left, top, right, bottom = font.getbbox(text)
    pad = max(3, size // 3)
    width = min(int(right - left) + 2 * pad, 4096)
    height = int(bottom - top) + 2 * pad
    image = Image.new("L", ((width + 1) // 2 * 2, (height + 1) // 2 * 2), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, fill=255, font=font)
    return np.asarray(image, dtype=np.float32) / 255.0
