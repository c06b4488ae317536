"""Speech as a WebRTC sender would send it: 48 kHz mono samples (from
:func:`spoken_media.synthesize`) encoded by libopus into 20 ms packets, each
with its RTP timestamp (advancing by 960 a packet)."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np
from spoken_media import FRAME, RATE


@dataclass(frozen=True)
class Packet:
    timestamp: int  # RTP, 48 kHz clock, 32 bits
    payload: bytes


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), dtype=np.int16)


def opus_packets(
    samples: np.ndarray, first_timestamp: int = 0, stereo: bool = True
) -> list[Packet]:
    """``samples`` (48 kHz mono int16) as Opus packets of 20 ms, the way a
    browser sends them (stereo-capable Opus by default); a last partial
    frame is padded with silence."""
    layout = "stereo" if stereo else "mono"
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = RATE, layout, "s16"
    encoder.time_base = fractions.Fraction(1, RATE)
    padded = np.concatenate([samples, np.zeros(-samples.size % FRAME, dtype=np.int16)])
    payloads: list[bytes] = []
    for offset in range(0, padded.size, FRAME):
        chunk = padded[offset : offset + FRAME]
        data = np.repeat(chunk, 2) if stereo else chunk
        frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate, frame.pts = RATE, offset
        frame.time_base = fractions.Fraction(1, RATE)
        payloads += [bytes(p) for p in encoder.encode(frame)]
    payloads += [bytes(p) for p in encoder.encode(None)]
    # The encoder's look-ahead gives one packet more than frames went in;
    # an RTP sender stamps packets in order, 960 apart.
    return [
        Packet((first_timestamp + index * FRAME) & 0xFFFFFFFF, payload)
        for index, payload in enumerate(payloads)
    ]


@dataclass(frozen=True)
class Sent:
    """A packet of ``stream`` due ``at`` seconds after playing starts."""

    at: float
    stream: int
    packet: Packet


def timed(stream: int, packets: list[Packet], start: float = 0.0) -> list[Sent]:
    """``packets`` of ``stream`` 20 ms apart from ``start`` seconds on."""
    return [Sent(start + index * FRAME / RATE, stream, p) for index, p in enumerate(packets)]


async def play(
    send: Callable[[int, int, bytes], object], schedule: list[Sent], speed: float = 1.0
) -> float:
    """Hand each packet of ``schedule`` to ``send(stream, timestamp, payload)``
    at its moment (``speed`` times real time, in 20 ms steps as a sender's
    pacing would); returns the monotonic time playing started."""
    start = time.monotonic()
    for sent in sorted(schedule, key=lambda s: s.at):
        delay = start + sent.at / speed - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        send(sent.stream, sent.packet.timestamp, sent.packet.payload)
    return start
