"""Live captions in a room that spans nodes (issue 17, point 3; issue 18,
point 4): someone on one node speaks, people on another node who turned
captions on read what they say, with their name. Each node captions the
tracks its own router has for its own viewers, a speaker of another node
through the relay (docs/operations.md, *Rooms across nodes*). Real
``conf-server`` nodes with media relays, a real ``redis-server``, an aiortc
speaker reading sentences synthesized by espeak-ng, Socket.IO viewers."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from caption_checks import caption_workers_of, check_captions
from deployment import NodeClient, NodeProcess, metric, until
from media_node_client import MediaNodeClient
from spanning_support import SPANNING, metrics, two_on_each
from spoken_words import ALICE_VOICE, needs_espeak, synthesize

sys.path.insert(0, str(Path(__file__).parents[1] / "recording"))
from speaking_track import Line, SpeakingTrack

pytestmark = [pytest.mark.timeout(240)]

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]

SENTENCES = [
    "Good morning everyone.",
    "We need to talk about the budget for next year.",
]
GAP = 1.5
#: As for a room on one node (tests/recording/test_live_captions_meeting.py).
MAX_WER = 0.6


def caption_workers(node: NodeProcess) -> list[int]:
    """Process ids of the caption workers ``node`` runs (its children)."""
    return caption_workers_of(node.proc.pid)


def captions_of(person: NodeClient) -> list[dict[str, Any]]:
    return list(person.of("caption"))


@needs_espeak
async def test_people_on_one_node_read_the_captions_of_a_speaker_on_another(
    start_nodes: StartNodes, clients: list[Any], tmp_path: Path
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    # Through node-b: Ada (the host) and Bob go to node-a, the owner; Cy
    # (who speaks) and Dee to node-b, a satellite.
    people = await two_on_each(
        lambda _, name: (MediaNodeClient if name == "Cy" else NodeClient)(b.url, name),
        [a.url, b.url], "captioned", clients, receive=[False] * 4,
    )  # fmt: skip
    ada, bob, cy, dee = people

    assert (await ada.call("set_captions", {"enabled": True}))["captions"] is True
    await dee.wait_event("meeting_updated", lambda d: d.get("captions") is True, timeout=15)
    # Bob, on node-a, shows them; nobody on node-b does. (The answer comes
    # once the recognizer has loaded: its worker runs at a lower priority,
    # slow on a busy machine.)
    bob.ack_wait = 60
    assert (await bob.call("captions", {"on": True}))["on"] is True
    assert len(caption_workers(a)) == 1 and caption_workers(b) == []

    # Cy's microphone reaches node-a through the relay before Cy speaks.
    track = SpeakingTrack([])
    await cy.publish({"microphone": track})

    async def relayed() -> bool:
        return metric(await metrics(a.url), "conf_relay_tracks_in") == 1

    await until(relayed, timeout=20)
    lines: list[Line] = []
    start = time.monotonic() + 0.5
    for text in SENTENCES:
        lines.append(Line(start, synthesize(text, ALICE_VOICE, tmp_path), text))
        start = lines[-1].end + GAP
    track.lines = lines

    def finals() -> list[dict[str, Any]]:
        return [c for c in captions_of(bob) if c["final"]]

    await bob.wait_for(lambda: len(finals()) >= len(SENTENCES), timeout=60)
    heard, rate = check_captions(captions_of(bob), cy.participant_id, "Cy", SENTENCES)
    print(f"captions on node-a of Cy on node-b: {' '.join(heard)} (word error rate {rate:.2f})")
    assert rate <= MAX_WER
    # Only who turned them on gets them, on either node; node-b captioned nothing.
    assert captions_of(ada) == [] and captions_of(dee) == []
    assert caption_workers(b) == []

    # Bob turns them off: node-a's caption worker ends.
    assert (await bob.call("captions", {"on": False}))["on"] is False
    deadline = time.monotonic() + 10
    while caption_workers(a):
        assert time.monotonic() < deadline, "node-a's caption worker is still running"
        await asyncio.sleep(0.1)
