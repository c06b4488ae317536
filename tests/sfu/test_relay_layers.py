"""Dynacast across a relay (issue 17, points 3 and 4): a simulcast layer that
no subscriber on the other node takes is paused at the publisher, and comes
back when one needs it.

Two routers in one process stand for two nodes, linked by real relay
endpoints on loopback (tests/sfu/relay_nodes.py). The publisher is a real
Producer fed by hand on node A (tests/sfu/hand_fed_simulcast.py); on node B
the relayed copy's consumer sends to a loopback socket. Time is passed to
dynacast as the router's tick does, moved past its grace instead of waited.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from types import SimpleNamespace

from hand_fed_simulcast import Publisher, consumer_of
from relay_nodes import Node

from sfu import dynacast, rtcp
from sfu.producer import Producer
from sfu.relay_tracks import RelayOut

LATER = dynacast.GRACE_S + dynacast.PAUSE_AFTER_S + 1


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(250):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} never happened")


def told(producer: Producer) -> list[dict[str, bool]]:
    """Every layer set the publisher is told to send, in order."""
    sent: list[dict[str, bool]] = []
    producer.on_layers_changed(lambda p: sent.append(p.publishing_layers()))
    return sent


async def feed_all(publisher: Publisher, frames: int = 30) -> None:
    """Frames on every layer (a keyframe first), letting the relay carry them."""
    for frame in range(frames):
        for layer in (0, 1, 2):
            publisher.send(layer, keyframe=frame == 0)
        await asyncio.sleep(0.005)


def tick(producer: Producer, at: float) -> None:
    """What the router's housekeeping does for a producer at time ``at``."""
    producer.update_layers(at)


def past_the_pause(producer: Producer, now: float) -> None:
    """The router's ticks from ``now`` until past dynacast's grace and pause
    interval: what nobody wanted meanwhile is paused."""
    tick(producer, now)
    tick(producer, now + LATER - dynacast.PAUSE_AFTER_S)
    tick(producer, now + LATER)


async def test_layers_nobody_on_the_other_node_takes_are_paused_at_the_publisher(
    nodes: tuple[Node, Node], receiver: socket.socket
) -> None:
    a, b = nodes
    publisher = Publisher()
    source = publisher.producer
    sent = told(source)
    out = RelayOut(a.endpoint, a.peers["node-b"], source, "node-a")
    relayed = b.router.relay_in(b.endpoint, b.peers["node-a"], out.track)
    copy = relayed.producer
    assert copy.dynacast is not None  # the copy decides what node B wants

    # One subscriber on node B, on a small tile: the lowest layer.
    viewer = await consumer_of(SimpleNamespace(producer=copy), receiver)  # type: ignore[arg-type]
    viewer.set_target_layer(0)
    await feed_all(publisher)
    await until(lambda: all(layer.keyframes > 0 for layer in copy.layers), "relayed layers")
    assert viewer.current_layer == 0

    # Until node B has said what it wants, every layer is wanted at A.
    assert set(out.wanted_layers()) == {0, 1, 2}

    # Node B's dynacast gives up the two upper layers; node A hears it and
    # its publisher is told to stop them, as in a room on one node.
    now = time.monotonic()
    past_the_pause(copy, now)
    assert copy.publishing_layers() == {"q": True, "h": False, "f": False}
    await until(lambda: out.peer_wants == frozenset({0}), "node A hearing node B's wish")
    past_the_pause(source, now)
    assert sent == [{"q": True, "h": False, "f": False}]

    # The tile grows: node B wants the top layer, and the publisher is asked
    # for it again at once (no tick at A needed).
    viewer.set_target_layer(2)
    tick(copy, now + LATER + 1)
    assert copy.publishing_layers()["f"]
    await until(lambda: sent[-1]["f"], "the publisher being asked for the top layer")
    assert sent[-1] == {"q": True, "h": False, "f": True}


async def test_a_lost_word_is_repeated_and_a_node_that_wants_every_layer_pauses_none(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    publisher = Publisher()
    source = publisher.producer
    sent = told(source)
    out = RelayOut(a.endpoint, a.peers["node-b"], source, "node-a")
    b.router.relay_in(b.endpoint, b.peers["node-a"], out.track)
    await feed_all(publisher, 5)
    # Node B's copy says every second what it wants, even when nothing changed
    # (no consumer there yet: its dynacast has paused nothing in its grace).
    await until(lambda: out.peer_wants is not None, "node B's periodic word")
    assert out.peer_wants == frozenset({0, 1, 2})
    past_the_pause(source, time.monotonic())
    assert sent == []  # wanted over there: nothing paused here


def test_the_layers_word_reads_back_and_only_names_layers() -> None:
    packet = rtcp.layers_wanted(7, 0xABCDEF01, [0, 2, 9, -1])
    (feedback,) = rtcp.parse_feedback(packet)
    assert feedback.kind == "layers"
    assert feedback.sender_ssrc == 7 and feedback.media_ssrc == 0xABCDEF01
    assert feedback.layers == (0, 2)
    # A REMB still reads as one; a truncated LAYR is no word at all.
    (remb,) = rtcp.parse_feedback(rtcp.remb(7, 500_000, [1]))
    assert remb.kind == "remb" and remb.bitrate == 500_000
    assert rtcp.parse_feedback(packet[:-8]) == []
