"""A camera-like test video for Chromium's fake capture device (a Y4M file).

Chromium's built-in fake camera shows a flat animated pattern that VP8 codes in
~140 kbit/s at 640x360@15, far below a real webcam, so a 250 kbit/s uplink would
not bind at all. This clip has a textured scene panning slowly plus a little
sensor noise, which codes at rates like a real camera's. Made once (numpy, no
encoder) and cached; Chromium loops it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SECONDS = 8
CACHE = Path.home() / ".cache" / "conf-bench"
BLOCK = 32  # size of the scene's blobs, in pixels (16: ~1 Mbit/s, too much for 2 cores)
NOISE = 0  # no sensor noise: it alone would code at > 1 Mbit/s


def _box_blur(image: np.ndarray, size: int, axis: int) -> np.ndarray:
    padded = np.concatenate([np.take(image, [0] * size, axis=axis), image], axis=axis)
    summed = np.cumsum(padded, axis=axis, dtype=np.float64)
    upper = np.take(summed, range(size, summed.shape[axis]), axis=axis)
    lower = np.take(summed, range(0, summed.shape[axis] - size), axis=axis)
    return (upper - lower) / size


def _texture(rng: np.random.Generator, height: int, width: int, block: int) -> np.ndarray:
    """Soft blobs (random blocks, box-blurred twice): a scene with gradients and
    a few edges rather than high-contrast squares."""
    coarse = rng.integers(30, 226, size=(height // block, width // block)).astype(np.float64)
    image = np.repeat(np.repeat(coarse, block, axis=0), block, axis=1)
    for _ in range(2):
        image = _box_blur(_box_blur(image, block, 0), block, 1)
    return np.clip(image, 0, 255).astype(np.uint8)


def camera_clip(width: int = 640, height: int = 360, fps: int = 15) -> Path:
    """The path of the cached clip for this size and rate, written if missing."""
    path = CACHE / f"netlab-camera-{width}x{height}-{fps}.y4m"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(15)
    scene = _texture(rng, height * 2, width * 2, BLOCK)
    chroma = _texture(rng, height, width, BLOCK) // 2 + 64
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(SECONDS * fps):
            dx, dy = (3 * index) % width, (index * 2) % height  # a slow pan
            luma = scene[dy : dy + height, dx : dx + width].astype(np.int16)
            luma += rng.integers(-NOISE, NOISE + 1, size=luma.shape, dtype=np.int16)
            window = chroma[dy // 2 : dy // 2 + height // 2, dx // 2 : dx // 2 + width // 2]
            out.write(b"FRAME\n")
            out.write(np.clip(luma, 0, 255).astype(np.uint8).tobytes())
            out.write(window.tobytes())
            out.write((255 - window).tobytes())
    temporary.replace(path)
    return path
