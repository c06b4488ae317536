"""kill -9 in the middle of writing leaves a file that plays up to about the last second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
from media_peers import read_counter

HERE = Path(__file__).parent


def test_a_killed_writer_leaves_a_playable_file(tmp_path):
    path = tmp_path / "killed.webm"
    env = {**os.environ, "PYTHONPATH": f"{HERE.parents[1]}:{HERE}"}
    process = subprocess.Popen(
        [sys.executable, str(HERE / "killed_writer.py"), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    written = -1
    deadline = time.monotonic() + 60
    while written < 120 and time.monotonic() < deadline:  # 4 s of video
        written = int(process.stdout.readline())
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert written >= 120

    with av.open(str(path)) as container:
        counters = [read_counter(f) for f in container.decode(video=0)]
    assert counters == list(range(len(counters)))
    # Clusters close every second: at most about that much is lost.
    assert len(counters) >= written - 45, (len(counters), written)
