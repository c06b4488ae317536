"""Host controls over Socket.IO: roles, muting, stopping media, removing, ending.

Every permission is checked on the server from the sender's session; a refused
action changes nothing.
"""

from __future__ import annotations

import pytest


async def room_of_three(make_member, room="ctl"):
    host = await make_member("Hana", room=room, client_id="dev-hana")
    ada = await make_member("Ada", room=room, client_id="dev-ada")
    bob = await make_member("Bob", room=room, client_id="dev-bob")
    await host.wait_for(lambda: len(host.participants) == 3)
    return host, ada, bob


async def test_the_creator_is_host_and_everyone_sees_roles(make_member):
    host, ada, bob = await room_of_three(make_member)
    assert host.meeting["role"] == "host"
    assert host.meeting["host_key"]
    assert ada.meeting["role"] == "participant"
    assert ada.meeting["host_key"] is None and ada.meeting["passcode"] is None
    assert bob.participants[host.participant_id]["role"] == "host"
    assert bob.participants[ada.participant_id]["role"] == "participant"


async def test_the_host_key_makes_a_host(make_member):
    host = await make_member("Hana", room="key")
    key = host.meeting["host_key"]
    other = await make_member("Otto", room="key", host_key=key)
    assert other.meeting["role"] == "host"
    wrong = await make_member("Wendy", room="key", host_key="not-the-key")
    assert wrong.meeting["role"] == "participant"


HOST_ACTIONS = [
    ("mute_participant", lambda t: {"participant_id": t}),
    ("mute_participant", lambda t: {"participant_id": t, "lock": True}),
    ("mute_all", lambda t: {}),
    ("unlock_microphone", lambda t: {}),
    ("stop_media", lambda t: {"participant_id": t, "source": "camera"}),
    ("stop_media", lambda t: {"participant_id": t, "source": "screen"}),
    ("remove_participant", lambda t: {"participant_id": t}),
    ("set_role", lambda t: {"participant_id": t, "role": "co_host"}),
    ("lock_meeting", lambda t: {"locked": True}),
    ("configure_meeting", lambda t: {"passcode": "1234"}),
    ("configure_meeting", lambda t: {"lobby_enabled": True}),
    ("admit", lambda t: {}),
    ("deny", lambda t: {}),
    ("end_meeting", lambda t: {}),
    ("lower_all_hands", lambda t: {}),
    ("next_hand", lambda t: {}),
]


@pytest.mark.parametrize(("event", "payload"), HOST_ACTIONS)
async def test_a_participant_cannot_use_host_controls(make_member, server, event, payload):
    host, ada, bob = await room_of_three(make_member)
    before = (await server.service.store.get("ctl")).to_dict()
    error = await ada.error_of(event, payload(bob.participant_id))
    assert error["code"] == "forbidden", error
    assert "participant may not" in error["message"]
    assert (await server.service.store.get("ctl")).to_dict() == before
    # Nobody was told anything happened.
    for client in (host, ada, bob):
        assert not client.of("muted_by_host") and not client.of("removed")
        assert not client.of("meeting_ended") and not client.of("meeting_updated")


async def test_a_payload_cannot_claim_a_role(make_member):
    _host, ada, _bob = await room_of_three(make_member)
    error = await ada.error_of("set_role", {"participant_id": ada.participant_id, "role": "host"})
    assert error["code"] == "invalid_payload"
    error = await ada.error_of("mute_all", {"lock": True, "role": "host"})
    assert error["code"] == "invalid_payload"


async def test_mute_and_self_unmute(make_member):
    host, ada, bob = await room_of_three(make_member)
    await host.call("mute_participant", {"participant_id": ada.participant_id})
    notice = await ada.wait_event("muted_by_host")
    assert notice == {"source": "microphone", "locked": False, "by": "Hana"}
    await bob.wait_for(lambda: bob.participants[ada.participant_id]["audio_muted"])
    # Not locked: Ada may unmute herself.
    await ada.call("mute", {"source": "microphone", "muted": False})
    await bob.wait_for(lambda: not bob.participants[ada.participant_id]["audio_muted"])


async def test_a_locked_microphone_stays_muted_until_unlocked(make_member):
    host, ada, bob = await room_of_three(make_member)
    await host.call("mute_participant", {"participant_id": ada.participant_id, "lock": True})
    notice = await ada.wait_event("muted_by_host")
    assert notice["locked"] is True
    await bob.wait_for(lambda: bob.participants[ada.participant_id]["mic_locked"])
    error = await ada.error_of("mute", {"source": "microphone", "muted": False})
    assert error["code"] == "mic_locked"
    assert bob.participants[ada.participant_id]["audio_muted"] is True
    # Muting again, or the camera, is still fine.
    await ada.call("mute", {"source": "camera", "muted": True})
    await host.call("unlock_microphone", {"participant_id": ada.participant_id})
    await bob.wait_for(lambda: not bob.participants[ada.participant_id]["mic_locked"])
    await ada.call("mute", {"source": "microphone", "muted": False})


async def test_mute_all_with_lock_holds_later_joiners_but_not_hosts(make_member):
    host, ada, bob = await room_of_three(make_member)
    await host.call("mute_all", {"lock": True})
    for client in (ada, bob):
        assert (await client.wait_event("muted_by_host"))["locked"] is True
    assert not host.of("muted_by_host")
    late = await make_member("Late", room="ctl")
    me = late.participants[late.participant_id]
    assert me["audio_muted"] is True and me["mic_locked"] is True
    assert late.meeting["mic_locked"] is True
    assert (await late.error_of("mute", {"source": "microphone", "muted": False}))[
        "code"
    ] == "mic_locked"
    # The host can always talk.
    await host.call("mute", {"source": "microphone", "muted": False})
    await host.call("unlock_microphone", {})
    await late.call("mute", {"source": "microphone", "muted": False})


async def test_stop_camera_and_screen(make_member):
    host, ada, bob = await room_of_three(make_member)
    await host.call("stop_media", {"participant_id": ada.participant_id, "source": "camera"})
    assert (await ada.wait_event("muted_by_host"))["source"] == "camera"
    await bob.wait_for(lambda: bob.participants[ada.participant_id]["video_muted"])
    await host.call("stop_media", {"participant_id": ada.participant_id, "source": "screen"})
    await ada.wait_event("muted_by_host", lambda d: d["source"] == "screen")
    # She may turn the camera on again.
    await ada.call("mute", {"source": "camera", "muted": False})
    await bob.wait_for(lambda: not bob.participants[ada.participant_id]["video_muted"])


async def test_co_hosts_moderate_but_not_hosts_and_only_hosts_promote(make_member):
    host, ada, bob = await room_of_three(make_member)
    await host.call("set_role", {"participant_id": ada.participant_id, "role": "co_host"})
    state = await ada.wait_event("meeting_state")
    assert state["meeting"]["role"] == "co_host"
    assert ada.meeting["passcode"] is None and ada.meeting["lobby"] == []
    await bob.wait_for(lambda: bob.participants[ada.participant_id]["role"] == "co_host")
    # A co-host mutes participants ...
    await ada.call("mute_participant", {"participant_id": bob.participant_id})
    await bob.wait_event("muted_by_host")
    # ... but not the host, and cannot hand out roles.
    error = await ada.error_of("mute_participant", {"participant_id": host.participant_id})
    assert error["code"] == "forbidden"
    error = await ada.error_of(
        "set_role", {"participant_id": bob.participant_id, "role": "co_host"}
    )
    assert error["code"] == "forbidden"
    error = await ada.error_of("remove_participant", {"participant_id": host.participant_id})
    assert error["code"] == "forbidden"
    # Promoting twice makes no sense; the host demotes.
    error = await host.error_of(
        "set_role", {"participant_id": ada.participant_id, "role": "co_host"}
    )
    assert error["code"] == "invalid_action"
    await host.call("set_role", {"participant_id": ada.participant_id, "role": "participant"})
    await bob.wait_for(lambda: bob.participants[ada.participant_id]["role"] == "participant")
    assert ada.meeting["role"] == "participant"
    error = await ada.error_of("mute_participant", {"participant_id": bob.participant_id})
    assert error["code"] == "forbidden"


async def test_unknown_targets_are_refused(make_member):
    host, _ada, _bob = await room_of_three(make_member)
    error = await host.error_of("mute_participant", {"participant_id": "p_nobody"})
    assert error["code"] == "unknown_participant"
    error = await host.error_of("remove_participant", {"participant_id": host.participant_id})
    assert error["code"] == "invalid_action"


async def test_a_removed_participant_cannot_come_back(make_member):
    host, ada, bob = await room_of_three(make_member)
    await host.call("remove_participant", {"participant_id": ada.participant_id})
    notice = await ada.wait_event("removed")
    assert "Hana" in notice["message"]
    await ada.disconnected.wait()
    left = await bob.wait_event("participant_left")
    assert left == {"participant_id": ada.participant_id, "reason": "removed"}
    # Same device (client id): refused, also with the old resume token.
    again = await make_member("Ada again", client_id="dev-ada")
    error = await again.error_of(
        "join", {"protocol": 1, "room": "ctl", "name": "Ada", "client_id": "dev-ada"}
    )
    assert error["code"] == "banned"
    assert set(host.participants) == {host.participant_id, bob.participant_id}


async def test_lock_keeps_newcomers_out_but_not_hosts(make_member):
    host, _ada, bob = await room_of_three(make_member)
    await host.call("lock_meeting", {"locked": True})
    assert (await bob.wait_event("meeting_updated"))["locked"] is True
    newcomer = await make_member("New")
    error = await newcomer.error_of("join", {"protocol": 1, "room": "ctl", "name": "New"})
    assert error["code"] == "meeting_locked"
    co = await make_member("Co", room="ctl", host_key=host.meeting["host_key"])
    assert co.meeting["role"] == "host"
    await host.call("lock_meeting", {"locked": False})
    await newcomer.join("ctl")
    assert newcomer.participant_id


async def test_end_meeting_for_all(make_member):
    host, ada, bob = await room_of_three(make_member)
    await host.call("end_meeting", {})
    for client in (host, ada, bob):
        ended = await client.wait_event("meeting_ended")
        assert ended["by"] == "Hana"
        await client.disconnected.wait()
    late = await make_member("Late")
    error = await late.error_of("join", {"protocol": 1, "room": "ctl", "name": "Late"})
    assert error["code"] == "meeting_ended"
