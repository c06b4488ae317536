"""Real aiortc peers over loopback: known content in, the same content out."""

from __future__ import annotations

import asyncio

from media_peers import (
    CounterVideoTrack,
    ToneAudioTrack,
    collect_counters,
    dominant_frequency,
    is_increasing,
)

#: Seconds a late joiner may wait for video: far below the publisher's natural
#: keyframe interval (100 s), far above what a loaded machine needs.
LATE_BOUND = 20.0


async def test_video_and_audio_arrive_intact_through_the_sfu(make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("intact")
    await bob.join("intact")
    await alice.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(440)})

    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "camera") is not None)
    counters = await collect_counters(bob.track_of(alice.participant_id, "camera"), 40)
    assert is_increasing(counters), counters
    frequency = await dominant_frequency(bob.track_of(alice.participant_id, "microphone"), 1.0)
    assert abs(frequency - 440) < 5


async def test_three_participants_each_receive_the_two_others(make_client):
    tones = {"A": 330.0, "B": 550.0, "C": 770.0}
    clients = {name: await make_client(name) for name in tones}
    for client in clients.values():
        await client.join("trio")
    for name, client in clients.items():
        await client.publish(
            {"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(tones[name])}
        )

    for name, client in clients.items():
        others = [c for n, c in clients.items() if n != name]
        await client.wait_for(
            lambda client=client, others=others: all(
                client.track_of(o.participant_id, "microphone") is not None for o in others
            ),
            timeout=15,
        )
        for other in others:
            frequency = await dominant_frequency(
                client.track_of(other.participant_id, "microphone"), 0.5
            )
            assert abs(frequency - tones[other.name]) < 10, (name, other.name, frequency)
            counters = await collect_counters(client.track_of(other.participant_id, "camera"), 10)
            assert is_increasing(counters)


async def test_screen_share_reaches_others_as_its_own_track(make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("share")
    await bob.join("share")
    await alice.publish({"camera": CounterVideoTrack(), "screen": CounterVideoTrack(fps=10)})
    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "screen") is not None)
    await bob.wait_for(lambda: bob.participants[alice.participant_id]["screen_sharing"])
    counters = await collect_counters(bob.track_of(alice.participant_id, "screen"), 10)
    assert is_increasing(counters)


async def test_late_joiner_gets_video_without_waiting_for_the_next_keyframe(make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("late")
    await alice.publish({"camera": CounterVideoTrack()})
    await asyncio.sleep(2.0)  # the publisher's first keyframe is long gone
    await bob.join("late")
    await bob.wait_for(
        lambda: bob.track_of(alice.participant_id, "camera") is not None, timeout=LATE_BOUND
    )
    # aiortc's VP8 encoder makes a keyframe only every 3,000 frames (100 s)
    # unless asked, so decodable video within LATE_BOUND means the SFU had the
    # publisher make one for Bob. How fast (about 0.1 s idle) is a speed, not
    # checked here: scripts/bench_late_joiner.py measures it.
    counters = await collect_counters(
        bob.track_of(alice.participant_id, "camera"), 10, timeout=LATE_BOUND
    )
    assert is_increasing(counters), counters


async def test_subscriber_may_trickle_its_candidates_after_the_answer(server, make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    bob.auto_answer = False
    await alice.join("trickle")
    await bob.join("trickle")
    await alice.publish({"camera": CounterVideoTrack()})
    await bob.wait_for(lambda: any(e == "subscriber_offer" for e, _ in bob.events))
    offer = next(d for e, d in bob.events if e == "subscriber_offer")

    # Answer without candidates, then trickle them one by one.
    from aiortc import RTCSessionDescription

    pc = bob.subscribe_pc
    await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    lines = pc.localDescription.sdp.split("\r\n")
    candidates = [line[2:] for line in lines if line.startswith("a=candidate:")]
    bare = "\r\n".join(line for line in lines if not line.startswith("a=candidate:"))
    assert candidates
    await bob.call("subscriber_answer", {"revision": offer["revision"], "sdp": bare})
    for candidate in candidates:
        await bob.call(
            "subscriber_ice", {"candidate": candidate, "sdp_mid": "0", "sdp_mline_index": 0}
        )
    server_pc = server.service.media["trickle"].subscribers[bob.participant_id].pc
    assert all(c.split()[4] in server_pc.remoteDescription.sdp for c in candidates)
    bob.tracks = {t["mid"]: t for t in offer["tracks"]}
    for transceiver in pc.getTransceivers():
        bob.remote_tracks[transceiver.mid] = transceiver.receiver.track
    counters = await collect_counters(bob.track_of(alice.participant_id, "camera"), 5)
    assert is_increasing(counters)


async def test_publish_only_participant_gets_no_subscriber_offers(server, make_client):
    camera, viewer = await make_client("Room camera"), await make_client("Viewer")
    await camera.call("join", {"protocol": 1, "room": "ingest", "name": "Cam", "receive": False})
    camera_id = next(iter(server.service.directory.rooms["ingest"].participants))
    camera.participant_id = camera_id
    await viewer.join("ingest")
    await viewer.publish({"camera": CounterVideoTrack()})
    await camera.publish({"camera": CounterVideoTrack()})
    await viewer.wait_for(lambda: viewer.track_of(camera_id, "camera") is not None)
    assert is_increasing(await collect_counters(viewer.track_of(camera_id, "camera"), 3))
    assert not any(event == "subscriber_offer" for event, _ in camera.events)
    assert camera_id not in server.service.media["ingest"].subscribers
