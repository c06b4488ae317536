"""A subscriber whose receive connection closed under it (the client closed
it, or ICE consent expired) must not break the room for the others. aiortc
shuts a peer connection down once its DTLS transport closes; the server
then added every newcomer's tracks to that dead connection, which raised,
and each later ``publish`` in the room failed with ``internal_error``.
Real aiortc peers through the real server."""

from __future__ import annotations

from media_peers import CounterVideoTrack, alice_sends_to_bob, collect_counters


async def test_a_dead_subscriber_connection_does_not_stop_others_publishing(server, make_client):
    alice, bob = await alice_sends_to_bob(make_client, "lost-subscriber", 5)
    room = server.service.media["lost-subscriber"]
    await bob.subscribe_pc.close()  # Bob's side ends it; his signaling stays
    await bob.wait_for(lambda: room.subscribers[bob.participant_id].connection_state == "closed")
    # /metrics no longer counts it as open (it did: every transport counted).
    stats = server.service.media_stats()
    assert stats["subscribe_transports"] == 2
    assert stats["open_peer_connections"] == stats["publish_transports"] + 1

    carol = await make_client("Carol")
    await carol.join("lost-subscriber")
    await carol.publish({"camera": CounterVideoTrack()})

    await alice.wait_for(lambda: alice.track_of(carol.participant_id, "camera") is not None)
    frames = await collect_counters(alice.track_of(carol.participant_id, "camera"), 5)
    assert frames == sorted(set(frames))
