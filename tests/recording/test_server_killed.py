"""kill -9 of a real conf-server while it records: the files play up to about
the last second, and the next start marks the recording incomplete."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from media_peers import CounterVideoTrack, ToneAudioTrack, is_increasing
from meeting_client import MeetingClient
from recorded_media import audio_samples, video_frames

from sfu import aiortc_bridge

KEY = "kill-test-admin-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m conf_server`` on a free port (blocks until it listens)."""
    port = free_port()
    command = [sys.executable, "-m", "conf_server", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), "--ice-address", "127.0.0.1"],
        stdout=open(log, "ab"),  # noqa: SIM115 (the child owns it)
        stderr=subprocess.STDOUT,
        env={**os.environ, "CONF_ADMIN_API_KEY": KEY},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    raise AssertionError("conf-server did not start")


async def test_killed_server_leaves_playable_files_marked_incomplete(tmp_path):
    aiortc_bridge.restrict_ice_addresses(["127.0.0.1"])  # our peers: loopback only
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    process, url = start_server(data_dir, log)
    alice = MeetingClient(url, "Alice")
    try:
        await alice.connect()
        await alice.join("killed")
        await alice.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(440)})
        await asyncio.sleep(1.5)
        await alice.call("recording", {"action": "start"})
        await asyncio.sleep(4.5)
        killed_at = time.time()
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        with contextlib.suppress(Exception):
            await alice.close()

    (directory,) = (data_dir / "recordings").iterdir()
    record = json.loads((directory / "recording.json").read_text())
    assert record["state"] == "recording"
    recorded = killed_at - record["started_at"]
    video = sorted(directory.glob("*-camera.webm"))
    audio = sorted(directory.glob("*-microphone.webm"))
    assert len(video) == len(audio) == 1
    frames = video_frames(video[0])
    assert is_increasing([c for _, c in frames])
    assert frames[-1][0] > recorded - 2.0, (frames[-1][0], recorded)
    start, samples = audio_samples(audio[0])
    assert start + samples.size / 48000 > recorded - 2.0

    process, url = start_server(data_dir, log)
    try:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(f"{url}/api/v1/recordings") as response:
                (listed,) = (await response.json())["recordings"]
            assert listed["id"] == directory.name and listed["state"] == "incomplete"
            assert abs(listed["duration"] - recorded) < 1.5, (listed["duration"], recorded)
            name = video[0].name
            async with http.get(f"{url}/api/v1/recordings/{listed['id']}/files/{name}") as r:
                assert r.status == 200 and len(await r.read()) == video[0].stat().st_size
    finally:
        process.terminate()
        process.wait(10)
