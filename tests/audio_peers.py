"""Light audio participants for speaker-selection tests.

An :class:`AudioPeer` publishes a microphone through aiortc (so every packet
carries the audio level aiortc measures on the frame it encodes) whose tone
the test switches on and off, and receives without decoding: conf_bench's
client answers the subscriber offers with the decoders switched off and
sees each decrypted packet at the DTLS transport, where this class notes,
per incoming SSRC, when each packet came, its sequence number, timestamp
and audio level.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import av
from aiortc import RTCSessionDescription
from media_peers import AUDIO_SAMPLES, ToneAudioTrack

from conf_bench.client import BenchClient
from sfu import aiortc_bridge as bridge
from sfu import rtp

LOUD = 0.5  # amplitude of a talking peer's tone: about -9 dBov


#: In silence a browser with Opus DTX sends one packet every 400 ms.
DTX_INTERVAL_FRAMES = 20


class SwitchedTone(ToneAudioTrack):
    """A tone that sounds only while ``on`` (digital silence otherwise), and
    notes when its first sounding frame was made. In silence it sends, as a
    browser does with Opus DTX, one frame every 400 ms (the timestamps jump,
    the sequence numbers do not)."""

    def __init__(self, frequency: float, on: bool = False) -> None:
        super().__init__(frequency, LOUD if on else 0.0)
        self.first_sounding_at: float | None = None

    @property
    def on(self) -> bool:
        return self.amplitude > 0

    @on.setter
    def on(self, value: bool) -> None:
        self.amplitude = LOUD if value else 0.0

    async def recv(self) -> av.AudioFrame:
        if self.amplitude == 0 and self._samples:
            self._samples += (DTX_INTERVAL_FRAMES - 1) * AUDIO_SAMPLES  # skip to the next
        frame = await super().recv()
        if self.amplitude > 0 and self.first_sounding_at is None:
            self.first_sounding_at = time.monotonic()
        return frame


@dataclass
class Arrival:
    at: float
    sequence_number: int
    timestamp: int
    level: int | None


@dataclass
class Received:
    """What one peer received on one SSRC (one of its subscribe slots)."""

    arrivals: list[Arrival] = field(default_factory=list)

    def since(self, moment: float) -> list[Arrival]:
        return [a for a in self.arrivals if a.at >= moment]


class AudioPeer(BenchClient):
    """Publishes a :class:`SwitchedTone`; records what it receives, per SSRC."""

    def __init__(self, url: str, name: str, frequency: float = 440.0, on: bool = False) -> None:
        super().__init__(url, name, media=None)  # type: ignore[arg-type]  # replays nothing
        self.tone = SwitchedTone(frequency, on)
        self.by_ssrc: dict[int, Received] = {}
        self._level_id: int | None = None

    async def enter(self, room: str) -> None:
        """Join ``room`` (receiving) and publish the microphone."""
        await self.join(room, video=False, audio=False)
        pc = self.publish_pc
        transceiver = pc.addTransceiver(self.tone, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        ack = await self.call(
            "publish",
            {"sdp": pc.localDescription.sdp, "sources": {transceiver.mid: "microphone"}},
        )
        await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))

    def _count_raw(self, data: bytes) -> None:
        super()._count_raw(data)
        view = rtp.parse(data)
        level = None
        level_id = self._level_id or self._find_level_id()
        if level_id:
            value = rtp.find_extension(data, level_id)
            level = value[0] & 0x7F if value else None
        arrival = Arrival(time.monotonic(), view.sequence_number, view.timestamp, level)
        self.by_ssrc.setdefault(view.ssrc, Received()).arrivals.append(arrival)

    def _find_level_id(self) -> int | None:
        for transceiver in self.subscribe_pc.getTransceivers():
            if transceiver.kind == "audio":
                ids: dict[str, int] = bridge.header_extension_ids(transceiver)
                self._level_id = ids.get(bridge.URI_AUDIO_LEVEL)
                return self._level_id
        return None

    def streams_since(self, moment: float, at_least: int = 1) -> set[int]:
        """The SSRCs of which at least ``at_least`` packets came since ``moment``."""
        return {ssrc for ssrc, got in self.by_ssrc.items() if len(got.since(moment)) >= at_least}


def received(peer: AudioPeer, ssrc: int) -> Received:
    return peer.by_ssrc.get(ssrc, Received())
