"""VoicePublisher: a load client's microphone as RTP it builds itself, with audio levels.

aiortc writes the audio-level header extension only for frames it encodes,
and a load generator must not encode. So, as for layered cameras
(conf_bench.layered_publisher), aiortc negotiates the publish connection
around a placeholder track and this class writes the packets: pre-encoded
Opus frames (conf_bench.media) with the mid and ssrc-audio-level (RFC 6464)
header extensions, SRTP-protected and sent on the nominated socket through
``sfu.aiortc_bridge.RtpSendPath``, paced in real time.

A talking microphone sends a voiced frame every 20 ms (level -9 dBov). A
silent one does what a browser does with Opus DTX: one small frame every
400 ms at level 127 (silence), sequence numbers continuing, timestamps
jumping, which is what the SFU's speaker selection expects of the
microphones it does not forward (docs/architecture.md, *Speaker selection*).
"""

from __future__ import annotations

import asyncio
import random
import struct
from dataclasses import dataclass

from sfu import aiortc_bridge as bridge

from .layered_publisher import MAX_LAG_S, extension_block, task_failure
from .media import EncodedStream

_HEADER = struct.Struct("!BBHII")
#: Level of a talking microphone, -dBov (RFC 6464: 0 loudest, 127 silence).
TALKING_LEVEL = 9
SILENT_LEVEL = 127
#: The voice-activity bit of the audio-level extension.
VOICED = 0x80
#: In silence a browser with Opus DTX sends one frame every 400 ms.
DTX_INTERVAL_FRAMES = 20
#: A DTX frame: one TOC byte for 20 ms of comfort noise and two bytes of it.
DTX_PAYLOAD = b"\xf8\xff\xfe"


@dataclass(frozen=True)
class VoiceNegotiated:
    """What the publish answer fixed for the microphone's m-section."""

    mid: str
    payload_type: int
    ssrc: int
    mid_id: int | None
    level_id: int | None


class VoicePublisher:
    """Sends ``stream`` (Opus, 20-ms frames) talking or silent until closed."""

    def __init__(
        self,
        path: bridge.RtpSendPath,
        stream: EncodedStream,
        nego: VoiceNegotiated,
        talking: bool = False,
    ) -> None:
        self.talking = talking
        self.packets_sent = 0
        #: Packets sent while talking (the ones the SFU should forward).
        self.voiced_sent = 0
        #: Frames ``RtpSendPath.send`` refused (not connected, a full socket).
        self.refused = 0
        self._path = path
        self._stream = stream
        self._nego = nego
        self._index = 0
        self._sequence = random.getrandbits(16)
        self._timestamp_base = random.getrandbits(32)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        frame_samples = self._stream.frame_duration
        frame_s = float(self._stream.time_base * frame_samples)
        start, frame = loop.time(), 0
        while True:
            # Silent: wake only for the DTX frames (the clock still runs).
            frame += 1 if self.talking else DTX_INTERVAL_FRAMES - frame % DTX_INTERVAL_FRAMES
            delay = start + frame * frame_s - loop.time()
            if delay < -MAX_LAG_S:  # a starved load generator: no burst of old frames
                start, frame = loop.time(), 0
            await asyncio.sleep(max(0.0, delay))
            self._send(frame * frame_samples)

    def _send(self, clock: int) -> None:
        nego = self._nego
        if self.talking:
            payload = self._stream.payloads[self._index]
            self._index = (self._index + 1) % len(self._stream.payloads)
            level = VOICED | TALKING_LEVEL
        else:
            payload, level = DTX_PAYLOAD, SILENT_LEVEL
        header = _HEADER.pack(
            0x90, nego.payload_type, self._sequence,
            (self._timestamp_base + clock) & 0xFFFFFFFF, nego.ssrc,
        )  # fmt: skip
        elements: list[tuple[int, bytes]] = []
        if nego.mid_id is not None:
            elements.append((nego.mid_id, nego.mid.encode()))
        if nego.level_id is not None:
            elements.append((nego.level_id, bytes((level,))))
        # A frame that could not go (not connected yet, a full socket) takes
        # no sequence number: the SFU sees no gap to ask about.
        if self._path.send(header + extension_block(elements) + payload):
            self._sequence = (self._sequence + 1) & 0xFFFF
            self.packets_sent += 1
            self.voiced_sent += self.talking
        else:
            self.refused += 1

    @property
    def failure(self) -> str | None:
        """Why the sending task ended, if it did (it runs until closed)."""
        return task_failure(self._task)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
