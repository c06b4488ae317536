"""Leaving, vanishing and coming back: nothing leaks, nobody is left as a ghost."""

from __future__ import annotations

import asyncio
import os
from collections import Counter

from media_peers import CounterVideoTrack, ToneAudioTrack, collect_counters, is_increasing

from sfu import Consumer, SubscribeTransport


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def settle(seconds: float = 0.5) -> None:
    await asyncio.sleep(seconds)


async def guest_visit(server, make_client, host, name: str) -> None:
    """A guest joins, publishes camera and microphone, is seen by the host, leaves."""
    guest = await make_client(name)
    await guest.join("cleanup")
    await guest.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack()})
    await host.wait_for(lambda: host.track_of(guest.participant_id, "camera") is not None)
    await collect_counters(host.track_of(guest.participant_id, "camera"), 5)
    during = server.service.media_stats()
    assert during["publish_transports"] == 2 and during["subscribe_transports"] == 2
    assert during["producers"] == 4 and during["consumers"] == 4
    await guest.call("leave", {})
    await guest.close()
    await host.wait_for(lambda: guest.participant_id not in host.participants)
    await settle(1.5)


def task_census() -> Counter[str]:
    # python-engineio's ping task of a closed socket sleeps out its ping
    # interval before it ends; it holds nothing, so it is not counted.
    return Counter(
        name
        for t in asyncio.all_tasks()
        if (name := t.get_coro().__qualname__) != "AsyncSocket._send_ping"
    )


async def test_leaving_closes_peer_connections_tasks_and_sockets(server, make_client):
    host = await make_client("Host")
    await host.join("cleanup")
    await host.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack()})
    # A first visit brings the host's subscribe connection up and gives it two
    # slots, which it keeps for later tracks: that is the steady state.
    await guest_visit(server, make_client, host, "First guest")
    stats_before = server.service.media_stats()
    tasks_before, fds_before = task_census(), open_fds()

    await guest_visit(server, make_client, host, "Second guest")

    assert server.service.media_stats() == stats_before
    assert stats_before["consumers"] == 0 and stats_before["producers"] == 2
    # Every task and socket of the guest's two peer connections (server and
    # client side) and of its Socket.IO connection is gone.
    assert task_census() == tasks_before
    assert open_fds() == fds_before


async def test_vanished_client_is_removed_and_room_closes_when_empty(server, make_client):
    alice = await make_client("Alice")
    await alice.join("vanish")
    await alice.publish({"microphone": ToneAudioTrack()})
    await settle(0.5)
    await alice.sio.eio.disconnect(abort=True)  # socket gone without a goodbye
    await settle(0.5)
    # Within the grace period its place is kept (media closed at once).
    assert "vanish" in server.service.directory.rooms
    assert server.service.media_stats()["publish_transports"] == 0
    for _ in range(50):
        if not server.service.directory.rooms:
            break
        await asyncio.sleep(0.1)
    assert server.service.directory.rooms == {}
    assert server.service.media_stats() == {"rooms": 0}


async def test_leaver_disappears_from_others_at_once(make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("bye")
    await bob.join("bye")
    await alice.wait_for(lambda: bob.participant_id in alice.participants)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await bob.call("leave", {})
    await alice.wait_for(lambda: bob.participant_id not in alice.participants, timeout=2)
    assert loop.time() - started < 2
    assert (
        "participant_left",
        {"participant_id": bob.participant_id, "reason": "left"},
    ) in alice.events


async def test_network_loss_keeps_the_place_and_resume_restores_identity(server, make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("resume")
    await bob.join("resume")
    await alice.publish({"camera": CounterVideoTrack()})
    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "camera") is not None)

    # The service hears what the namespace reports after a ping timeout.
    await server.service.disconnected(alice.sio.get_sid(), network_loss=True)
    await bob.wait_for(lambda: bob.participants[alice.participant_id]["connected"] is False)

    token = alice.resume_token
    old_id = alice.participant_id
    await alice.close()
    again = await make_client("Alice")
    ack = await again.join("resume", resume_token=token)
    assert ack["resumed"] is True and ack["participant_id"] == old_id
    await bob.wait_for(lambda: bob.participants[old_id]["connected"] is True)
    await again.publish({"camera": CounterVideoTrack()})
    await bob.wait_for(lambda: bob.track_of(old_id, "camera") is not None)
    counters = await collect_counters(bob.track_of(old_id, "camera"), 5)
    assert is_increasing(counters)
    assert not any(e == "participant_left" for e, _ in bob.events)


async def test_participant_not_back_within_grace_period_times_out(server, make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("grace")
    await bob.join("grace")
    await server.service.disconnected(alice.sio.get_sid(), network_loss=True)
    await bob.wait_for(lambda: alice.participant_id not in bob.participants, timeout=5)
    assert (
        "participant_left",
        {"participant_id": alice.participant_id, "reason": "timeout"},
    ) in bob.events


async def test_resume_while_old_socket_is_still_open_takes_it_over(server, make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("takeover")
    await bob.join("takeover")
    again = await make_client("Alice B.")
    ack = await again.join("takeover", resume_token=alice.resume_token)
    assert ack["resumed"] is True and ack["participant_id"] == alice.participant_id
    await bob.wait_for(lambda: bob.participants[alice.participant_id]["name"] == "Alice B.")
    # The stale socket was dropped, so it cannot act for the participant any more.
    for _ in range(50):
        if not alice.sio.connected:
            break
        await asyncio.sleep(0.1)
    assert not alice.sio.connected
    assert len(server.service.directory.rooms["takeover"].participants) == 2


#: Speakers whose audio a subscriber gets at a time (audio_forward_speakers' default).
K = 3
#: How long a look at which audio flows lasts (50 packets of each stream).
WINDOW_S = 1.0


def audio_report(transport: SubscribeTransport, grown: set[Consumer] | None) -> str:
    """Each consumer of a subscriber as the test saw it (``grown``: those whose
    packets_sent grew in the last window), for a failure message."""
    lines = [
        f"{len(transport.consumers)} consumers,"
        f" negotiation failures {transport.negotiation_failures}"
    ]
    for consumer in transport.consumers.values():
        slot = consumer.slot
        lines.append(
            f"  {consumer.producer.app_data.get('participant_id')}:"
            f" ready={slot.ready} connected={slot.connected}"
            f" packets_sent={consumer.packets_sent}"
            f" grew={'?' if grown is None else consumer in grown}"
            f" paused={consumer.paused} silenced={consumer.silenced} hidden={consumer.hidden}"
        )
    return "\n".join(lines)


async def test_many_joining_at_once_all_reach_an_existing_viewer(server, make_client):
    """Joins that land while the viewer's offer is being made must not be lost."""
    viewer = await make_client("Viewer")
    await viewer.join("rush")
    publishers = [await make_client(f"P{i}") for i in range(10)]

    async def arrive(client) -> None:
        await client.join("rush")
        await client.publish({"microphone": ToneAudioTrack()})

    await asyncio.gather(*(arrive(p) for p in publishers))
    media = server.service.media["rush"]
    transport = media.subscribers[viewer.participant_id]

    # None of the ten is lost: each was negotiated (its slot's answer
    # applied), is connected and reached the viewer's client.
    def all_negotiated() -> bool:
        consumers = list(transport.consumers.values())
        return (
            len(consumers) == 10
            and all(c.slot.ready and c.slot.connected for c in consumers)
            and all(viewer.track_of(p.participant_id, "microphone") for p in publishers)
        )

    # Ten talk at once, so the viewer hears K of them at a time (speaker
    # selection), and what holds the others back is the selection alone.
    # Which K may change: the ten tones are equally loud, and under load a
    # speaker just admitted whose packets stall for 0.5 s gives its place
    # to another (sfu/speaker_selection.py: its smoothed loudness is still
    # rising). So what flows is measured over a window, not since the start.
    def selected() -> set[Consumer]:
        consumers = transport.consumers.values()
        if not all(c.paused == c.silenced and not c.hidden for c in consumers):
            return set()
        return {c for c in consumers if not c.silenced}

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    grown: set[Consumer] | None = None
    try:
        await viewer.wait_for(all_negotiated, timeout=deadline - loop.time())
        while True:
            before = {c: c.packets_sent for c in transport.consumers.values()}
            chosen = selected()
            await asyncio.sleep(WINDOW_S)
            grown = {c for c, sent in before.items() if c.packets_sent > sent}
            if len(chosen) == K and selected() == chosen == grown and all_negotiated():
                break
            if loop.time() > deadline:
                raise TimeoutError
    except TimeoutError:
        raise AssertionError(
            f"all ten negotiated and at the viewer: {all_negotiated()};"
            f" {len(selected())} selected ({K} wanted, paused only if silenced);"
            f" speaker ranking changes: {media.router.speakers.changes}\n"
            f"{audio_report(transport, grown)}"
        ) from None
    assert transport.negotiation_failures == 0, audio_report(transport, grown)
