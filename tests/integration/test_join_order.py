"""A newcomer's own receiving connection comes up before the others are
offered its tracks (issue 21, point 3): their renegotiations would otherwise
take the server's loop during the newcomer's ICE and DTLS handshakes. The wait
is bounded, so a newcomer whose connection never comes up delays nobody for
long. Real aiortc peers and the in-process server, without spare m-sections
(``spare_slots = 0``): with them the others get a newcomer's tracks before
any offer (tests/integration/test_spare_slots.py), and the offers this file
watches only bring new spares."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from media_peers import CounterVideoTrack, collect_counters

from conf_server import Settings
from sfu import consumer as consumer_module
from sfu import subscribe_transport
from sfu.allocation import Allocation


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, spare_slots=0)


def offers_naming(client: Any, participant_id: str) -> list[dict[str, Any]]:
    """The subscriber offers ``client`` got that carry a track of ``participant_id``."""
    return [
        payload
        for event, payload in client.events
        if event == "subscriber_offer"
        and any(t["participant_id"] == participant_id for t in payload["tracks"])
    ]


async def newcomer_publishing(make_client: Any, room: str) -> tuple[Any, Any]:
    """Carol and Alice publish in ``room`` and see each other; Bob joins,
    holds his subscriber offer unanswered and publishes his camera. Returns
    (alice, bob)."""
    carol = await make_client("Carol")
    await carol.join(room)
    await carol.publish({"camera": CounterVideoTrack()})
    alice = await make_client("Alice")
    await alice.join(room)
    await alice.publish({"camera": CounterVideoTrack()})
    for viewer, shown in ((alice, carol), (carol, alice)):
        await viewer.wait_for(lambda v=viewer, s=shown: v.track_of(s.participant_id, "camera"))
        assert await collect_counters(viewer.track_of(shown.participant_id, "camera"), 2)
    bob = await make_client("Bob")
    bob.auto_answer = False
    await bob.join(room)
    await bob.wait_for(lambda: any(e == "subscriber_offer" for e, _ in bob.events))
    await bob.publish({"camera": CounterVideoTrack()})
    return alice, bob


async def test_the_others_are_offered_a_newcomers_tracks_once_its_receiving_connection_is_up(
    server, make_client, monkeypatch
):
    monkeypatch.setattr(subscribe_transport, "ARRIVAL_PRIORITY_S", 60.0)
    alice, bob = await newcomer_publishing(make_client, "order")
    newcomer = server.service.media["order"].subscribers[bob.participant_id]
    connected_when_offered: list[bool] = []
    answer = alice.answer_offer

    async def noting_answer(offer: dict[str, Any]) -> None:
        if any(t["participant_id"] == bob.participant_id for t in offer["tracks"]):
            connected_when_offered.append(newcomer.first_connected.done())
        await answer(offer)

    alice.answer_offer = noting_answer
    await asyncio.sleep(0.5)
    # Bob's receiving connection is not up (he has not answered): nobody is
    # offered his camera yet.
    assert offers_naming(alice, bob.participant_id) == []

    pending = next(p for e, p in reversed(bob.events) if e == "subscriber_offer")
    await bob.answer_offer(pending)
    await alice.wait_for(lambda: alice.track_of(bob.participant_id, "camera") is not None, 20)
    assert connected_when_offered == [True]
    assert newcomer.connection_state == "connected"
    assert await collect_counters(alice.track_of(bob.participant_id, "camera"), 3)


async def test_a_newcomer_whose_connection_never_comes_up_delays_the_others_only_briefly(
    make_client, monkeypatch
):
    monkeypatch.setattr(subscribe_transport, "ARRIVAL_PRIORITY_S", 0.3)
    alice, bob = await newcomer_publishing(make_client, "stuck")
    # Bob never answers; Alice is offered his camera anyway and sees it.
    await alice.wait_for(lambda: alice.track_of(bob.participant_id, "camera") is not None, 20)
    assert await collect_counters(alice.track_of(bob.participant_id, "camera"), 3)
    assert len(offers_naming(alice, bob.participant_id)) == 1


async def test_a_newcomer_starts_from_the_keyframe_asked_for_while_it_was_connecting(
    server, make_client
):
    """The keyframe asked for when the newcomer's consumer is made arrives
    while its connection is being set up; when the connection comes up the
    SFU sends it from its cache with what followed (Consumer.resync), instead
    of asking the publisher for another and waiting for it."""
    alice = await make_client("Alice")
    await alice.join("replay")
    await alice.publish({"camera": CounterVideoTrack()})
    producer = next(iter(server.service.media["replay"].router.producers.values()))
    layer = producer.layers[0]
    await wait_for(lambda: layer.keyframes >= 1)  # the encoder's first picture

    bob = await make_client("Bob")
    bob.auto_answer = False
    keyframes = layer.keyframes
    await bob.join("replay")
    await bob.wait_for(lambda: any(e == "subscriber_offer" for e, _ in bob.events))
    await wait_for(lambda: layer.keyframes > keyframes)  # asked for at the join
    requests = server.service.sfu_stats.keyframe_requests

    pending = next(p for e, p in reversed(bob.events) if e == "subscriber_offer")
    await bob.answer_offer(pending)
    assert await collect_counters(bob.track_of(alice.participant_id, "camera"), 3)
    consumer = next(iter(producer.consumers))
    assert consumer.replays == 1
    assert server.service.sfu_stats.keyframe_requests == requests  # none asked on connect


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_the_others_start_a_newcomers_video_from_its_first_keyframe(
    server, make_client, monkeypatch
):
    """A newcomer's encoder starts with a keyframe; the others' consumers,
    resumed a moment later when their offers are answered, send it from the
    cache with what followed instead of asking for another (Consumer.resume)."""
    monkeypatch.setattr(consumer_module, "REPLAY_MAX_AGE_S", 30.0)  # a loaded machine
    alice, bob = await newcomer_publishing(make_client, "first-keyframe")
    pending = next(p for e, p in reversed(bob.events) if e == "subscriber_offer")
    await bob.answer_offer(pending)
    await alice.wait_for(lambda: alice.track_of(bob.participant_id, "camera") is not None, 20)
    assert await collect_counters(alice.track_of(bob.participant_id, "camera"), 3)
    media = server.service.media["first-keyframe"]
    consumer = next(
        c
        for c in media.subscribers[alice.participant_id].consumers.values()
        if c.producer.app_data["participant_id"] == bob.participant_id
    )
    assert consumer.replays == 1


async def test_nothing_of_a_muted_camera_is_replayed_to_a_newcomer(server, make_client):
    """The cache keeps what a muted camera still sends (a client may ignore
    the mute); a newcomer's connection coming up must not replay any of it."""
    alice = await make_client("Alice")
    await alice.join("muted-replay")
    await alice.publish({"camera": CounterVideoTrack()})
    await alice.call("mute", {"source": "camera", "muted": True})
    producer = next(iter(server.service.media["muted-replay"].router.producers.values()))
    assert producer.paused
    keyframes = producer.layers[0].keyframes

    bob = await make_client("Bob")
    await bob.join("muted-replay")
    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "camera") is not None)
    transport = server.service.media["muted-replay"].subscribers[bob.participant_id]
    await wait_for(lambda: transport.connection_state == "connected")
    await wait_for(lambda: producer.layers[0].keyframes > keyframes)  # still sent, and cached
    await asyncio.sleep(0.5)
    consumer = next(iter(transport.consumers.values()))
    assert consumer.packets_sent == 0 and consumer.replays == 0


async def test_video_resumed_after_a_bandwidth_pause_starts_from_a_new_keyframe(
    server, make_client, monkeypatch
):
    """A video paused because the subscriber's link could not take it comes
    back from a keyframe asked for then, not from the cache: the cached
    keyframe and up to 1.5 s after it, sent at once, would overflow the thin
    link that paused it (issue 15's 300 kbit/s downlink then lost its video
    for good)."""
    monkeypatch.setattr(consumer_module, "REPLAY_MAX_AGE_S", 30.0)  # replay if it were allowed
    alice = await make_client("Alice")
    await alice.join("bandwidth-resume")
    await alice.publish({"camera": CounterVideoTrack()})
    bob = await make_client("Bob")
    await bob.join("bandwidth-resume")
    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "camera") is not None)
    assert await collect_counters(bob.track_of(alice.participant_id, "camera"), 3)
    transport = server.service.media["bandwidth-resume"].subscribers[bob.participant_id]
    consumer = next(c for c in transport.consumers.values() if c.kind == "video")
    replays = consumer.replays

    paused = Allocation(layers={consumer.id: None}, spent=0, budget=0)
    transport._apply(paused)
    assert consumer.bandwidth_paused and consumer.paused
    requests = server.service.sfu_stats.keyframe_requests
    sent = consumer.packets_sent
    transport._apply(Allocation(layers={consumer.id: 0}, spent=0, budget=1_000_000))
    assert not consumer.paused
    await wait_for(lambda: server.service.sfu_stats.keyframe_requests > requests)
    await wait_for(lambda: consumer.packets_sent > sent)
    assert consumer.replays == replays
