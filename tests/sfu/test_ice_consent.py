"""ICE consent freshness (RFC 7675, sfu.ice_consent): a subscriber whose
answers to the server's consent checks come late keeps its connection; one
that stops answering loses it. Real aiortc peers through the real server,
with aioice's check interval shortened (0.25 s instead of 5 s, so consent
lasts 1.5 s instead of 30 s) and Bob's answers held back on his side.

Before sfu.ice_consent, every check was sent once and given up after 0.5 s,
and six such checks in a row closed the connection: answers 0.8 s late (a
congested uplink, or a loop busy with a join storm) ended it within seconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import aioice.stun
import pytest
from media_peers import alice_sends_to_bob, collect_counters

from sfu import aiortc_bridge as bridge

INTERVAL = 0.25  # aioice's CONSENT_INTERVAL, shortened: consent lasts 6 x 0.25 s
LATE = 0.8  # seconds Bob holds back each answer: more than aioice's 0.5-s timeout


@pytest.fixture(autouse=True)
def quick_consent_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", INTERVAL)


def hold_back_answers(client: Any, delay: float | None) -> None:
    """Bob's side of his receive connection answers the server's binding
    requests ``delay`` seconds late, or never (``None``)."""
    transceiver = client.subscribe_pc.getTransceivers()[0]
    protocol = bridge.dtls_transport_of(transceiver).transport._connection._nominated[1].protocol
    send = protocol.send_stun
    loop = asyncio.get_running_loop()

    def answer(message: aioice.stun.Message, addr: Any) -> None:
        if message.message_class != aioice.stun.Class.RESPONSE:
            send(message, addr)
        elif delay is not None:
            loop.call_later(delay, send, message, addr)

    protocol.send_stun = answer


async def test_late_answers_to_consent_checks_keep_the_connection(server, make_client):
    alice, bob = await alice_sends_to_bob(make_client, "late-consent", 5)
    subscriber = server.service.media["late-consent"].subscribers[bob.participant_id]
    hold_back_answers(bob, LATE)

    # Six consent periods and more: aioice alone closed it after six checks.
    await asyncio.sleep(12 * INTERVAL + 3 * LATE)

    assert subscriber.connection_state == "connected"
    frames = await collect_counters(bob.track_of(alice.participant_id, "camera"), 10)
    assert frames == sorted(set(frames))


async def test_a_subscriber_that_stops_answering_loses_its_connection(server, make_client):
    _alice, bob = await alice_sends_to_bob(make_client, "no-consent", 5)
    subscriber = server.service.media["no-consent"].subscribers[bob.participant_id]
    hold_back_answers(bob, None)

    # Consent lasts 1.5 s; the check that finds it gone gives up after 7.5 s.
    closed = ("closed", "failed")
    await bob.wait_for(lambda: subscriber.connection_state in closed, timeout=20)
