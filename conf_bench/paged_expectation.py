"""What the receivers of a paged meeting should get, from what the publishers sent.

In the hybrid scenario every receiver shows a page of tiles small enough that
the SFU forwards each camera's lowest simulcast layer, and the audio of the
talkers outside its own acoustic zone (speaker selection forwards talkers
only; the zone rule holds back a voice the room already hears through the
air). The counts are cumulative, so the expectation over a window is the
difference of two calls made with the same pages.
"""

from __future__ import annotations

from typing import Any, Protocol

from .layered_publisher import LayeredPublisher
from .voice_publisher import VoicePublisher


class PagedReceiver(Protocol):
    participant_id: str
    receive: bool
    zone: str | None
    view: list[str]
    layered_publisher: LayeredPublisher | None
    voice_publisher: VoicePublisher | None


def audible(listener: PagedReceiver, talker: PagedReceiver) -> bool:
    """True if the SFU should forward ``talker``'s voice to ``listener``:
    somebody else, not in the listener's zone."""
    if talker is listener:
        return False
    return listener.zone is None or talker.zone != listener.zone


def paged_expectation(clients: list[Any]) -> dict[str, int]:
    """``expected_tiles``: over every receiver with a page, the lowest-layer
    packets its tiles' cameras sent; ``expected_voices``: over every receiver,
    the voiced packets of the talkers it should hear. Both cumulative."""
    by_id: dict[str, PagedReceiver] = {c.participant_id: c for c in clients}
    low_sent = {
        pid: c.layered_publisher.layers[0].packets_sent
        for pid, c in by_id.items()
        if c.layered_publisher is not None
    }
    talkers = [c for c in clients if c.voice_publisher is not None and c.voice_publisher.talking]
    tiles = voices = 0
    for listener in clients:
        if not listener.receive:
            continue
        tiles += sum(low_sent.get(pid, 0) for pid in listener.view)
        for talker in talkers:
            if audible(listener, talker):
                voices += talker.voice_publisher.voiced_sent
    return {"expected_tiles": tiles, "expected_voices": voices}
