"""Every bad message gets an error acknowledgement with a stable code."""

from __future__ import annotations

import pytest

VALID_JOIN = {"protocol": 1, "room": "valid", "name": "Ada"}


async def error_code(client, event, payload=None):
    ack = await client.call(event, payload, raw=True)
    assert ack["ok"] is False, ack
    assert set(ack["error"]) == {"code", "message"} and ack["error"]["message"]
    return ack["error"]["code"]


async def test_unknown_event_is_refused(make_client):
    client = await make_client()
    assert await error_code(client, "teleport", {}) == "unknown_event"


@pytest.mark.parametrize("payload", [["not", "an", "object"], "join me", 42])
async def test_payload_that_is_not_an_object_is_refused(make_client, payload):
    client = await make_client()
    assert await error_code(client, "join", payload) == "invalid_payload"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"protocol": 2}, "unsupported_protocol"),
        ({"protocol": "1"}, "invalid_payload"),
        ({"protocol": True}, "invalid_payload"),
        ({"room": "has spaces"}, "invalid_payload"),
        ({"room": "x" * 65}, "invalid_payload"),
        ({"name": ""}, "invalid_payload"),
        ({"name": "   "}, "invalid_payload"),
        ({"name": "n" * 65}, "invalid_payload"),
        ({"name": "bell\x07"}, "invalid_payload"),
        ({"name": "evil\u202eoverride"}, "invalid_payload"),
        ({"name": None}, "invalid_payload"),
        ({"extra": 1}, "invalid_payload"),
        ({"resume_token": "t" * 300}, "invalid_payload"),
    ],
)
async def test_bad_join_fields_are_refused(make_client, change, code):
    client = await make_client()
    assert await error_code(client, "join", {**VALID_JOIN, **change}) == code


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("publish", {"sdp": "v=0", "sources": {}}),
        ("publisher_ice", {"candidate": "", "sdp_mid": "0", "sdp_mline_index": 0}),
        ("subscriber_answer", {"revision": 1, "sdp": "v=0"}),
        ("mute", {"source": "microphone", "muted": True}),
        ("leave", {}),
    ],
)
async def test_messages_before_join_are_refused(make_client, event, payload):
    client = await make_client()
    assert await error_code(client, event, payload) == "not_joined"


async def test_second_join_on_one_socket_is_refused(make_client):
    client = await make_client()
    await client.join("twice")
    assert await error_code(client, "join", {**VALID_JOIN, "room": "other"}) == "already_joined"


async def test_emoji_names_with_joiners_are_accepted(make_client):
    client = await make_client("Dev \U0001f469\u200d\U0001f4bb")
    ack = await client.join("emoji")
    assert ack["participants"][0]["name"] == "Dev \U0001f469\u200d\U0001f4bb"


async def test_join_names_are_trimmed_and_everyone_sees_the_joiner(make_client):
    ada, bob = await make_client("  Ada   Lovelace "), await make_client("Bob")
    ack = await ada.join("roster")
    assert ack["protocol"] == 1 and ack["participants"][0]["name"] == "Ada Lovelace"
    await bob.join("roster")
    await ada.wait_for(lambda: len(ada.participants) == 2)
    assert {p["name"] for p in ada.participants.values()} == {"Ada Lovelace", "Bob"}


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"sdp": "", "sources": {}}, "invalid_payload"),
        ({"sdp": "x" * (64 * 1024 + 1), "sources": {}}, "invalid_payload"),
        ({"sdp": "v=0", "sources": {"0": "hologram"}}, "invalid_payload"),
        ({"sdp": "v=0", "sources": {"0": "camera", "1": "camera"}}, "invalid_payload"),
        ({"sdp": "v=0", "sources": []}, "invalid_payload"),
        ({"sdp": "this is not sdp", "sources": {}}, "invalid_sdp"),
    ],
)
async def test_bad_publish_is_refused(make_client, payload, code):
    client = await make_client()
    await client.join("pub")
    assert await error_code(client, "publish", payload) == code


async def test_publish_naming_a_mid_not_in_the_offer_is_refused(make_client):
    from aiortc import RTCConfiguration, RTCPeerConnection
    from media_peers import ToneAudioTrack

    client = await make_client()
    await client.join("pub-mid")
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(ToneAudioTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    payload = {"sdp": pc.localDescription.sdp, "sources": {"7": "microphone"}}
    assert await error_code(client, "publish", payload) == "invalid_sources"
    await pc.close()


async def test_ice_candidate_before_publish_is_refused(make_client):
    client = await make_client()
    await client.join("ice")
    payload = {
        "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
        "sdp_mid": "0",
        "sdp_mline_index": 0,
    }
    assert await error_code(client, "publisher_ice", payload) == "invalid_state"


async def test_answer_without_pending_offer_is_stale(make_client):
    client = await make_client()
    await client.join("stale")
    assert (
        await error_code(client, "subscriber_answer", {"revision": 5, "sdp": "v=0"})
        == "stale_answer"
    )


@pytest.mark.parametrize(
    "payload",
    [{"source": "screen", "muted": True}, {"source": "microphone", "muted": "yes"}, {"source": 1}],
)
async def test_bad_mute_is_refused(make_client, payload):
    client = await make_client()
    await client.join("mute")
    assert await error_code(client, "mute", payload) == "invalid_payload"


async def test_socket_survives_errors_and_still_works(make_client):
    client = await make_client()
    for _ in range(3):
        await error_code(client, "join", {"protocol": 1})
    ack = await client.join("after-errors")
    assert ack["ok"]


async def test_unusable_subscriber_answer_is_refused_with_invalid_sdp(make_client):
    from media_peers import ToneAudioTrack

    alice, bob = await make_client("Alice"), await make_client("Bob")
    bob.auto_answer = False
    await alice.join("bad-answer")
    await bob.join("bad-answer")
    await alice.publish({"microphone": ToneAudioTrack()})
    await bob.wait_for(lambda: any(e == "subscriber_offer" for e, _ in bob.events))
    offer = next(d for e, d in bob.events if e == "subscriber_offer")
    payload = {"revision": offer["revision"], "sdp": "v=0\r\nm=banana\r\n"}
    assert await error_code(bob, "subscriber_answer", payload) == "invalid_sdp"


async def test_source_published_while_muted_is_not_forwarded(server, make_client):
    from media_peers import ToneAudioTrack

    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("pre-muted")
    await bob.join("pre-muted")
    await alice.call("mute", {"source": "microphone", "muted": True})
    await alice.publish({"microphone": ToneAudioTrack()})
    await bob.wait_for(lambda: bob.track_of(alice.participant_id, "microphone") is not None)
    import asyncio

    await asyncio.sleep(1.0)
    consumers = server.service.media["pre-muted"].subscribers[bob.participant_id].consumers
    assert [c.packets_sent for c in consumers.values()] == [0]


async def test_subscriber_ice_before_any_answer_is_refused(make_client):
    client = await make_client()
    await client.join("sub-ice")
    payload = {
        "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
        "sdp_mid": "0",
        "sdp_mline_index": 0,
    }
    assert await error_code(client, "subscriber_ice", payload) == "invalid_state"


async def test_large_room_subscriber_answer_passes_validation_and_transport(make_client):
    """A 100-track answer is ~110 KiB: it must reach the service, not bounce off a limit."""
    client = await make_client()
    await client.join("big-answer")
    large = "v=0\r\n" + "a=x-filler:" + "y" * 200_000 + "\r\n"
    # No offer is pending, so the service answers stale_answer: validation passed.
    assert await error_code(client, "subscriber_answer", {"revision": 1, "sdp": large}) == (
        "stale_answer"
    )
    too_large = "v=0\r\n" + "y" * (1024 * 1024 + 1)
    assert await error_code(client, "subscriber_answer", {"revision": 1, "sdp": too_large}) == (
        "invalid_payload"
    )


@pytest.mark.parametrize("name", ["\u200d", " \u200c\u200d ", "\u200d \u200d"])
async def test_names_of_nothing_but_joiners_are_refused(make_client, name):
    client = await make_client()
    assert await error_code(client, "join", {**VALID_JOIN, "name": name}) == "invalid_payload"


@pytest.mark.parametrize(
    "payload",
    [
        {"video": [], "sizes": {"p_1": 0}},
        {"video": [], "sizes": {"p_1": 4321}},
        {"video": [], "sizes": {"p_1": 240.5}},
        {"video": [], "sizes": {"p_1": True}},
        {"video": [], "sizes": {"p_1": "240"}},
        {"video": [], "sizes": ["p_1", 240]},
        {"video": [], "sizes": {f"p_{i}": 100 for i in range(101)}},
        {"video": [], "pinned": ["a", "b", "c", "d", "e"]},
        {"video": [], "pinned": "p_1"},
        {"video": [], "pinned": [7]},
        {"video": [], "tiles": {}},
        {"video": [], "later": -1},
        {"video": [], "later": 17},
        {"video": [], "later": 1.5},
        {"video": [], "later": True},
        {"video": [], "later": "1"},
    ],
)
async def test_bad_view_sizes_and_pins_are_refused(make_client, payload):
    client = await make_client()
    await client.call("join", {**VALID_JOIN, "room": "sizes"})
    assert await error_code(client, "set_view", payload) == "invalid_payload"


async def test_view_sizes_and_pins_are_accepted_and_the_join_names_the_layers(make_client):
    client = await make_client()
    joined = await client.call("join", {**VALID_JOIN, "room": "sizes-ok"})
    assert [layer["rid"] for layer in joined["media"]["simulcast"]] == ["q", "h", "f"]
    assert [layer["scale_down"] for layer in joined["media"]["simulcast"]] == [4.0, 2.0, 1.0]
    # Their bitrates are for a camera of this size (a smaller one scales them).
    assert joined["media"]["simulcast_reference"] == {"width": 1280, "height": 720}
    ack = await client.call(
        "set_view", {"video": ["p_1"], "sizes": {"p_1": 240, "p_2": 4320}, "pinned": ["p_1"]}
    )
    assert ack == {"ok": True}
    ack = await client.call("set_view", {"video": ["p_1"], "later": 16})
    assert ack == {"ok": True}
