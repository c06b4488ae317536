"""Host controls act on the media itself: a client that ignores the notice and
keeps sending is still not heard or seen."""

from __future__ import annotations

import asyncio

from media_peers import CounterVideoTrack, ToneAudioTrack


def consumer_of(server, room, viewer, owner, kind):
    consumers = server.service.media[room].subscribers[viewer.participant_id].consumers
    return next(
        c
        for c in consumers.values()
        if c.producer.app_data["participant_id"] == owner.participant_id and c.kind == kind
    )


async def test_host_mute_and_stop_video_stop_forwarding_at_once(server, make_client):
    host, speaker, listener = [await make_client(n) for n in ("Host", "Speaker", "Listener")]
    for client in (host, speaker, listener):
        await client.join("moderated")
    # The speaker's client keeps sending whatever it is told: its tracks never stop.
    await speaker.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack()})
    await listener.wait_for(lambda: len(listener.tracks) == 2, timeout=15)
    audio = consumer_of(server, "moderated", listener, speaker, "audio")
    video = consumer_of(server, "moderated", listener, speaker, "video")
    await listener.wait_for(lambda: audio.packets_sent > 10 and video.packets_sent > 10)

    await host.call("mute_participant", {"participant_id": speaker.participant_id, "lock": True})
    await host.call("stop_media", {"participant_id": speaker.participant_id, "source": "camera"})
    await listener.wait_for(
        lambda: listener.participants[speaker.participant_id]["video_muted"] is True
    )
    audio_sent, video_sent = audio.packets_sent, video.packets_sent
    await asyncio.sleep(0.6)
    assert (audio.packets_sent, video.packets_sent) == (audio_sent, video_sent)

    # While locked, the speaker cannot turn it back on.
    error = await speaker.call("mute", {"source": "microphone", "muted": False}, raw=True)
    assert error["error"]["code"] == "mic_locked"
    await asyncio.sleep(0.3)
    assert audio.packets_sent == audio_sent

    # Unlocked and unmuted by its owner: audio flows again.
    await host.call("unlock_microphone", {"participant_id": speaker.participant_id})
    await speaker.call("mute", {"source": "microphone", "muted": False})
    await listener.wait_for(lambda: audio.packets_sent > audio_sent + 10)
