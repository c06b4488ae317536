"""The gallery composite: one MP4 (H.264 + AAC) from a recording's track files.

What it shows: the equal-view gallery of whoever was there at each moment, in
the order they appeared, each tile with the person's name; a person whose
camera was off (or who had none) is a grey tile with the name. What it plays:
every audio track mixed (numpy, float32, clipped). Paused time is cut out, so
the composite lasts the recording's ``duration``.

The grid comes from the caller's ``layout(count, width, height)`` (the server
passes ``conf_server.layout.best_grid``, the live gallery's own function):
this package does not import the layers above it.

A person is "there" from the first frame of any of their tracks to the last
one. The video of a person is the newest frame of their camera tracks at or
before the output frame's moment; older than :data:`STALE_SECONDS` of recorded
time means the camera is off. Screen shares get a tile of their own.
"""

from __future__ import annotations

import fractions
import math
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np

from .composite_media import (
    AUDIO_RATE,
    EMPTY_Y,
    AudioReader,
    Canvas,
    VideoReader,
    cover,
    label_mask,
)
from .library import is_regular_file

COMPOSITE_FILE = "composite.mp4"
STALE_SECONDS = 2.0
LINGER_SECONDS = 0.5  # a tile stays this long after a person's last frame

Progress = Callable[[float], None]


class Grid(Protocol):
    """What a layout function answers (``conf_server.layout.Grid`` fits)."""

    @property
    def cols(self) -> int: ...
    @property
    def rows(self) -> int: ...
    @property
    def tile_width(self) -> int: ...
    @property
    def tile_height(self) -> int: ...


Layout = Callable[[int, int, int], Grid]


@dataclass(frozen=True)
class CompositeOptions:
    width: int = 1280
    height: int = 720
    fps: int = 15
    preset: str = "superfast"
    crf: int = 26
    audio_bitrate: int = 128000
    gap: int = 8  # pixels between tiles (the layout function's own default)


@dataclass
class Tile:
    """One tile of the gallery: a person's camera (or a screen share)."""

    key: str
    name: str
    start: float
    end: float
    video: list[VideoReader] = field(default_factory=list)
    audio: list[AudioReader] = field(default_factory=list)
    shown: tuple[int, int, int, int] | None = None  # (reader, version, w, h) of ``image``
    image: tuple[Any, Any, Any] | None = None

    def there(self, t: float) -> bool:
        return self.start <= t < self.end + LINGER_SECONDS


@dataclass(frozen=True)
class CompositeResult:
    path: Path
    duration: float
    frames: int
    seconds: float  # wall time of the render


def segments(end: float, pauses: list[list[float]]) -> list[tuple[float, float]]:
    """The recorded stretches of the timeline ``[0, end]`` with ``pauses`` cut out."""
    out: list[tuple[float, float]] = []
    at = 0.0
    for start, stop in sorted((float(a), float(b)) for a, b in pauses):
        if start > at:
            out.append((at, min(start, end)))
        at = max(at, stop)
    if end > at:
        out.append((at, end))
    return [(a, b) for a, b in out if b > a]


def timeline_end(record: dict[str, Any]) -> float:
    """Where the timeline ends: the recording's stop, or its last frame."""
    ends = [
        (t.get("start") or 0.0) + (t.get("duration") or 0.0)
        for t in record.get("tracks", [])
        if t.get("start") is not None
    ]
    if record.get("ended_at") and record.get("started_at"):
        return float(record["ended_at"] - record["started_at"])
    return max(ends, default=0.0)


def plan_tiles(record: dict[str, Any], directory: Path) -> list[Tile]:
    """The tiles of a recording, in the order their people appeared."""
    names = {p.get("id"): p.get("name") for p in record.get("participants", [])}
    tiles: dict[str, Tile] = {}
    for track in sorted(record.get("tracks", []), key=lambda t: t.get("start") or 0.0):
        path = directory / str(track.get("name"))
        if track.get("start") is None or not track.get("frames") or not is_regular_file(path):
            continue
        owner = str(track.get("participant_id") or track["name"])
        screen = track.get("source") == "screen"
        key = f"{owner}/screen" if screen else owner
        name = names.get(owner) or "Guest"
        start = float(track["start"])
        end = start + float(track.get("duration") or 0.0)
        tile = tiles.get(key)
        if tile is None:
            label = f"{name} (screen)" if screen else name
            tile = tiles[key] = Tile(key, label, start, end)
        tile.start, tile.end = min(tile.start, start), max(tile.end, end)
        if track.get("kind") == "video":
            tile.video.append(VideoReader(path))
        else:
            tile.audio.append(AudioReader(path))
    return sorted(tiles.values(), key=lambda t: t.start)


def tile_positions(grid: Grid, count: int, options: CompositeOptions) -> list[tuple[int, int]]:
    """Top-left corners of ``count`` tiles, the grid centred, a short last row centred."""
    w, h, gap = grid.tile_width // 2 * 2, grid.tile_height // 2 * 2, options.gap
    top = (options.height - (grid.rows * h + (grid.rows - 1) * gap)) // 2
    out = []
    for index in range(count):
        row, col = divmod(index, grid.cols)
        in_row = min(grid.cols, count - row * grid.cols)
        left = (options.width - (in_row * w + (in_row - 1) * gap)) // 2
        out.append(((left + col * (w + gap)) // 2 * 2, (top + row * (h + gap)) // 2 * 2))
    return out


class Compositor:
    """Renders one recording directory's composite (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        record: dict[str, Any],
        layout: Layout,
        options: CompositeOptions | None = None,
    ) -> None:
        self.directory = directory
        self.record = record
        self.layout = layout
        self.options = options or CompositeOptions()
        self.segments = segments(timeline_end(record), record.get("pauses", []))
        self.canvas = Canvas(self.options.width, self.options.height)

    def _recorded_before(self, t: float) -> float:
        """Recorded (output) seconds before timeline moment ``t``."""
        return sum(max(0.0, min(b, t) - a) for a, b in self.segments)

    def _paint(self, tiles: list[Tile], t: float) -> None:
        canvas = self.canvas
        canvas.clear()
        present = [tile for tile in tiles if tile.there(t)]
        if not present:
            return
        grid = self.layout(len(present), self.options.width, self.options.height)
        w, h = grid.tile_width // 2 * 2, grid.tile_height // 2 * 2
        if w <= 0 or h <= 0:
            return
        now = self._recorded_before(t)
        corners = tile_positions(grid, len(present), self.options)
        for tile, (x, y) in zip(present, corners, strict=True):
            for reader in tile.video:
                reader.advance(t)
            fresh = [
                (i, r)
                for i, r in enumerate(tile.video)
                if r.current_time is not None
                and now - self._recorded_before(r.current_time) < STALE_SECONDS
            ]
            if fresh:
                index, reader = max(fresh, key=lambda ir: ir[1].current_time or 0.0)
                shown = (index, reader.version, w, h)
                if tile.shown != shown or tile.image is None:
                    tile.image, tile.shown = cover(reader.current, w, h), shown
                canvas.paste(x, y, tile.image)
            else:
                canvas.fill(x, y, w, h, EMPTY_Y)
            mask = label_mask(tile.name, h)
            margin = max(4, h // 40) // 2 * 2
            canvas.label(x + margin, y + h - margin - mask.shape[0] // 2 * 2, mask)

    def _mix(self, tiles: list[Tile], start: int, count: int, end: int) -> np.ndarray[Any, Any]:
        """``count`` samples from ``start``, none from ``end`` on (a pause starts there)."""
        mix = np.zeros(count, dtype=np.float32)
        inside = max(0, min(count, end - start))
        for tile in tiles:
            for reader in tile.audio:
                mix[:inside] += reader.read(start, inside)
        np.clip(mix, -1.0, 1.0, out=mix)
        return np.stack([mix, mix])

    def render(self, output: Path, progress: Progress | None = None) -> CompositeResult:
        """Write the composite to ``output`` (through a hidden temporary file)."""
        began = time.monotonic()
        options = self.options
        fps = options.fps
        total = sum(math.ceil((b - a) * fps) for a, b in self.segments)
        # A name of its own: no other render can write into this file.
        tmp = output.with_name(f".{output.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        tiles = plan_tiles(self.record, self.directory)
        container: Any = av.open(
            str(tmp), "w", format="mp4", container_options={"movflags": "+faststart"}
        )
        frames = 0
        try:
            video = container.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = options.width, options.height, "yuv420p"
            video.options = {"preset": options.preset, "crf": str(options.crf)}
            audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
            audio.bit_rate = options.audio_bitrate
            video_tb, audio_tb = fractions.Fraction(1, fps), fractions.Fraction(1, AUDIO_RATE)
            for a, b in self.segments:
                for k in range(math.ceil((b - a) * fps)):
                    t = a + k / fps
                    self._paint(tiles, t)
                    frame = av.VideoFrame.from_ndarray(self.canvas.data, format="yuv420p")
                    frame.pts, frame.time_base = frames, video_tb
                    container.mux(video.encode(frame))
                    first = round(frames * AUDIO_RATE / fps)
                    count = round((frames + 1) * AUDIO_RATE / fps) - first
                    sound = av.AudioFrame.from_ndarray(
                        self._mix(tiles, round(t * AUDIO_RATE), count, round(b * AUDIO_RATE)),
                        format="fltp",
                        layout="stereo",
                    )
                    sound.sample_rate, sound.pts, sound.time_base = AUDIO_RATE, first, audio_tb
                    container.mux(audio.encode(sound))
                    frames += 1
                    if progress is not None and frames % fps == 0 and total:
                        progress(min(0.99, frames / total))
            container.mux(video.encode(None))
            container.mux(audio.encode(None))
            container.close()
        except BaseException:
            container.close()
            tmp.unlink(missing_ok=True)
            raise
        finally:
            for tile in tiles:
                for video_reader in tile.video:
                    video_reader.close()
                for audio_reader in tile.audio:
                    audio_reader.close()
        os.replace(tmp, output)
        if progress is not None:
            progress(1.0)
        return CompositeResult(output, frames / fps, frames, time.monotonic() - began)


def render_composite(
    directory: Path,
    record: dict[str, Any],
    layout: Layout,
    options: CompositeOptions | None = None,
    progress: Progress | None = None,
) -> CompositeResult:
    """Render ``directory``'s composite to ``directory / COMPOSITE_FILE``."""
    compositor = Compositor(directory, record, layout, options)
    return compositor.render(directory / COMPOSITE_FILE, progress)
