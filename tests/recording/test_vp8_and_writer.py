"""The VP8 frame assembler and the track writer, with real VP8 and Opus from aiortc's encoders."""

from __future__ import annotations

import fractions
import math

import av
import numpy as np
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from media_peers import counter_frame, read_counter

from recording.track_writer import TrackWriter
from recording.vp8 import Vp8Assembler, descriptor_length, keyframe_size


def vp8_packets(frames: int, keyframe_every: int = 0):
    """``(seq, timestamp, marker, payload)`` of ``frames`` counter frames, 30 fps."""
    encoder = Vp8Encoder()
    seq = 1000
    packets = []
    for n in range(frames):
        frame = av.VideoFrame.from_ndarray(counter_frame(n), format="yuv420p")
        frame.pts = n * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        force = bool(keyframe_every) and n % keyframe_every == 0 and n > 0
        payloads, timestamp = encoder.encode(frame, force_keyframe=force)
        for i, payload in enumerate(payloads):
            packets.append((seq & 0xFFFF, timestamp, i == len(payloads) - 1, payload))
            seq += 1
    return packets


def decode(path):
    with av.open(str(path)) as container:
        return [frame for frame in container.decode(container.streams[0])]


def test_descriptor_lengths_follow_rfc7741():
    assert descriptor_length(b"\x10\x00") == 1
    assert descriptor_length(b"\x90\x80\x05\x00") == 3  # X, I with 7-bit picture id
    assert descriptor_length(b"\x90\x80\x85\x05\x00") == 4  # 15-bit picture id
    assert descriptor_length(b"\x90\xe0\x85\x05\x01\x20\x00") == 6  # I, L, T


def test_assembler_rebuilds_every_frame_and_starts_at_a_keyframe():
    packets = vp8_packets(20)
    assembler = Vp8Assembler()
    frames = [f for p in packets if (f := assembler.push(*p)) is not None]
    assert len(frames) == 20
    assert frames[0].keyframe and keyframe_size(frames[0].data) == (320, 240)
    # Starting in the middle: nothing until a keyframe comes.
    late = Vp8Assembler()
    assert [late.push(*p) for p in packets[len(packets) // 2 :]] == [None] * (
        len(packets) - len(packets) // 2
    )


def test_a_lost_packet_drops_frames_until_the_next_keyframe(tmp_path):
    packets = vp8_packets(30, keyframe_every=15)
    timestamps = list(dict.fromkeys(p[1] for p in packets))
    lost = next(i for i, p in enumerate(packets) if p[1] == timestamps[5])
    assembler = Vp8Assembler()
    frames = [f for i, p in enumerate(packets) if i != lost and (f := assembler.push(*p))]
    # Frame 5 is lost, 6..14 depend on it; the keyframe at 15 restarts.
    assert len(frames) == 5 + 15
    writer = TrackWriter(tmp_path / "video.webm", "video", 320, 240)
    for frame in frames:
        writer.write(frame.data, frame.timestamp - frames[0].timestamp, frame.keyframe)
    writer.close()
    counters = [read_counter(f) for f in decode(tmp_path / "video.webm")]
    assert counters == [*range(5), *range(15, 30)]


def test_writer_keeps_rtp_timing_without_transcoding(tmp_path):
    assembler = Vp8Assembler()
    frames = [f for p in vp8_packets(30) if (f := assembler.push(*p)) is not None]
    writer = TrackWriter(tmp_path / "v.webm", "video", 320, 240)
    for frame in frames:
        pts = 9000 + frame.timestamp - frames[0].timestamp
        assert writer.write(frame.data, pts, frame.keyframe)
    assert not writer.write(frames[-1].data, 9000, False)  # never back in time
    writer.close()
    writer.close()
    decoded = decode(tmp_path / "v.webm")
    assert [read_counter(f) for f in decoded] == list(range(30))
    assert abs(float(decoded[0].time) - 0.1) < 0.002
    assert abs(float(decoded[-1].time) - (0.1 + 29 / 30)) < 0.002
    assert abs(writer.duration - 29 / 30) < 0.001


def test_opus_packets_are_written_as_they_come(tmp_path):
    encoder = OpusEncoder()
    writer = TrackWriter(tmp_path / "a.webm", "audio")
    for n in range(100):
        t = (np.arange(960) + n * 960) / 48000
        wave = (8000 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = n * 960
        frame.time_base = fractions.Fraction(1, 48000)
        payloads, _timestamp = encoder.encode(frame)
        for payload in payloads:
            writer.write(payload, n * 960, True)
    writer.close()
    decoded = decode(tmp_path / "a.webm")
    samples = np.concatenate([f.to_ndarray()[0] for f in decoded])  # planar: first channel
    assert abs(len(samples) / 48000 - 2.0) < 0.05
    spectrum = np.abs(np.fft.rfft(samples[4800:].astype(float)))
    assert abs(np.fft.rfftfreq(samples[4800:].size, 1 / 48000)[np.argmax(spectrum)] - 440) < 5
    with open(tmp_path / "a.webm", "rb") as fh:
        assert b"OpusHead" in fh.read(4096)
