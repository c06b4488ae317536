"""Dynacast: a publisher is told to stop the simulcast layers nobody takes, and
to send them again the moment somebody does.

The rules on their own (clock passed in), then on a real Producer with real
Consumers fed by hand.
"""

from __future__ import annotations

import asyncio
import socket
import time

from hand_fed_simulcast import SSRCS, Publisher, consumer_of

from sfu import dynacast
from sfu.consumer import Consumer
from sfu.dynacast import Dynacast
from sfu.producer import Producer
from sfu.settings import SfuSettings

RATES = [100_000, 400_000, 1_000_000]
#: A moment after the producer's start-up grace.
LATER = dynacast.GRACE_S + 1.0


def settle(gate: Dynacast, wanted: set[int], start: float, seconds: float) -> list[bool]:
    """Call update every 0.5 s for ``seconds`` from ``start``; each call's 'changed'."""
    changes = []
    for step in range(int(seconds / 0.5) + 1):
        changes.append(gate.update(wanted, RATES, start + step * 0.5))
    return changes


def test_a_layer_nobody_takes_is_paused_after_a_while_even_below_a_wanted_one() -> None:
    gate = Dynacast(3, 0.0)
    settle(gate, {2}, LATER, dynacast.PAUSE_AFTER_S - 1)
    assert gate.publishing == (True, True, True)  # not yet: the allocator may come back
    changes = settle(gate, {2}, LATER + dynacast.PAUSE_AFTER_S, 1)
    assert gate.publishing == (True, False, True)
    assert changes.count(True) == 1  # told once


def test_the_lowest_layer_is_never_paused_and_nothing_in_the_first_seconds() -> None:
    gate = Dynacast(3, 0.0)
    settle(gate, set(), 0.0, dynacast.GRACE_S - 0.5)
    assert gate.publishing == (True, True, True)
    settle(gate, set(), dynacast.GRACE_S, 10)
    assert gate.publishing == (True, False, False)


def test_a_wanted_layer_resumes_at_once() -> None:
    gate = Dynacast(3, 0.0)
    settle(gate, {0}, LATER, 10)
    assert gate.publishing == (True, False, False)
    assert gate.update({0, 2}, RATES, LATER + 10.5)
    assert gate.publishing == (True, False, True)
    assert gate.want(1, LATER + 10.6)
    assert gate.publishing == (True, True, True)
    assert not gate.want(0, LATER + 10.7) and not gate.want(7, LATER + 10.7)


def test_the_allocator_sees_a_paused_layer_only_above_the_one_forwarded() -> None:
    gate = Dynacast(3, 0.0)
    settle(gate, {0}, LATER, 10)
    now = LATER + 10.5
    # Forwarding layer 0: layers 1 and 2 are offered at the rates they had.
    assert gate.candidate_bitrate(1, 0, 0, now) == RATES[1]
    assert gate.candidate_bitrate(2, 0, 0, now) == RATES[2]
    # Forwarding layer 2: a step down to the paused layer 1 would wait for a resume.
    assert gate.candidate_bitrate(1, 0, 2, now) == 0
    # Not forwarding anything yet: only what arrives (a first picture never waits).
    assert gate.candidate_bitrate(2, 0, None, now) == 0
    # What arrives and is stable counts as measured, paused or not.
    assert gate.candidate_bitrate(1, 350_000, 2, now) == 350_000


def test_a_resumed_layer_keeps_its_rate_until_measured_and_a_failed_resume_backs_off() -> None:
    gate = Dynacast(3, 0.0)
    settle(gate, {0}, LATER, 10)
    start = LATER + 10.5
    gate.want(2, start)
    arriving = [RATES[0], 0, RATES[2]]
    gate.update({0, 2}, arriving, start + 0.5)
    # Back, but its measured rate counts only after it has been stable a while.
    assert gate.candidate_bitrate(2, 0, 0, start + 1.0) == RATES[2]
    # Layer 1 is asked back and never comes (the client ignores it).
    gate.want(1, start + 1.0)
    for step in range(8):
        gate.update({0, 1, 2}, arriving, start + 1.0 + step * 0.5)
    assert gate.failed_resumes == 1
    assert gate.candidate_bitrate(1, 0, 0, start + 5.0) == 0  # not offered for a while
    # Paused again and asked again after the back-off: offered again.
    later = start + 5.0 + dynacast.BACKOFF_S
    settle(gate, {0, 2}, later, dynacast.PAUSE_AFTER_S + 1)
    assert gate.publishing == (True, False, True)
    assert gate.candidate_bitrate(1, 0, 0, later + dynacast.PAUSE_AFTER_S + 1) == RATES[1]


def test_switched_off_it_never_pauses() -> None:
    gate = Dynacast(3, 0.0, enabled=False)
    settle(gate, set(), LATER, 20)
    assert gate.publishing == (True, True, True)


# -- on a producer --------------------------------------------------------------


def told(producer: Producer) -> list[dict[str, bool]]:
    """Every layer set the publisher is told to send, in order."""
    sent: list[dict[str, bool]] = []
    producer.on_layers_changed(lambda p: sent.append(p.publishing_layers()))
    return sent


def feed_all(publisher: Publisher, seconds: float) -> None:
    """Packets on every layer, so each has a measured rate."""
    for _ in range(int(seconds * 30)):
        for layer in (0, 1, 2):
            publisher.send(layer)


def pause_unwanted(producer: Producer) -> None:
    """Look at the producer's layers now (as the router's tick does while
    they arrive: dynacast learns which layers come), once past its start-up
    grace, and again a whole pause interval later: what nobody wanted
    meanwhile is paused."""
    producer.update_layers(time.monotonic())
    later = time.monotonic() + dynacast.GRACE_S + dynacast.PAUSE_AFTER_S + 1
    producer.update_layers(later - dynacast.PAUSE_AFTER_S)
    producer.update_layers(later)


async def watching_the_top(
    publisher: Publisher, receiver: socket.socket, count: int
) -> list[Consumer]:
    """``count`` consumers forwarding the top layer, every layer measured."""
    consumers = [await consumer_of(publisher, receiver) for _ in range(count)]
    for consumer in consumers:
        consumer.set_target_layer(2)
    feed_all(publisher, 1)
    publisher.send(2, keyframe=True)
    assert [c.current_layer for c in consumers] == [2] * count
    return consumers


async def test_a_producer_tells_its_publisher_to_stop_the_middle_layer_when_all_take_the_top(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    producer = publisher.producer
    sent = told(producer)
    consumers = await watching_the_top(publisher, receiver, 2)
    pause_unwanted(producer)
    assert sent == [{"q": True, "h": False, "f": True}]
    # One viewer's tile shrinks: it wants the middle layer, which comes back at once.
    consumers[0].set_target_layer(1)
    await asyncio.sleep(0)
    assert sent[-1] == {"q": True, "h": True, "f": True}
    # No keyframe request went to the stopped encoder: it is sent with the
    # layer's first packet if that is not a keyframe anyway.
    assert SSRCS[1] not in publisher.plis
    publisher.send(1)
    await asyncio.sleep(0.01)
    assert SSRCS[1] in publisher.plis


async def test_hidden_viewers_want_nothing_and_the_recorder_keeps_the_top_layer(
    receiver: socket.socket,
) -> None:
    publisher = Publisher()
    producer = publisher.producer
    sent = told(producer)
    (consumer,) = await watching_the_top(publisher, receiver, 1)
    consumer.hidden = True
    consumer.pause()
    assert producer.wanted_layers() == set()
    pause_unwanted(producer)
    assert sent[-1] == {"q": True, "h": False, "f": False}

    class Recorder:
        def on_rtp(self, view: object) -> None: ...

        def on_close(self) -> None: ...

    producer.add_sink(Recorder())  # type: ignore[arg-type]
    assert sent[-1] == {"q": True, "h": False, "f": True}


async def test_without_dynacast_every_layer_is_always_sent(receiver: socket.socket) -> None:
    publisher = Publisher(SfuSettings(dynacast=False))
    producer = publisher.producer
    sent = told(producer)
    await watching_the_top(publisher, receiver, 1)
    pause_unwanted(producer)
    assert sent == [] and producer.publishing_layers() == {"q": True, "h": True, "f": True}


def test_a_layer_that_never_arrived_is_never_offered_nor_paused() -> None:
    """A 640x360 camera: Chrome sends two of the three layers asked for. The
    allocator must not wait for the third, and pausing it would save nothing."""
    gate = Dynacast(3, 0.0)
    for step in range(40):
        gate.update({1}, [90_000, 300_000, 0], step * 0.5)
    assert gate.publishing == (True, True, True)
    assert gate.candidate_bitrate(2, 0, 1, 20.0) == 0
    assert gate.candidate_bitrate(2, 0, 0, 20.0) == 0


def test_layers_a_camera_starts_late_are_not_paused_before_they_can_be_taken() -> None:
    """A busy publisher sends only its lowest layer in the producer's first
    seconds and its upper ones from 25 s on: they must still be free to come
    (not paused while they had never arrived) and, once they arrive, be
    wanted and kept like any layer. (Dynacast used to pause them at the end
    of the grace, and such a camera stayed at its lowest layer for good.)"""
    gate = Dynacast(3, 0.0)
    for step in range(50):  # 25 s of the lowest layer only
        gate.update(set(), [90_000, 0, 0], step * 0.5)
    assert gate.publishing == (True, True, True)
    gate.update(set(), RATES, 25.0)
    assert not gate.update({2}, RATES, 25.5)  # the top wanted: nothing to tell
    assert gate.publishing == (True, True, True)
    settle(gate, {2}, 26.0, dynacast.PAUSE_AFTER_S + 1)
    assert gate.publishing == (True, False, True)  # the middle, now known, is paused
