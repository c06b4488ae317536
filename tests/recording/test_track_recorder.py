"""RoomRecorder without a network: packets pushed into a real Producer."""

from __future__ import annotations

import asyncio
import struct
import time
from typing import Any

from media_peers import read_counter
from test_vp8_and_writer import decode, vp8_packets

from recording.library import RecordingLibrary
from recording.room_recorder import RoomRecorder
from sfu import Producer, SfuSettings, SfuStats, rtp
from sfu.aiortc_bridge import Codec
from sfu.sink import NTP_EPOCH_OFFSET

keyframe_requests: list[int] = []


async def ask_for_keyframe(ssrc: int) -> bool:
    keyframe_requests.append(ssrc)
    return True


class FakeRouter:
    def __init__(self, *producers: Producer) -> None:
        self.producers = {p.id: p for p in producers}
        self.observers: list[Any] = []

    def add_observer(self, observer: Any) -> None:
        self.observers.append(observer)

    def remove_observer(self, observer: Any) -> None:
        self.observers.remove(observer)


def camera() -> Producer:
    return Producer(
        kind="video",
        codec=Codec("video/VP8", 90000, 96),
        mid="0",
        ssrc=5,
        audio_level_id=None,
        settings=SfuSettings(keyframe_interval_s=0.0),
        send_keyframe_request=ask_for_keyframe,
        stats=SfuStats(),
        app_data={"participant_id": "p_1", "source": "camera"},
    )


def push(producer: Producer, packets: list[tuple[int, int, bool, bytes]]) -> None:
    for seq, ts, marker, payload in packets:
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 96, seq, ts, 5)
        producer.receive(rtp.parse(header + payload))


def frames_of(packets, first: int, last: int):
    """The packets of frames ``first`` to ``last`` (inclusive)."""
    timestamps = list(dict.fromkeys(p[1] for p in packets))
    wanted = set(timestamps[first : last + 1])
    return [p for p in packets if p[1] in wanted]


async def test_pause_drops_everything_and_resume_waits_for_a_keyframe(tmp_path):
    packets = vp8_packets(60, keyframe_every=20)
    producer = camera()
    # The sender's clock says frame 0 was captured a second before recording began.
    first_ts = packets[0][1]
    ntp = int((time.time() - 1.0 + NTP_EPOCH_OFFSET) * (1 << 32))
    producer.set_sender_report(producer.layers[0], ntp, first_ts)
    library = RecordingLibrary(tmp_path)
    recorder = RoomRecorder(library, FakeRouter(producer), {"room": "r"})  # type: ignore[arg-type]
    recorder.start()
    await asyncio.sleep(0.01)
    assert keyframe_requests == [5]  # asked at once

    push(producer, frames_of(packets, 0, 14))
    recorder.pause()
    push(producer, frames_of(packets, 15, 34))
    recorder.resume()
    push(producer, frames_of(packets, 35, 59))
    record = recorder.stop()

    (track,) = record["tracks"]
    assert track["start"] == 0.0  # captured before the start: placed at 0
    decoded = decode(tmp_path / record["id"] / track["name"])
    assert [read_counter(f) for f in decoded] == [*range(15), *range(40, 60)]
    # RTP timing kept across the gap (WebM keeps milliseconds)
    assert abs(float(decoded[15].time - decoded[14].time) - 26 / 30) < 0.002
    assert record["state"] == "ready" and record["tracks"][0]["frames"] == 35


async def test_frames_that_were_on_their_way_go_at_the_start_and_the_rest_keep_their_times(
    tmp_path,
):
    # The sender report came at once: frame 15 was captured just now. Frames
    # 0-14 (half a second older) were held up on the way and arrive after
    # recording started, with the rest. Their own times are before the start:
    # they go at its beginning, and frame 30 stays half a second in, where the
    # clock puts it and the same person's audio (not one late frame's delay later).
    packets = vp8_packets(45)
    producer = camera()
    timestamps = list(dict.fromkeys(p[1] for p in packets))
    ntp = int((time.time() + NTP_EPOCH_OFFSET) * (1 << 32))
    producer.set_sender_report(producer.layers[0], ntp, timestamps[15])
    library = RecordingLibrary(tmp_path)
    recorder = RoomRecorder(library, FakeRouter(producer), {"room": "r"})  # type: ignore[arg-type]
    recorder.start()
    await asyncio.sleep(0.5)
    push(producer, packets)
    record = recorder.stop()

    (track,) = record["tracks"]
    assert track["start"] == 0.0 and track["frames"] == 45
    decoded = decode(tmp_path / record["id"] / track["name"])
    assert [read_counter(f) for f in decoded] == list(range(45))  # none lost
    times = [float(f.time) for f in decoded]
    assert times[:16] == sorted(set(times[:16])) and times[15] < 0.03  # at the start, in order
    assert abs(times[30] - 0.5) < 0.02, times[30]  # its own time, not 1.0


async def test_a_track_that_cannot_be_written_stops_alone_and_fails_the_recording(tmp_path):
    packets = vp8_packets(10)
    producer = camera()
    library = RecordingLibrary(tmp_path)
    recorder = RoomRecorder(library, FakeRouter(producer), {"room": "r"})  # type: ignore[arg-type]
    recorder.start()
    # Where the file should go, a directory is in the way: it cannot be opened.
    (tmp_path / recorder.id / "track-001-camera.webm").mkdir()
    push(producer, packets)
    assert producer.sinks == []  # it let go after the first failure
    record = recorder.stop()
    assert record["state"] == "failed"
    assert record["tracks"][0]["error"]
