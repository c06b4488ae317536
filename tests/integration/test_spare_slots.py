"""Spare m-sections: every subscriber offer carries a free audio and video
m-section, so a newcomer's tracks reach the others at once, announced by
``subscriber_tracks``, without a new offer and answer (issue 21;
docs/protocol.md, *Spare m-sections and subscriber_tracks*).

Real aiortc peers over loopback; what counts is media arriving at the
viewer's peer connection (frame counters, the tone's pitch) while the viewer
answers nothing. tests/integration/test_renegotiation_races.py covers the
same races without spares (``spare_slots = 0``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from media_peers import CounterVideoTrack, dominant_frequency
from meeting_client import MeetingClient
from running_server import RunningServer
from test_renegotiation_races import (
    PITCH_TOLERANCE,
    TONES,
    WAIT_S,
    arrive,
    id_of,
    offers,
    receives,
    seat_viewer,
    subscriber,
)

from sfu import SubscribeTransport

MakeClient = Callable[..., Awaitable[MeetingClient]]


def track_lists(client: MeetingClient) -> list[dict[str, Any]]:
    """Every ``subscriber_tracks`` the client received, oldest first."""
    return [data for event, data in client.events if event == "subscriber_tracks"]


async def seated_and_settled(
    server: RunningServer, make_client: MakeClient, room: str
) -> tuple[MeetingClient, SubscribeTransport]:
    """A viewer whose receiving connection carries a first publisher's
    camera, with every offer made so far answered and applied (so its spare
    m-sections are ready); from here on it answers nothing."""
    viewer = await make_client("Viewer")
    await seat_viewer(viewer, make_client, room)
    transport = subscriber(server, room, viewer)

    def settled() -> bool:
        free = {s.kind for s in transport.slots if s.consumer is None and s.ready}
        return free == {"audio", "video"} and not transport.negotiating

    await viewer.wait_for(settled, WAIT_S)
    viewer.auto_answer = False
    return viewer, transport


async def test_others_see_and_hear_a_newcomer_without_answering_any_offer(
    server: RunningServer, make_client: MakeClient
) -> None:
    room = "spare"
    viewer, transport = await seated_and_settled(server, make_client, room)
    answered = viewer.offers_answered

    newcomer = await arrive(make_client, room, "N")

    await receives(viewer, transport, newcomer)
    assert viewer.offers_answered == answered, "the viewer answered an offer"
    announced = {t["participant_id"] for t in track_lists(viewer)[-1]["tracks"]}
    assert id_of(newcomer) in announced
    # The offer that follows only brings new spares; nobody answers it here.
    assert all(id_of(newcomer) not in {t["participant_id"] for t in o["tracks"]}
               for o in offers(viewer)[:answered])  # fmt: skip


async def test_a_track_announced_before_the_offer_that_brings_its_m_section_shows_after_it(
    server: RunningServer, make_client: MakeClient
) -> None:
    """B's camera takes the viewer's spare video m-section; the offer with a
    new spare goes unanswered. P1 arrives: its microphone takes the spare
    audio m-section (heard at once); its camera takes the new video spare
    that only the unanswered offer brings. The ``subscriber_tracks`` that
    announces both is newer than that offer's list: answering the offer,
    the viewer keeps the newer list and so shows P1's camera."""
    room = "spare-then-held"
    viewer, transport = await seated_and_settled(server, make_client, room)
    seen = len(offers(viewer))
    b = await make_client("B")
    await b.join(room)
    await b.publish({"camera": CounterVideoTrack()})
    await viewer.wait_for(lambda: len(offers(viewer)) > seen, WAIT_S)
    held = offers(viewer)[-1]

    p1 = await arrive(make_client, room, "P1")
    mine = [c for c in transport.consumers.values() if c.producer.owner == id_of(p1)]
    assert {c.kind for c in mine if c.slot.ready} == {"audio"}, "not the case this test is about"
    await viewer.wait_for(lambda: viewer.track_of(id_of(p1), "microphone"), WAIT_S)
    heard = await dominant_frequency(viewer.track_of(id_of(p1), "microphone"), 0.5, WAIT_S)
    assert abs(heard - TONES["P1"]) < PITCH_TOLERANCE, heard
    assert viewer.track_of(id_of(p1), "camera") is None, "no m-section for it yet"
    assert track_lists(viewer)[-1]["tracks_version"] > held["tracks_version"]

    await viewer.answer_offer(held)
    assert viewer.track_of(id_of(p1), "camera") is not None, "the older list won"
    viewer.auto_answer = True
    await receives(viewer, transport, p1)
    assert transport.negotiation_failures == 0, "a negotiation failed (see the log)"
