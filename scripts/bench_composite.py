"""Benchmark of the recording composite (not a test).

Makes a recording of 4 participants (VP8 640x480 at 30 fps and about
1 Mbit/s with moving content, Opus tones) written the way the recorder writes
it, then on ONE core (``os.sched_setaffinity``) renders its composite with
``recording.composite`` and, in the same run, has the ffmpeg CLI do the same
job with its own filters (fps, scale + crop per tile, ``xstack``, ``drawtext``
names, ``amix``; libx264 with the same preset and CRF, AAC). Prints media
seconds per wall second for both (the target for ours: >= 2x real time).

    .venv/bin/python scripts/bench_composite.py [--seconds 30] [--core 0]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "recording"))

from synthetic_recording import Person, Span, make_recording  # noqa: E402

from conf_server.domain.layout import best_grid  # noqa: E402
from recording.composite import (  # noqa: E402
    CompositeOptions,
    render_composite,
    tile_positions,
)
from recording.library import RecordingLibrary  # noqa: E402

COLOURS = [(81, 90, 240), (41, 240, 110), (145, 54, 34), (170, 166, 16)]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def make(root: Path, seconds: float) -> tuple[Path, dict[str, Any]]:
    library = RecordingLibrary(root)
    people = [
        Person(f"p{i}", f"Person {i + 1}", (Span(0.0, seconds, COLOURS[i], 300 + 200 * i, True),))
        for i in range(4)
    ]
    record = make_recording(library, people, seconds, size=(640, 480), fps=30)
    directory = library.directory(record["id"])
    assert directory is not None
    return directory, record


def ffmpeg_command(directory: Path, record: dict[str, Any], options: CompositeOptions) -> list[str]:
    """ffmpeg doing the composite's job: same grid, tiles, names, mix and encoder."""
    grid = best_grid(4, options.width, options.height)
    w, h = grid.tile_width // 2 * 2, grid.tile_height // 2 * 2
    corners = tile_positions(grid, 4, options)
    videos = [t["name"] for t in record["tracks"] if t["kind"] == "video"]
    audios = [t["name"] for t in record["tracks"] if t["kind"] == "audio"]
    names = {p["id"]: p["name"] for p in record["participants"]}
    owners = [t["participant_id"] for t in record["tracks"] if t["kind"] == "video"]
    inputs: list[str] = []
    for name in videos + audios:
        inputs += ["-i", str(directory / name)]
    label = ""
    parts = []
    for i, owner in enumerate(owners):
        if Path(FONT).is_file():
            label = (
                f",drawtext=fontfile={FONT}:text='{names[owner]}':fontcolor=white:"
                f"fontsize={max(10, h // 16)}:box=1:boxcolor=black@0.65:boxborderw=4:"
                f"x=8:y=h-th-12"
            )
        parts.append(f"[{i}:v]fps={options.fps},scale={w}:-2,crop={w}:{h}{label}[t{i}]")
    x0, y0 = corners[0]
    layout = "|".join(f"{x - x0}_{y - y0}" for x, y in corners)
    parts.append(
        "".join(f"[t{i}]" for i in range(4))
        + f"xstack=inputs=4:layout={layout}:fill=black,"
        + f"pad={options.width}:{options.height}:{x0}:{y0}:black,format=yuv420p[v]"
    )
    parts.append(
        "".join(f"[{len(videos) + i}:a]" for i in range(len(audios)))
        + f"amix=inputs={len(audios)}:normalize=0,aresample=48000[a]"
    )
    return [
        "ffmpeg", "-v", "error", "-y", "-threads", "1", "-filter_threads", "1",
        "-filter_complex_threads", "1", *inputs,
        "-filter_complex", ";".join(parts), "-map", "[v]", "-map", "[a]",
        "-c:v", "libx264", "-preset", options.preset, "-crf", str(options.crf),
        "-threads", "1", "-c:a", "aac", "-b:a", str(options.audio_bitrate),
        "-ac", "2", "-movflags", "+faststart", str(directory / "ffmpeg.mp4"),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--fps", type=int, default=CompositeOptions.fps)
    parser.add_argument("--preset", default=CompositeOptions.preset)
    args = parser.parse_args()
    options = CompositeOptions(fps=args.fps, preset=args.preset)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"making a {args.seconds:.0f} s recording of 4 x 640x480 VP8 30 fps + Opus ...")
        directory, record = make(Path(tmp), args.seconds)
        os.sched_setaffinity(0, {args.core})  # ours and ffmpeg (inherited): one core
        print(
            f"pinned to core {args.core}; output {options.width}x{options.height} "
            f"{options.fps} fps, libx264 {options.preset} crf {options.crf}, AAC"
        )

        cpu0 = time.process_time()
        result = render_composite(directory, record, best_grid, options)
        cpu = time.process_time() - cpu0
        ours = result.duration / result.seconds
        print(
            f"composite (PyAV + numpy): {result.duration:.1f} s of media in "
            f"{result.seconds:.2f} s wall ({cpu:.2f} s CPU): {ours:.2f}x real time"
            f" [{'OK' if ours >= 2.0 else 'BELOW'} the 2x target]"
        )

        if shutil.which("ffmpeg") is None:
            print("ffmpeg: NOT INSTALLED, no comparison (apt-get install -y ffmpeg)")
            return 0
        command = ffmpeg_command(directory, record, options)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.monotonic()
        subprocess.run(command, check=True)
        wall = time.monotonic() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        version = subprocess.run(
            ["ffmpeg", "-version"], capture_output=True, text=True, check=True
        ).stdout.split("\n")[0]
        print(
            f"ffmpeg xstack + amix ({version.split(' Copyright')[0]}): "
            f"{args.seconds:.1f} s of media in {wall:.2f} s wall ({cpu:.2f} s CPU): "
            f"{args.seconds / wall:.2f}x real time"
        )
        print(f"ours / ffmpeg time: {result.seconds / wall:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
