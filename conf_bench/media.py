"""Pre-encoded benchmark media, encoded once per machine and replayed without encoding.

The load generators must cost less than the SFU they load, so they never
encode: ``prepared_media`` encodes 10 s of 640x480 VP8 (about 1 Mbit/s, a
keyframe every second) and 10 s of Opus once, caches the packets, and
``ReplayTrack`` hands them to aiortc as ``av.Packet`` objects, which aiortc only
packetizes. ``prepared_layers`` does the same for a simulcast camera: three
sizes of the same picture (see conf_bench.layered_publisher, which sends them).
"""

from __future__ import annotations

import asyncio
import fractions
import hashlib
import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import av
import numpy as np
from aiortc import MediaStreamTrack

#: Where conf-bench keeps the encoded media (the tests keep theirs in
#: pytest's cache, tests/conftest.py).
DEFAULT_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "conf-bench"
#: The cached files are named by this module's source: media encoded by other
#: code (other sizes, bitrates, patterns) is never taken for this code's.
SOURCE_KEY = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
CACHE_NAME = f"bench-media-{SOURCE_KEY}.pickle"
WIDTH, HEIGHT, FPS = 640, 480, 30
VIDEO_BITRATE = 1_000_000
SECONDS = 10
AUDIO_RATE = 48000
AUDIO_FRAME = 960  # 20 ms


@dataclass(frozen=True)
class EncodedStream:
    """Packets of one stream: payloads, presentation times and keyframe flags."""

    kind: str
    payloads: list[bytes]
    pts: list[int]
    keyframes: list[bool]
    time_base: fractions.Fraction
    frame_duration: int


@dataclass(frozen=True)
class PreparedMedia:
    video: EncodedStream
    audio: EncodedStream


def _video_frames(
    width: int, height: int, seconds: int, cell: float = 1.0, noise: int = 6
) -> list[av.VideoFrame]:
    """A moving pattern with some texture, so the encoder spends real bits.

    ``cell`` scales the pattern (pixels per pattern step), so the layers of a
    simulcast camera show the same picture at each size; ``noise`` is the
    amplitude of per-pixel noise.
    """
    yy, xx = np.mgrid[0:height, 0:width]
    xx, yy = (xx / cell).astype(np.int64), (yy / cell).astype(np.int64)
    frames = []
    for i in range(FPS * seconds):
        y = ((xx + 4 * i) ^ (yy + 2 * i)) % 256
        grain = np.random.default_rng(i).integers(0, noise, size=(height, width))
        plane_y = ((y + grain) % 256).astype(np.uint8)
        uv = np.full((height // 4, width), 128 + int(40 * math.sin(i / 15)), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(np.concatenate([plane_y, uv, uv]), format="yuv420p")
        frame.pts = i
        frames.append(frame)
    return frames


def _encode_video(
    width: int = WIDTH,
    height: int = HEIGHT,
    bitrate: int = VIDEO_BITRATE,
    gop: int = FPS,
    seconds: int = SECONDS,
    cell: float = 1.0,
    noise: int = 6,
) -> EncodedStream:
    """``seconds`` of VP8 at ``FPS``, a keyframe every ``gop`` frames."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.bit_rate = bitrate
    codec.gop_size = gop
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "end-usage": "cbr",
    }
    payloads, pts, keyframes = [], [], []
    for frame in [*_video_frames(width, height, seconds, cell, noise), None]:
        for packet in codec.encode(frame):
            payloads.append(bytes(packet))
            pts.append(int(packet.pts or 0))
            keyframes.append(bool(packet.is_keyframe))
    return EncodedStream("video", payloads, pts, keyframes, fractions.Fraction(1, FPS), 1)


def _encode_audio() -> EncodedStream:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = AUDIO_RATE
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = 32000
    payloads, pts, keyframes = [], [], []
    for i in range(AUDIO_RATE * SECONDS // AUDIO_FRAME):
        t = (np.arange(AUDIO_FRAME) + i * AUDIO_FRAME) / AUDIO_RATE
        tone = (0.3 * 32767 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = AUDIO_RATE
        frame.pts = i * AUDIO_FRAME
        for packet in codec.encode(frame):
            payloads.append(bytes(packet))
            pts.append(int(packet.pts or 0))
            keyframes.append(True)
    return EncodedStream(
        "audio", payloads, pts, keyframes, fractions.Fraction(1, AUDIO_RATE), AUDIO_FRAME
    )


def prepared_media(cache_dir: Path) -> PreparedMedia:
    """The benchmark media, from the cache or encoded now (once) and cached."""
    return _cached(
        cache_dir / CACHE_NAME,
        lambda: PreparedMedia(video=_encode_video(), audio=_encode_audio()),
    )


T = TypeVar("T")


def _cached(path: Path, make: Callable[[], T]) -> T:
    """What ``make()`` returns, kept in ``path`` as a pickle: read back when it
    is there, else made now and written. The file appears whole or not at all
    (written under this process's own name, then renamed), so runs on one
    machine at the same time never read another's half-written file."""
    if path.is_file():
        try:
            with open(path, "rb") as fh:
                kept: T = pickle.load(fh)
                return kept
        except Exception:  # a damaged file (whatever pickle raises for it): made anew
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    made = make()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(made, fh)
    tmp.replace(path)
    return made


SIMULCAST_CACHE_NAME = f"bench-simulcast-{SOURCE_KEY}.pickle"
#: A keyframe every 2 s in each layer (what browsers do between PLIs is longer;
#: the SFU asks for one whenever a subscriber needs it).
SIMULCAST_GOP = 2 * FPS
#: A shorter loop than the single-stream media: 1280x720 costs seconds of CPU
#: per second to encode, and the benchmark needs no more than two keyframes.
SIMULCAST_SECONDS = 4


@dataclass(frozen=True)
class LayerSpec:
    """One simulcast layer of the benchmark camera (the browser client's ladder)."""

    rid: str
    width: int
    height: int
    bitrate: int


#: Lowest first, as a browser offers them: 1/4, 1/2 and full 1280x720, at the
#: ``max_bitrate`` of sfu.settings.DEFAULT_SIMULCAST_LAYERS.
SIMULCAST_LAYERS = (
    LayerSpec("q", 320, 180, 150_000),
    LayerSpec("h", 640, 360, 500_000),
    LayerSpec("f", 1280, 720, 1_200_000),
)


@dataclass(frozen=True)
class LayeredVideo:
    """The same few seconds of camera encoded once per simulcast layer, lowest first."""

    specs: tuple[LayerSpec, ...]
    streams: tuple[EncodedStream, ...]


def prepared_layers(cache_dir: Path) -> LayeredVideo:
    """The simulcast camera, from the cache or encoded now (once, a few seconds) and cached."""
    return _cached(cache_dir / SIMULCAST_CACHE_NAME, _encode_layers)


def _encode_layers() -> LayeredVideo:
    streams = tuple(
        # A coarser pattern and less grain than the 640x480 media: otherwise
        # libvpx overshoots the layer bitrates (3.6 Mbit/s at 720p instead of 1.2).
        _encode_video(
            spec.width,
            spec.height,
            spec.bitrate,
            SIMULCAST_GOP,
            SIMULCAST_SECONDS,
            cell=6 * spec.width / 1280,
            noise=3,
        )
        for spec in SIMULCAST_LAYERS
    )
    return LayeredVideo(SIMULCAST_LAYERS, streams)


class ReplayTrack(MediaStreamTrack):
    """Replays an encoded stream in real time, looping; jumps to a keyframe on request."""

    def __init__(self, stream: EncodedStream) -> None:
        super().__init__()
        self.kind = stream.kind
        self._stream = stream
        self._index = 0
        self._sent = 0
        self._start: float | None = None
        self._frame_seconds = float(stream.time_base * stream.frame_duration)

    def request_keyframe(self) -> None:
        """Continue from the next keyframe (what an encoder does on PLI)."""
        flags = self._stream.keyframes
        for step in range(len(flags)):
            index = (self._index + step) % len(flags)
            if flags[index]:
                self._index = index
                return

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        if self._start is None:
            self._start = time.monotonic()
        target = self._start + self._sent * self._frame_seconds
        await asyncio.sleep(max(0.0, target - time.monotonic()))
        stream = self._stream
        packet = av.Packet(stream.payloads[self._index])
        packet.pts = self._sent * stream.frame_duration
        packet.time_base = stream.time_base
        self._index = (self._index + 1) % len(stream.payloads)
        self._sent += 1
        return packet
