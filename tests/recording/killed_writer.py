"""Run by test_kill: write counter frames in real time (30 fps) with
TrackWriter until killed; prints the media time of each second written."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from test_vp8_and_writer import vp8_packets

from recording.track_writer import TrackWriter
from recording.vp8 import Vp8Assembler

assembler = Vp8Assembler()
frames = [f for p in vp8_packets(250) if (f := assembler.push(*p)) is not None]
writer = TrackWriter(Path(sys.argv[1]), "video", 320, 240)
started = time.monotonic()
for n, frame in enumerate(frames):
    time.sleep(max(0.0, started + n / 30 - time.monotonic()))
    writer.write(frame.data, n * 3000, frame.keyframe)
    print(n, flush=True)
writer.close()
