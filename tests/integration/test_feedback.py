"""RTCP feedback through the SFU: keyframe requests, NACKs, audio levels, mute."""

from __future__ import annotations

import asyncio

from media_peers import CounterVideoTrack, ToneAudioTrack, collect_counters


async def publish_counted_camera(client):
    """Publish a camera and count the keyframe requests its sender receives."""
    track = CounterVideoTrack()
    await client.publish({"camera": track})
    sender = client.publish_pc.getTransceivers()[0].sender
    requests = []
    original = sender._send_keyframe

    def counting() -> None:
        requests.append(asyncio.get_running_loop().time())
        original()

    sender._send_keyframe = counting
    return requests


async def test_keyframe_requests_reach_the_publisher_throttled(server, make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("pli")
    requests = await publish_counted_camera(alice)
    await alice.wait_for(lambda: alice.publish_pc.connectionState == "connected")
    await asyncio.sleep(0.5)
    await bob.join("pli")
    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "camera") is not None)
    await collect_counters(bob.track_of(alice.participant_id, "camera"), 3)
    # A starting consumer asks the publisher for a keyframe.
    await bob.wait_for(lambda: len(requests) > 0, timeout=2)

    # Bob's receiver reports picture loss 20 times in 100 ms.
    mid = next(m for m, t in bob.tracks.items() if t["source"] == "camera")
    receiver = next(t.receiver for t in bob.subscribe_pc.getTransceivers() if t.mid == mid)
    ssrc = next(iter(receiver._RTCRtpReceiver__remote_streams))
    await asyncio.sleep(0.6)
    before = len(requests)
    for _ in range(20):
        await receiver._send_rtcp_pli(ssrc)
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.8)
    relayed = len(requests) - before
    assert 1 <= relayed <= 3, relayed


async def test_nack_is_answered_from_the_sfu_cache(server, make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("nack")
    await alice.publish({"camera": CounterVideoTrack()})
    await bob.join("nack")
    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "camera") is not None)
    await collect_counters(bob.track_of(alice.participant_id, "camera"), 5)

    media = server.service.media["nack"]
    consumer = next(iter(media.subscribers[bob.participant_id].consumers.values()))
    mid = consumer.slot.mid
    receiver = next(t.receiver for t in bob.subscribe_pc.getTransceivers() if t.mid == mid)
    ssrc, stream = next(iter(receiver._RTCRtpReceiver__remote_streams.items()))
    recent = sorted((stream.max_seq - i) & 0xFFFF for i in range(1, 6))
    await receiver._send_rtcp_nack(ssrc, recent)
    await asyncio.sleep(0.3)
    assert consumer.retransmissions == 5


async def test_loudest_participant_becomes_active_speaker(server, make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("speaker")
    await bob.join("speaker")
    loud, quiet = ToneAudioTrack(amplitude=0.8), ToneAudioTrack(amplitude=0.0005)
    await alice.publish({"microphone": loud})
    await bob.publish({"microphone": quiet})
    await bob.wait_for(
        lambda: ("active_speaker", {"participant_id": alice.participant_id}) in bob.events
    )
    # Now Bob speaks and Alice falls silent: the highlight moves.
    loud.amplitude, quiet.amplitude = 0.0005, 0.8
    await alice.wait_for(
        lambda: ("active_speaker", {"participant_id": bob.participant_id}) in alice.events
    )


async def test_muted_microphone_is_announced_and_not_forwarded(server, make_client):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("mute")
    await bob.join("mute")
    await alice.publish({"microphone": ToneAudioTrack()})
    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "microphone") is not None)
    consumer = next(
        iter(server.service.media["mute"].subscribers[bob.participant_id].consumers.values())
    )
    await bob.wait_for(lambda: consumer.packets_sent > 10)

    await alice.call("mute", {"source": "microphone", "muted": True})
    await bob.wait_for(lambda: bob.participants[alice.participant_id]["audio_muted"] is True)
    sent = consumer.packets_sent
    await asyncio.sleep(0.5)
    assert consumer.packets_sent == sent

    await alice.call("mute", {"source": "microphone", "muted": False})
    await bob.wait_for(lambda: bob.participants[alice.participant_id]["audio_muted"] is False)
    await bob.wait_for(lambda: consumer.packets_sent > sent + 10)


async def test_set_view_pauses_video_of_others_but_keeps_their_audio(server, make_client):
    viewer = await make_client("Viewer")
    shown, hidden = await make_client("Shown"), await make_client("Hidden")
    for client in (viewer, shown, hidden):
        await client.join("view")
    await viewer.call("set_view", {"video": [shown.participant_id]})
    for client in (shown, hidden):
        await client.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack()})
    await viewer.wait_for(lambda: len(viewer.tracks) == 4, timeout=15)
    await collect_counters(viewer.track_of(shown.participant_id, "camera"), 5)
    await asyncio.sleep(1.0)
    consumers = server.service.media["view"].subscribers[viewer.participant_id].consumers
    sent = {
        (c.producer.app_data["participant_id"], c.kind): c.packets_sent for c in consumers.values()
    }
    assert sent[(hidden.participant_id, "video")] == 0
    assert sent[(hidden.participant_id, "audio")] > 10
    assert sent[(shown.participant_id, "video")] > 10

    # Switching the page shows the other video (from a keyframe) promptly.
    await viewer.call("set_view", {"video": [hidden.participant_id]})
    await collect_counters(viewer.track_of(hidden.participant_id, "camera"), 3, timeout=10)
