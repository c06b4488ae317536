#!/usr/bin/env python3
"""CPU cost of recording one track: RoomRecorder on a producer, fed real RTP.

Pre-encodes a few seconds of VP8 (640x480, ~1 Mbit/s, 30 fps, moving noise)
and Opus (20 ms) once with aiortc's encoders, then pushes the packets through
``Producer.receive`` with and without a recorder attached, writing real WebM
files to a temporary directory. The difference in process CPU time, divided
by the media duration, is the recorder's share of one core per track (the
issue's budget: 0.5 %). Not a test: run ``.venv/bin/python scripts/bench_recording.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import math
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder

from recording.library import RecordingLibrary
from recording.room_recorder import RoomRecorder
from sfu import Producer, SfuSettings, SfuStats, rtp
from sfu.aiortc_bridge import Codec


def rtp_packet(pt: int, seq: int, ts: int, ssrc: int, marker: bool, payload: bytes) -> bytes:
    return (
        struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts, ssrc) + payload
    )


def video_packets(seconds: float, bitrate: int) -> list[bytes]:
    encoder = Vp8Encoder()
    encoder.target_bitrate = bitrate
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:480, 0:640]
    packets, seq = [], 0
    for n in range(int(seconds * 30)):
        # A moving gradient with a noisy patch: something a camera might send.
        y = ((xx + yy + 4 * n) % 256).astype(np.uint8)
        y[200:280, (n * 8) % 560 : (n * 8) % 560 + 80] = rng.integers(0, 255, (80, 80))
        uv = np.full((240, 640), 128, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(np.concatenate([y, uv]), format="yuv420p")
        frame.pts, frame.time_base = n * 3000, fractions.Fraction(1, 90000)
        payloads, timestamp = encoder.encode(frame)
        for i, payload in enumerate(payloads):
            packets.append(rtp_packet(96, seq, timestamp, 1111, i == len(payloads) - 1, payload))
            seq += 1
    return packets


def audio_packets(seconds: float) -> list[bytes]:
    encoder = OpusEncoder()
    packets = []
    for n in range(int(seconds * 50)):
        t = (np.arange(960) + n * 960) / 48000
        wave = (8000 * np.sin(2 * math.pi * 440 * t)).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(wave, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, n * 960
        frame.time_base = fractions.Fraction(1, 48000)
        payloads, timestamp = encoder.encode(frame)
        packets += [rtp_packet(111, n, timestamp, 2222, False, p) for p in payloads]
    return packets


async def _no_keyframe(_ssrc: int) -> bool:
    return True


def producer(kind: str) -> Producer:
    codec = Codec("video/VP8", 90000, 96) if kind == "video" else Codec("audio/opus", 48000, 111)
    return Producer(
        kind=kind,
        codec=codec,
        mid="0",
        ssrc=1111 if kind == "video" else 2222,
        audio_level_id=None,
        settings=SfuSettings(),
        send_keyframe_request=_no_keyframe,
        stats=SfuStats(),
        app_data={"participant_id": "p_bench", "source": kind},
    )


class FakeRouter:
    def __init__(self, producers: list[Producer]) -> None:
        self.producers = {p.id: p for p in producers}

    def add_observer(self, observer: Any) -> None: ...

    def remove_observer(self, observer: Any) -> None: ...


def feed(target: Producer, packets: list[bytes], repeat: int) -> float:
    """CPU seconds to receive ``packets`` ``repeat`` times (timestamps moved on)."""
    span = (rtp.parse(packets[-1]).timestamp - rtp.parse(packets[0]).timestamp) or 1
    step = span + span // max(1, len(packets))
    started = time.process_time()
    for r in range(repeat):
        for data in packets:
            head = bytearray(data[:12])
            seq, ts = struct.unpack_from("!HI", head, 2)
            struct.pack_into(
                "!HI", head, 2, (seq + r * len(packets)) & 0xFFFF, (ts + r * step) & 0xFFFFFFFF
            )
            target.receive(rtp.parse(bytes(head) + data[12:]))
    return time.process_time() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="media encoded once")
    parser.add_argument("--repeat", type=int, default=6, help="times the media is fed")
    parser.add_argument("--bitrate", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"encoding {args.seconds:.0f} s of VP8 640x480 @ {args.bitrate} bit/s and Opus ...")
    video, audio = video_packets(args.seconds, args.bitrate), audio_packets(args.seconds)
    media = args.seconds * args.repeat
    size = sum(len(p) for p in video) * 8 / args.seconds
    print(
        f"video: {len(video) / args.seconds:.0f} packets/s, {size / 1e6:.2f} Mbit/s; "
        f"audio: {len(audio) / args.seconds:.0f} packets/s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for kind, packets in (("video", video), ("audio", audio)):
            bare = feed(producer(kind), packets, args.repeat)
            recorded = producer(kind)
            library = RecordingLibrary(Path(tmp) / kind)
            recorder = RoomRecorder(library, FakeRouter([recorded]), {"room": "bench"})  # type: ignore[arg-type]
            recorder.start()
            cost = feed(recorded, packets, args.repeat)
            record = recorder.stop()
            per_packet = (cost - bare) / (len(packets) * args.repeat) * 1e6
            share = (cost - bare) / media * 100
            print(
                f"{kind}: recorder {share:.3f} % of a core per track "
                f"({per_packet:.1f} us per packet; receive alone {bare / media * 100:.3f} %), "
                f"file {record['size'] / 1e6:.2f} MB for {media:.0f} s"
            )


if __name__ == "__main__":
    asyncio.run(main())
