"""A talker's audio crosses a relay whole (issue 17, point 3): speaker
selection on the publishing node holds back the packets of a source it does
not rank (silence past the hangover), but the node at the other end of a
relay ranks its own listeners' speakers and must get every packet: one held
back is a gap there, NACKed and counted as lost.

Two routers in one process stand for two nodes, linked by real relay
endpoints on loopback (tests/sfu/relay_nodes.py). The talker's microphone is a
real Producer fed by hand with Opus-sized packets carrying RFC 6464 levels,
its arrival times passed in (past the hangover without waiting for it).
"""

from __future__ import annotations

import asyncio
import struct
import time

from relay_nodes import Node

from sfu import SfuSettings, rtp
from sfu import aiortc_bridge as bridge
from sfu.producer import Producer
from sfu.relay_tracks import RelayOut
from sfu.speaker_selection import HANGOVER_S, SpeakerSelection
from sfu.stats import SfuStats

SSRC = 4242
LEVEL_ID = 1
VOICED, SILENT = 10, 127  # -dBov: loud speech, digital silence (DTX)


class Microphone:
    """An Opus producer fed by hand, its talker ranked by a speaker selection."""

    def __init__(self) -> None:
        async def no_keyframes(_ssrc: int) -> bool:
            return True

        self.producer = Producer(
            kind="audio", codec=bridge.Codec("audio/opus", 48000, 111), mid="1", ssrc=None,
            audio_level_id=LEVEL_ID, settings=SfuSettings(), send_keyframe_request=no_keyframes,
            stats=SfuStats(), app_data={"participant_id": "pat"},
        )  # fmt: skip
        self.producer.layers[0].bind(SSRC)
        self.selection: SpeakerSelection[Producer] = SpeakerSelection(3)
        self.producer.talker = self.selection.add(self.producer)
        self.seq = 1000

    def send(self, level: int, at: float) -> None:
        header = struct.pack("!BBHII", 0x90, 111, self.seq, self.seq * 960, SSRC)
        extension = struct.pack("!HH", 0xBEDE, 1) + bytes((LEVEL_ID << 4, level, 0, 0))
        self.seq += 1
        self.producer.receive(rtp.parse(header + extension + b"\xfc\xff\xfe"), now=at)


class Listener:
    """A consumer on the publishing node (its packets follow the ranking)."""

    takes_every_packet = False  # a subscriber: only what speaker selection ranks

    def __init__(self) -> None:
        self.numbers: list[int] = []

    def send(self, view: rtp.RtpView, layer: int) -> None:
        self.numbers.append(view.sequence_number)

    def skip(self, view: rtp.RtpView, layer: int) -> None: ...

    def resync(self) -> None: ...

    def wanted_layers(self) -> list[int]:
        return [0]

    async def close(self) -> None: ...


async def test_a_talker_the_publishing_node_holds_back_still_crosses_whole(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    mic = Microphone()
    listener = Listener()
    mic.producer.add_consumer(listener)
    mic.producer.layers[0].attach(listener)
    out = RelayOut(a.endpoint, a.peers["node-b"], mic.producer, "node-a")
    copy = b.router.relay_in(b.endpoint, b.peers["node-a"], out.track).producer

    # Speaks for a second, is silent for three (DTX-like packets every 20 ms
    # here, to count them all), speaks again.
    start = time.monotonic()
    times = [start + i * 0.02 for i in range(250)]
    levels = [VOICED] * 50 + [SILENT] * 150 + [VOICED] * 50
    for at, level in zip(times, levels, strict=True):
        mic.send(level, at)
        if at - start > 0 and int((at - start) * 50) % 25 == 0:
            await asyncio.sleep(0.005)  # let the relay's datagrams through

    # On this node the silence past the hangover went to no listener...
    held_back = 150 - int(HANGOVER_S / 0.02) - 1
    assert len(listener.numbers) <= 250 - held_back + 1, len(listener.numbers)
    # ...but every packet crossed to the other node, so it saw no gap to
    # NACK and nothing lost.
    for _ in range(200):
        if copy.packets_received >= 250:
            break
        await asyncio.sleep(0.02)
    assert copy.packets_received == 250
    assert out.packets_sent == 250 and out.retransmissions == 0
    assert not copy.layers[0].nacks.due(time.monotonic() + 1, 0.02)
