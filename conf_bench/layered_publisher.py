"""LayeredPublisher: a load client's camera sent as RTP it builds itself, one SSRC per layer.

aiortc sends one encoding per track, and a simulcast camera is several
encodings on one m-section. So the load client lets aiortc negotiate the
publish connection (ICE, DTLS, SRTP keys) around a placeholder track, and this
class writes the packets: pre-encoded VP8 frames (conf_bench.media) cut into
RTP payloads (RFC 7741 descriptor with a 15-bit picture id), SRTP-protected
and sent on the nominated socket through ``sfu.aiortc_bridge.RtpSendPath``,
paced in real time. Like a browser's, every packet carries the mid, the
transport-wide sequence number and, for simulcast, its layer's rid header
extension (always, not only until the SFU has bound the SSRC: simpler, and
three bytes).

The SFU's RTCP on this connection is read too: a PLI or FIR for a layer's
SSRC makes that layer continue from its next keyframe (what an encoder does),
and the SSRCs its receiver reports describe tell which layers the SFU bound.
NACKs are not answered (the replay keeps no history; loopback loses nothing).
"""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from sfu import aiortc_bridge as bridge
from sfu import rtcp

from .media import EncodedStream

#: Payload bytes per packet (descriptor included), below a 1200-byte RTP packet.
MAX_PAYLOAD = 1100
VIDEO_CLOCK = 90_000
_HEADER = struct.Struct("!BBHII")
#: A publisher that fell this far behind its schedule (a starved load generator)
#: starts its schedule again instead of sending the missed frames in a burst.
MAX_LAG_S = 0.5


def vp8_payloads(frame: bytes, picture_id: int) -> list[bytes]:
    """One encoded VP8 frame as RTP payloads: descriptor (X, S on the first,
    I with a 15-bit picture id) followed by a slice of the frame."""
    pid = bytes((0x80 | (picture_id >> 8) & 0x7F, picture_id & 0xFF))
    chunk = MAX_PAYLOAD - 4
    return [
        bytes((0x90 if offset == 0 else 0x80, 0x80)) + pid + frame[offset : offset + chunk]
        for offset in range(0, max(len(frame), 1), chunk)
    ]


def extension_block(elements: list[tuple[int, bytes]]) -> bytes:
    """A one-byte-form (RFC 8285) header-extension block, padded to 32 bits."""
    body = b"".join(bytes((ext_id << 4 | (len(value) - 1),)) + value for ext_id, value in elements)
    body += b"\0" * (-len(body) % 4)
    return struct.pack("!HH", 0xBEDE, len(body) // 4) + body


@dataclass(eq=False)
class SentLayer:
    """One layer's stream: where it is in its media and what it has sent."""

    rid: str | None
    stream: EncodedStream
    ssrc: int = field(default_factory=lambda: random.getrandbits(32))
    index: int = 0
    sequence: int = field(default_factory=lambda: random.getrandbits(16))
    timestamp_base: int = field(default_factory=lambda: random.getrandbits(32))
    picture_id: int = field(default_factory=lambda: random.getrandbits(15))
    packets_sent: int = 0
    #: False while the SFU asked for this layer to stop (dynacast): nothing is sent.
    on: bool = True

    def skip_to_keyframe(self) -> None:
        """Continue from the next keyframe (what an encoder does on PLI)."""
        flags = self.stream.keyframes
        for step in range(len(flags)):
            index = (self.index + step) % len(flags)
            if flags[index]:
                self.index = index
                return


@dataclass(frozen=True)
class Negotiated:
    """What the publish answer fixed: the VP8 payload type and extension ids."""

    mid: str
    payload_type: int
    mid_id: int | None
    rid_id: int | None
    transport_cc_id: int | None


class LayeredPublisher:
    """Sends ``layers`` (lowest first) on one negotiated m-section until closed."""

    def __init__(self, path: bridge.RtpSendPath, layers: list[SentLayer], nego: Negotiated):
        self.layers = layers
        self.active = True
        #: SSRCs of ours the SFU has sent receiver reports for.
        self.reported_ssrcs: set[int] = set()
        self.keyframe_requests = 0
        #: Packets ``RtpSendPath.send`` refused (not connected, a full socket).
        self.refused = 0
        self._path = path
        self._nego = nego
        self._transport_sequence = 0
        self._by_ssrc = {layer.ssrc: layer for layer in layers}
        self._task: asyncio.Task[None] | None = None
        self._obeying = True
        #: The layers the SFU asked for last (rid -> on).
        self._asked: dict[str, bool] = {}

    @property
    def top_packets_sent(self) -> int:
        return self.layers[-1].packets_sent

    @property
    def packets_sent(self) -> int:
        return sum(layer.packets_sent for layer in self.layers)

    def reported_layers(self) -> list[str]:
        """The rids (or ``""``) of the layers the SFU reports on, i.e. has bound."""
        return [layer.rid or "" for layer in self.layers if layer.ssrc in self.reported_ssrcs]

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def set_layers(self, mid: str, layers: dict[str, bool]) -> None:
        """The SFU's ``publish_layers`` (dynacast): stop or resume layers by
        rid, as a browser does (unless told to ignore it, :meth:`obey`); a
        resumed layer starts with a keyframe."""
        if mid != self._nego.mid:
            return
        self._asked = dict(layers)
        if self._obeying:
            self._apply_layers()

    def obey(self, obeying: bool) -> None:
        """Follow the SFU's ``publish_layers`` (the default), or send every
        layer whatever it asks (to measure what receiving them all costs)."""
        self._obeying = obeying
        self._apply_layers()

    def _apply_layers(self) -> None:
        for layer in self.layers:
            wanted = self._asked.get(layer.rid or "") if self._obeying else True
            if isinstance(wanted, bool) and wanted != layer.on:
                if wanted:
                    layer.skip_to_keyframe()
                layer.on = wanted

    @property
    def layers_on(self) -> list[str]:
        """The rids being sent now."""
        return [layer.rid or "" for layer in self.layers if layer.on]

    def set_active(self, active: bool) -> None:
        """Stop or resume sending; a resumed camera starts with keyframes."""
        if active and not self.active:
            for layer in self.layers:
                layer.skip_to_keyframe()
        self.active = active

    def on_rtcp(self, data: bytes) -> None:
        """Decrypted RTCP from the SFU (see sfu.aiortc_bridge.hook_incoming_rtcp)."""
        for item in rtcp.parse_feedback(data):
            if item.kind in ("rr", "sr"):
                self.reported_ssrcs.update(block.ssrc for block in item.reports)
            elif item.kind in ("pli", "fir"):
                for ssrc in (item.media_ssrc, *item.ssrcs):
                    layer = self._by_ssrc.get(ssrc)
                    if layer is not None:
                        self.keyframe_requests += 1
                        layer.skip_to_keyframe()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        frame_s = float(self.layers[0].stream.time_base * self.layers[0].stream.frame_duration)
        start, frame = loop.time(), 0
        while True:
            frame += 1
            delay = start + frame * frame_s - loop.time()
            if delay < -MAX_LAG_S:
                start, frame = loop.time(), 0
            await asyncio.sleep(max(0.0, delay))
            if self.active:
                for layer in self.layers:
                    if layer.on:
                        self._send_frame(layer, frame, round(frame * frame_s * VIDEO_CLOCK))

    def _send_frame(self, layer: SentLayer, frame: int, clock: int) -> None:
        payload = layer.stream.payloads[layer.index]
        layer.index = (layer.index + 1) % len(layer.stream.payloads)
        layer.picture_id = (layer.picture_id + 1) & 0x7FFF
        timestamp = (layer.timestamp_base + clock) & 0xFFFFFFFF
        chunks = vp8_payloads(payload, layer.picture_id)
        for last, chunk in _with_last(chunks):
            header = _HEADER.pack(
                0x90, (0x80 if last else 0) | self._nego.payload_type,
                layer.sequence, timestamp, layer.ssrc,
            )  # fmt: skip
            layer.sequence = (layer.sequence + 1) & 0xFFFF
            if self._path.send(header + self._extensions(layer) + chunk):
                layer.packets_sent += 1
            else:
                self.refused += 1

    def _extensions(self, layer: SentLayer) -> bytes:
        nego = self._nego
        elements: list[tuple[int, bytes]] = []
        if nego.mid_id is not None:
            elements.append((nego.mid_id, nego.mid.encode()))
        if nego.rid_id is not None and layer.rid:
            elements.append((nego.rid_id, layer.rid.encode()))
        if nego.transport_cc_id is not None:
            self._transport_sequence = (self._transport_sequence + 1) & 0xFFFF
            elements.append((nego.transport_cc_id, self._transport_sequence.to_bytes(2, "big")))
        return extension_block(elements)

    @property
    def failure(self) -> str | None:
        """Why the sending task ended, if it did (it runs until closed)."""
        return task_failure(self._task)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


def task_failure(task: asyncio.Task[None] | None) -> str | None:
    """Why a publisher's sending ``task`` ended (None while it runs, or
    before it started): its exception, or "stopped"."""
    if task is None or not task.done():
        return None
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return f"{type(exc).__name__}: {exc}" if exc is not None else "stopped"


def _with_last(items: list[bytes]) -> Iterator[tuple[bool, bytes]]:
    for position, item in enumerate(items):
        yield position == len(items) - 1, item
