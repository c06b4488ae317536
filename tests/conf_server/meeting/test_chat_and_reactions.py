"""Chat and reactions over real Socket.IO (docs/protocol.md, "Chat and reactions").

Chat: everyone (the sender too) gets every message, a late joiner gets the history
in order, the text rules give ``message_too_long`` / ``invalid_message``, and a
burst beyond 5 messages gets ``rate_limited`` with ``retry_after``. Reactions:
everyone gets the canonical emoji, unknown ones and bursts are refused. A refused
message changes nothing: nothing is stored, nobody receives anything.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from meeting_client import ProtocolError
from signaling_client import barrier

ROOM = "chat"

THUMBS_UP = "\U0001f44d"
HEART = "\u2764\ufe0f"
BARE_HEART = "\u2764"
PARTY = "\U0001f389"
WAVE = "\U0001f44b"
MEDIUM_SKIN = "\U0001f3fd"


async def stored_chat(server: Any) -> list[dict[str, Any]]:
    return await server.service.store.read(ROOM, "chat")


def texts(client: Any) -> list[str]:
    return [data["message"]["text"] for data in client.of("chat_message")]


@pytest.fixture
async def room(make_member):
    """A host and three participants, everyone seeing everyone."""
    host = await make_member("Hana", room=ROOM)
    people = [await make_member(name, room=ROOM) for name in ("Ada", "Bob", "Cy")]
    everyone = [host, *people]
    for client in everyone:
        await client.wait_for(lambda c=client: len(c.participants) == len(everyone))
    return [host, *people]


# -- chat ---------------------------------------------------------------------------


async def test_a_chat_message_reaches_everyone_including_the_sender(room, server):
    _host, ada, _bob, _cy = room
    ack = await ada.call("chat_send", {"text": "Hello, everyone!"})
    message = ack["message"]
    assert message["sender_id"] == ada.participant_id
    assert message["sender_name"] == "Ada"
    assert message["text"] == "Hello, everyone!"
    assert isinstance(message["id"], int)
    assert isinstance(message["sent_at"], float)
    await barrier(*room)
    for client in room:
        assert client.of("chat_message") == [{"message": message}], client.name
    assert await stored_chat(server) == [message]


async def test_message_ids_grow_by_one_and_everyone_sees_the_same_order(room):
    host, ada, bob, cy = room
    acks = [
        await sender.call("chat_send", {"text": f"message {n}"})
        for n, sender in enumerate((ada, bob, host, cy, ada))
    ]
    ids = [ack["message"]["id"] for ack in acks]
    assert ids == list(range(ids[0], ids[0] + 5))
    await barrier(*room)
    for client in room:
        assert [d["message"] for d in client.of("chat_message")] == [a["message"] for a in acks]


async def test_concurrent_messages_get_distinct_ids_and_one_order_for_all(room):
    acks = await asyncio.gather(
        *(
            sender.call("chat_send", {"text": f"{sender.name} {n}"})
            for sender in room
            for n in (1, 2)
        )
    )
    ids = sorted(ack["message"]["id"] for ack in acks)
    assert ids == list(range(ids[0], ids[0] + len(acks)))
    await barrier(*room)
    seen = [[d["message"] for d in client.of("chat_message")] for client in room]
    assert [m["id"] for m in seen[0]] == ids
    assert all(view == seen[0] for view in seen)


async def test_a_late_joiner_gets_the_history_in_order(room, make_member):
    host, ada, bob, cy = room
    sent = []
    for sender, text in (
        (ada, "first"),
        (bob, "second\nwith a second line"),
        (host, "third 👩\u200d💻"),
        (ada, "fourth"),
    ):
        sent.append((await sender.call("chat_send", {"text": text}))["message"])
    late = await make_member("Late", room=ROOM)
    assert late.meeting["chat"] == sent
    # The history is no private copy: new messages reach the late joiner too.
    ack = await cy.call("chat_send", {"text": "welcome"})
    await barrier(late)
    assert late.of("chat_message") == [{"message": ack["message"]}]


async def test_the_history_keeps_the_last_500_messages(room, make_member):
    host = room[0]
    gate = asyncio.Semaphore(20)

    async def visit(index: int) -> None:
        # Five messages each (the burst the rate limit allows), then gone.
        async with gate:
            sender = await make_member(f"Sender {index}", room=ROOM)
            for n in range(5):
                await sender.call("chat_send", {"text": f"{index}:{n}"})
            await sender.call("leave")  # makes room for the next (rooms hold 100)
            await sender.close()

    await asyncio.gather(*(visit(index) for index in range(101)))
    await barrier(host)
    everything = [data["message"] for data in host.of("chat_message")]
    assert len(everything) == 505
    late = await make_member("Late", room=ROOM)
    history = late.meeting["chat"]
    assert history == everything[-500:]
    ids = [message["id"] for message in history]
    assert ids == list(range(ids[0], ids[0] + 500))


async def test_chat_and_reactions_stay_in_their_room(room, make_member):
    _host, ada, _bob, _cy = room
    elsewhere = await make_member("Eve", room="other-room")
    await ada.call("chat_send", {"text": "for this room only"})
    await ada.call("react", {"emoji": PARTY})
    await elsewhere.call("chat_send", {"text": "for the other room"})
    await barrier(*room, elsewhere)
    assert texts(elsewhere) == ["for the other room"]
    assert [r["participant_id"] for r in elsewhere.of("reaction")] == []
    for client in room:
        assert texts(client) == ["for this room only"], client.name
    late = await make_member("Late", room="other-room")
    assert [m["text"] for m in late.meeting["chat"]] == ["for the other room"]


async def test_text_is_trimmed_and_line_endings_become_newlines(room):
    _host, ada, bob, _cy = room
    ack = await ada.call("chat_send", {"text": "  \r\n line one\r\nline two\rline three \n "})
    assert ack["message"]["text"] == "line one\nline two\nline three"
    await barrier(bob)
    assert texts(bob) == ["line one\nline two\nline three"]


async def test_message_too_long_is_refused_and_not_stored(room, server):
    _host, ada, _bob, _cy = room
    error = await ada.error_of("chat_send", {"text": "x" * 2001})
    assert error["code"] == "message_too_long"
    # Exactly 2000 characters pass, also with white space around them.
    ok = await ada.call("chat_send", {"text": "y" * 2000})
    assert len(ok["message"]["text"]) == 2000
    ok = await ada.call("chat_send", {"text": "  " + "z" * 2000 + "\n"})
    assert ok["message"]["text"] == "z" * 2000
    await barrier(*room)
    for client in room:
        assert texts(client) == ["y" * 2000, "z" * 2000], client.name
    assert [m["text"] for m in await stored_chat(server)] == ["y" * 2000, "z" * 2000]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\n  \r\n",
        "ring \x07 the bell",
        "nul \x00 byte",
        "tab\there",
        "escape \x1b[31m red",
        "right-to-left \u202e override",
        "zero\u200bwidth space",
    ],
)
async def test_empty_or_control_characters_are_invalid_messages(room, server, text):
    _host, _ada, bob, _cy = room
    error = await bob.error_of("chat_send", {"text": text})
    assert error["code"] == "invalid_message"
    await barrier(*room)
    assert all(not client.of("chat_message") for client in room)
    assert await stored_chat(server) == []


@pytest.mark.parametrize("text", ["\u200d", " \u200c\u200d\u200c ", "\u200d\n\u200d"])
async def test_a_message_of_nothing_but_zero_width_joiners_is_invalid(room, server, text):
    ada = room[1]
    ack = await ada.sio.call("chat_send", {"text": text}, timeout=15)
    await barrier(*room)
    assert ack["ok"] is False, f"accepted and stored as {ack['message']['text']!r}"
    assert ack["error"]["code"] == "invalid_message"
    assert all(not client.of("chat_message") for client in room)
    assert await stored_chat(server) == []


async def test_refused_messages_take_nothing_from_the_rate_limit(room, server):
    _host, ada, _bob, _cy = room
    for bad in ("", "bell\x07", "x" * 2001, " "):
        assert (await ada.error_of("chat_send", {"text": bad}))["code"] in (
            "invalid_message",
            "message_too_long",
        )
    # Still the whole burst of five is available.
    for n in range(5):
        await ada.call("chat_send", {"text": f"ok {n}"})
    assert [m["text"] for m in await stored_chat(server)] == [f"ok {n}" for n in range(5)]


async def test_chat_rate_limit_five_quick_messages_then_retry_after(room, server):
    _host, ada, bob, _cy = room
    for n in range(5):
        await ada.call("chat_send", {"text": f"quick {n}"})
    error = await ada.error_of("chat_send", {"text": "one too many"})
    assert error["code"] == "rate_limited"
    retry_after = error["retry_after"]
    assert isinstance(retry_after, int | float) and not isinstance(retry_after, bool)
    assert 0 < retry_after <= 1.0  # one message a second after the burst
    assert error["message"]

    # Nothing of the refused message is stored or sent.
    await barrier(*room)
    for client in room:
        assert texts(client) == [f"quick {n}" for n in range(5)], client.name
    assert [m["text"] for m in await stored_chat(server)] == [f"quick {n}" for n in range(5)]

    # Others are not limited by Ada's burst.
    await bob.call("chat_send", {"text": "I can still talk"})

    # After retry_after one more message passes, and the next is refused again.
    await asyncio.sleep(retry_after + 0.05)
    await ada.call("chat_send", {"text": "after waiting"})
    again = await ada.error_of("chat_send", {"text": "too soon"})
    assert again["code"] == "rate_limited"
    await barrier(*room)
    expected = [f"quick {n}" for n in range(5)] + ["I can still talk", "after waiting"]
    for client in room:
        assert texts(client) == expected, client.name
    assert [m["text"] for m in await stored_chat(server)] == expected


async def test_a_concurrent_chat_burst_lets_exactly_five_through(room, server):
    _host, ada, _bob, _cy = room
    acks = await asyncio.gather(
        *(ada.sio.call("chat_send", {"text": f"burst {n}"}, timeout=15) for n in range(8))
    )
    passed = [ack for ack in acks if ack["ok"]]
    refused = [ack for ack in acks if not ack["ok"]]
    assert len(passed) == 5
    assert {ack["error"]["code"] for ack in refused} == {"rate_limited"}
    assert all(ack["error"]["retry_after"] > 0 for ack in refused)
    await barrier(*room)
    for client in room:
        assert len(client.of("chat_message")) == 5, client.name
    assert len(await stored_chat(server)) == 5


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"text": None},
        {"text": 5},
        {"text": ["hello"]},
        {"text": {"body": "hello"}},
        {"text": True},
        {"text": "hello", "to": "everyone"},
    ],
)
async def test_chat_payloads_of_the_wrong_shape_are_invalid_payload(room, server, payload):
    _host, ada, _bob, _cy = room
    error = await ada.error_of("chat_send", payload)
    assert error["code"] == "invalid_payload"
    await barrier(*room)
    assert all(not client.of("chat_message") for client in room)
    assert await stored_chat(server) == []


async def test_a_payload_that_is_not_an_object_is_invalid(room):
    _host, ada, _bob, _cy = room
    for event, payload in (("chat_send", "hello"), ("react", THUMBS_UP), ("chat_send", ["hi"])):
        ack = await ada.sio.call(event, payload, timeout=15)
        assert ack["ok"] is False
        assert ack["error"]["code"] == "invalid_payload"


async def test_chat_and_reactions_need_a_joined_room(room, make_member):
    outsider = await make_member("Outsider")  # connected, never joined
    with pytest.raises(ProtocolError) as refused:
        await outsider.call("chat_send", {"text": "hello?"})
    assert refused.value.code == "not_joined"
    with pytest.raises(ProtocolError) as refused:
        await outsider.call("react", {"emoji": THUMBS_UP})
    assert refused.value.code == "not_joined"
    # Someone who left is no longer in the room either.
    host, ada, bob, cy = room
    await cy.call("leave")
    assert (await cy.error_of("chat_send", {"text": "still here?"}))["code"] == "not_joined"
    await barrier(host, ada, bob)
    assert all(not client.of("chat_message") for client in (host, ada, bob))


async def test_a_person_in_the_lobby_cannot_chat(room, make_member, server):
    host = room[0]
    await host.call("configure_meeting", {"lobby_enabled": True})
    waiting = await make_member("Waiting")
    ack = await waiting.join(ROOM)
    assert ack["waiting"] is True
    assert (await waiting.error_of("chat_send", {"text": "let me in"}))["code"] == "in_lobby"
    assert (await waiting.error_of("react", {"emoji": WAVE}))["code"] == "in_lobby"
    await barrier(*room)
    assert all(not client.of("chat_message") for client in room)
    assert all(not client.of("reaction") for client in room)
    assert await stored_chat(server) == []


# -- reactions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        (THUMBS_UP, THUMBS_UP),
        (HEART, HEART),
        (BARE_HEART, HEART),  # the presentation selector is added
        (PARTY, PARTY),
        (THUMBS_UP + MEDIUM_SKIN, THUMBS_UP + MEDIUM_SKIN),  # hand gestures keep a skin tone
        (WAVE + MEDIUM_SKIN, WAVE + MEDIUM_SKIN),
    ],
)
async def test_a_reaction_reaches_everyone_with_the_canonical_emoji(room, sent, shown):
    _host, _ada, bob, _cy = room
    assert await bob.call("react", {"emoji": sent}) == {"ok": True}
    await barrier(*room)
    for client in room:
        reactions = client.of("reaction")
        assert len(reactions) == 1, client.name
        assert reactions[0]["participant_id"] == bob.participant_id
        assert reactions[0]["emoji"] == shown
        assert isinstance(reactions[0]["sent_at"], float)


async def test_every_allowed_reaction_is_accepted(room):
    host, _ada, _bob, _cy = room
    allowed = [THUMBS_UP, "\U0001f44e", "\U0001f44f", HEART, "\U0001f602"]
    allowed += ["\U0001f62e", PARTY, "\U0001f64f", WAVE]
    # Five senders so that no rate limit is reached.
    for n, emoji in enumerate(allowed):
        await room[n % 4].call("react", {"emoji": emoji})
    await barrier(*room)
    assert [r["emoji"] for r in host.of("reaction")] == allowed


@pytest.mark.parametrize(
    "emoji",
    [
        "\U0001f355",  # 🍕
        "\U0001f4a9",  # 💩
        "ok",
        THUMBS_UP + THUMBS_UP,
        BARE_HEART + MEDIUM_SKIN,  # a heart has no skin tone
        PARTY + MEDIUM_SKIN,
        "\U0001f600",  # 😀 is not among the nine
    ],
)
async def test_unknown_reactions_are_refused(room, emoji):
    _host, ada, _bob, _cy = room
    error = await ada.error_of("react", {"emoji": emoji})
    assert error["code"] == "unknown_reaction"
    await barrier(*room)
    assert all(not client.of("reaction") for client in room)


async def test_reaction_rate_limit(room):
    _host, ada, bob, _cy = room
    # Unknown emoji take nothing from the limit.
    for _ in range(3):
        assert (await ada.error_of("react", {"emoji": "\U0001f355"}))["code"] == "unknown_reaction"
    for _ in range(5):
        await ada.call("react", {"emoji": PARTY})
    error = await ada.error_of("react", {"emoji": PARTY})
    assert error["code"] == "rate_limited"
    retry_after = error["retry_after"]
    assert isinstance(retry_after, int | float) and not isinstance(retry_after, bool)
    assert 0 < retry_after <= 0.6 + 0.01  # 5 per 3 s: one every 0.6 s after the burst
    # Someone else still reacts.
    await bob.call("react", {"emoji": THUMBS_UP})
    await barrier(*room)
    for client in room:
        senders = [r["participant_id"] for r in client.of("reaction")]
        assert senders.count(ada.participant_id) == 5, client.name
        assert senders.count(bob.participant_id) == 1, client.name
    await asyncio.sleep(retry_after + 0.05)
    await ada.call("react", {"emoji": HEART})


async def test_a_concurrent_reaction_burst_lets_exactly_five_through(room):
    _host, _ada, _bob, cy = room
    acks = await asyncio.gather(
        *(cy.sio.call("react", {"emoji": WAVE}, timeout=15) for _ in range(9))
    )
    assert sum(ack["ok"] for ack in acks) == 5
    assert {ack["error"]["code"] for ack in acks if not ack["ok"]} == {"rate_limited"}
    await barrier(*room)
    for client in room:
        assert len(client.of("reaction")) == 5, client.name


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"emoji": None},
        {"emoji": 1},
        {"emoji": [THUMBS_UP]},
        {"emoji": False},
        {"emoji": THUMBS_UP, "target": "p_x"},
    ],
)
async def test_reaction_payloads_of_the_wrong_shape_are_invalid_payload(room, payload):
    _host, ada, _bob, _cy = room
    error = await ada.error_of("react", payload)
    assert error["code"] == "invalid_payload"
    await barrier(*room)
    assert all(not client.of("reaction") for client in room)
