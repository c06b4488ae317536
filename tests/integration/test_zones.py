"""Acoustic zones: the SFU never forwards audio between participants who sit in
the same physical room; video is unaffected. Real aiortc peers, packets counted
at the SFU's consumers."""

from __future__ import annotations

import asyncio

from media_peers import CounterVideoTrack, ToneAudioTrack


def sent_by_owner(server, room, viewer):
    """(owner participant id, kind) -> packets the SFU sent ``viewer``."""
    consumers = server.service.media[room].subscribers[viewer.participant_id].consumers
    return {
        (c.producer.app_data["participant_id"], c.kind): c.packets_sent for c in consumers.values()
    }


async def test_no_audio_between_devices_in_one_room_but_video_flows(server, make_client):
    device = await make_client("Aula")
    ack = await device.join("zones", mode="room", zone="Aula")
    code = ack["meeting"]["checkin"]["code"]
    assert ack["meeting"]["checkin"]["zone"] == "Aula"
    companion = await make_client("Cara")
    await companion.join("zones", mode="companion", zone="Aula")
    checked_in = await make_client("Dev")
    dev_ack = await checked_in.join("zones", checkin=code.lower())
    me = next(p for p in dev_ack["participants"] if p["id"] == checked_in.participant_id)
    assert me["zone"] == "Aula" and me["mode"] == "companion"
    remote = await make_client("Remo")
    await remote.join("zones")

    everyone = (device, companion, checked_in, remote)
    for client in everyone:
        await client.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack()})
    for client in everyone:
        await client.wait_for(lambda c=client: len(c.tracks) == 6, timeout=20)
    await asyncio.sleep(1.5)

    in_room = (device, companion, checked_in)
    for viewer in in_room:
        sent = sent_by_owner(server, "zones", viewer)
        for owner in in_room:
            if owner is not viewer:
                assert sent[(owner.participant_id, "audio")] == 0, (viewer.name, owner.name)
                assert sent[(owner.participant_id, "video")] > 0, (viewer.name, owner.name)
        # The remote person is heard in the room (through the room device, and by
        # whoever turns a speaker on).
        assert sent[(remote.participant_id, "audio")] > 0
    # The remote person hears everyone in the room.
    sent = sent_by_owner(server, "zones", remote)
    for owner in in_room:
        assert sent[(owner.participant_id, "audio")] > 0
        assert sent[(owner.participant_id, "video")] > 0


async def test_unknown_checkin_codes_and_room_devices_without_a_zone_are_refused(make_client):
    host = await make_client("Host")
    await host.join("codes")
    client = await make_client("Guest")
    ack = await client.call(
        "join", {"protocol": 1, "room": "codes", "name": "G", "checkin": "ZZZZZZ"}, raw=True
    )
    assert ack["error"]["code"] == "unknown_checkin"
    ack = await client.call(
        "join", {"protocol": 1, "room": "codes", "name": "G", "mode": "room"}, raw=True
    )
    assert ack["error"]["code"] == "invalid_payload" and "zone" in ack["error"]["message"]
