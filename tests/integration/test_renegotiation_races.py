"""Joins that land while a subscriber's offer is out (sent, its answer not yet
back) must reach the subscriber in a following renegotiation.

The viewer's test client holds its answer back (``auto_answer`` off) while
publishers join, publish or leave, then answers; real aiortc peers over
loopback, and what counts is media arriving at the viewer's peer connection
(decoded frame counters, the tone's pitch), not the server's bookkeeping.
docs/architecture.md, "Subscriber renegotiation": changes that arrive during a
negotiation are folded into the next offer.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from media_peers import (
    CounterVideoTrack,
    ToneAudioTrack,
    collect_counters,
    dominant_frequency,
    is_increasing,
)
from meeting_client import MeetingClient
from running_server import RunningServer

from conf_server import Settings
from sfu import Consumer, SubscribeTransport

#: Bound for anything to happen (a join, an offer, media): a hang, not a speed.
#: The server and every client share one loop on a loaded 2-core machine.
WAIT_S = 45.0
#: Each publisher's tone, so the viewer's ear can tell whose voice arrived.
TONES = {"P1": 440.0, "P2": 660.0, "L": 550.0, "Q": 770.0, "N": 880.0}
#: How far the strongest frequency heard may be from the tone sent (Hz; the
#: FFT's bins over 0.5 s are 2 Hz wide).
PITCH_TOLERANCE = 20.0

MakeClient = Callable[..., Awaitable[MeetingClient]]


def offers(client: MeetingClient) -> list[dict[str, Any]]:
    """Every ``subscriber_offer`` the client received, oldest first."""
    return [data for event, data in client.events if event == "subscriber_offer"]


def id_of(client: MeetingClient) -> str:
    """The participant id of a client that has joined."""
    assert client.participant_id is not None, f"{client.name} has not joined"
    return client.participant_id


def subscriber(server: RunningServer, room: str, viewer: MeetingClient) -> SubscribeTransport:
    """The server's subscribe transport of ``viewer``."""
    transport: SubscribeTransport = server.service.media[room].subscribers[id_of(viewer)]
    return transport


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Without spare m-sections (``spare_slots = 0``): every new track waits
    for a negotiation, as when a subscriber's spares are taken, the races
    this file is about. tests/integration/test_spare_slots.py: with them."""
    return dataclasses.replace(settings, spare_slots=0)


@pytest.fixture
async def viewer(server: RunningServer) -> AsyncIterator[MeetingClient]:
    """The client whose answers are held back. It bundles as a browser does
    (max-bundle, MeetingClient's default): aiortc's own default loses the
    second of two audio tracks that first arrive in one offer
    (tests/meeting_client.py), which would fail these tests for the client's
    sake whenever two joins share an offer."""
    client = MeetingClient(server.url, "Viewer")
    await client.connect()
    yield client
    await client.close()


async def seat_viewer(viewer: MeetingClient, make_client: MakeClient, room: str) -> None:
    """Seat ``viewer`` in ``room`` with its subscribe connection up and carrying
    a first publisher's camera (so the held offer is a renegotiation of a live
    connection, the usual case, not its first offer)."""
    await viewer.join(room)
    first = await make_client("A")
    await first.join(room)
    await first.publish({"camera": CounterVideoTrack()})
    await viewer.wait_for(lambda: viewer.track_of(id_of(first), "camera"), WAIT_S)
    await collect_counters(viewer.track_of(id_of(first), "camera"), 3, WAIT_S)


async def hold_next_offer(
    viewer: MeetingClient, make_client: MakeClient, room: str
) -> dict[str, Any]:
    """Make the server send ``viewer`` an offer (a camera-only publisher B
    arrives) and hold the answer back; returns the held offer."""
    viewer.auto_answer = False
    seen = len(offers(viewer))
    trigger = await make_client("B")
    await trigger.join(room)
    await trigger.publish({"camera": CounterVideoTrack()})
    await viewer.wait_for(lambda: len(offers(viewer)) > seen, WAIT_S)
    return offers(viewer)[-1]


async def release(viewer: MeetingClient, held: dict[str, Any]) -> None:
    """Answer the held offer; the offers that follow are answered at once."""
    viewer.auto_answer = True
    await viewer.answer_offer(held)


async def arrive(make_client: MakeClient, room: str, name: str) -> MeetingClient:
    """A publisher joins ``room`` and publishes camera and microphone; when
    this returns, its producers are in every subscriber's consumers (the
    server adds them while it answers the publish)."""
    client = await make_client(name)
    await client.join(room)
    await client.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(TONES[name])})
    return client


def owned_by(consumer: Consumer, client: MeetingClient) -> bool:
    """``consumer`` forwards one of ``client``'s tracks."""
    return bool(consumer.producer.app_data["participant_id"] == client.participant_id)


def landed_while_out(
    transport: SubscribeTransport, held: dict[str, Any], publisher: MeetingClient
) -> None:
    """The publisher's tracks reached the viewer's transport while the held
    offer was still the latest one and none of them was in it: the race
    this file is about really happened."""
    assert transport.revision == held["revision"], "a later offer was made while one was out"
    mine = [c for c in transport.consumers.values() if owned_by(c, publisher)]
    assert len(mine) == 2, f"{publisher.name}'s consumers: {len(mine)}"
    assert not any(c.slot.ready for c in mine), "the held offer already carried them"
    assert publisher.participant_id not in {t["participant_id"] for t in held["tracks"]}


def consumers_report(transport: SubscribeTransport, publisher: MeetingClient) -> str:
    """How the viewer's transport carries ``publisher``'s tracks, for a
    failure message."""
    lines = [f"revision {transport.revision}, failures {transport.negotiation_failures}"]
    for consumer in transport.consumers.values():
        if owned_by(consumer, publisher):
            lines.append(
                f"  {consumer.kind}: mid={consumer.slot.mid} ready={consumer.slot.ready}"
                f" connected={consumer.slot.connected} packets_sent={consumer.packets_sent}"
                f" paused={consumer.paused} silenced={consumer.silenced}"
            )
    return "\n".join(lines)


async def received_packets(viewer: MeetingClient) -> dict[str, int]:
    """RTP packets the viewer's peer connection received, by mid."""
    counts: dict[str, int] = {}
    for transceiver in viewer.subscribe_pc.getTransceivers():
        report = await transceiver.receiver.getStats()
        counts[str(transceiver.mid)] = sum(
            s.packetsReceived for s in report.values() if s.type == "inbound-rtp"
        )
    return counts


async def receives(
    viewer: MeetingClient, transport: SubscribeTransport, publisher: MeetingClient
) -> None:
    """``publisher``'s camera frames (counting up) and tone arrive at the
    viewer's aiortc peer connection."""
    pid = id_of(publisher)
    stage = "tracks offered to the viewer"
    try:
        await viewer.wait_for(
            lambda: viewer.track_of(pid, "camera") and viewer.track_of(pid, "microphone"),
            WAIT_S,
        )
        stage = "camera frames at the viewer"
        counters = await collect_counters(viewer.track_of(pid, "camera"), 10, WAIT_S)
        stage = "tone at the viewer"
        heard = await dominant_frequency(viewer.track_of(pid, "microphone"), 0.5, WAIT_S)
    except TimeoutError:
        raise AssertionError(
            f"{publisher.name}: no {stage} in {WAIT_S} s\n"
            f"{consumers_report(transport, publisher)}\n"
            f"at the viewer: {await received_packets(viewer)}"
        ) from None
    assert is_increasing(counters), counters
    assert abs(heard - TONES[publisher.name]) < PITCH_TOLERANCE, (publisher.name, heard)


async def lands_while_out(
    server: RunningServer, viewer: MeetingClient, make_client: MakeClient, room: str, name: str
) -> tuple[SubscribeTransport, dict[str, Any], MeetingClient]:
    """Seat ``viewer`` in ``room``, hold its next answer back, and let
    publisher ``name`` arrive meanwhile: returns the viewer's transport, the
    held offer and the publisher."""
    await seat_viewer(viewer, make_client, room)
    held = await hold_next_offer(viewer, make_client, room)
    transport = subscriber(server, room, viewer)
    publisher = await arrive(make_client, room, name)
    landed_while_out(transport, held, publisher)
    return transport, held, publisher


async def test_join_while_the_offer_is_out_reaches_the_viewer(
    server: RunningServer, viewer: MeetingClient, make_client: MakeClient
) -> None:
    room = "held-answer"
    transport, held, p1 = await lands_while_out(server, viewer, make_client, room, "P1")
    await release(viewer, held)

    await receives(viewer, transport, p1)
    assert transport.negotiation_failures == 0, "a negotiation failed (see the log)"


async def test_joins_before_and_right_after_the_answer_both_reach_the_viewer(
    server: RunningServer, viewer: MeetingClient, make_client: MakeClient
) -> None:
    room = "two-landings"
    transport, held, p1 = await lands_while_out(server, viewer, make_client, room, "P1")
    await release(viewer, held)
    # At once: while the offer with P1's tracks is being made or is out.
    p2 = await arrive(make_client, room, "P2")

    await asyncio.gather(receives(viewer, transport, p1), receives(viewer, transport, p2))
    assert transport.negotiation_failures == 0, "a negotiation failed (see the log)"


async def test_join_and_leave_while_the_offer_is_out_leaves_nothing_dangling(
    server: RunningServer, viewer: MeetingClient, make_client: MakeClient
) -> None:
    room = "came-and-went"
    transport, held, leaver = await lands_while_out(server, viewer, make_client, room, "L")
    left_behind = {c.slot for c in transport.consumers.values() if owned_by(c, leaver)}
    await leaver.call("leave", {})
    await leaver.close()
    gone = leaver.participant_id

    def leaver_gone() -> bool:
        return gone not in viewer.participants and not any(
            owned_by(c, leaver) for c in transport.consumers.values()
        )

    await viewer.wait_for(leaver_gone, WAIT_S)
    await release(viewer, held)

    # The slots the leaver left behind go to the next one who arrives: none
    # stays an m-section that carries nothing forever.
    later = await arrive(make_client, room, "Q")
    await receives(viewer, transport, later)
    assert gone not in {t["participant_id"] for t in viewer.tracks.values()}
    assert {c.slot for c in transport.consumers.values() if owned_by(c, later)} == left_behind, (
        "the next one to arrive did not get the slots the leaver left behind"
    )
    assert all(s.consumer is not None and s.ready for s in transport.slots)
    mids = {t.mid for t in viewer.subscribe_pc.getTransceivers()}
    assert mids == set(viewer.tracks), "a transceiver at the viewer carries no track"
    assert transport.negotiation_failures == 0, "a negotiation failed (see the log)"


async def test_a_newcomer_that_never_answers_is_still_seen_and_heard_by_the_others(
    server: RunningServer, viewer: MeetingClient, make_client: MakeClient
) -> None:
    """The others' offers with a newcomer's tracks wait for the newcomer's
    receiving connection to come up (``SubscribeTransport.yield_to``), but
    only so long: a newcomer whose page never answers its subscriber offer
    (a frozen tab, a receiving connection that cannot be made) still
    publishes, and everyone else gets its camera and voice."""
    room = "never-answers"
    await seat_viewer(viewer, make_client, room)
    newcomer = await make_client("N")
    newcomer.auto_answer = False
    await newcomer.join(room)
    await newcomer.publish(
        {"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(TONES["N"])}
    )
    mine = subscriber(server, room, newcomer)
    assert mine.arriving, "the newcomer's receiving connection is up: nothing was waited for"

    await receives(viewer, subscriber(server, room, viewer), newcomer)
    assert mine.arriving and not mine.first_connected.done()
