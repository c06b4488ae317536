"""Reactions: the allowed set, one spelling out, per-sender rate limit."""

from __future__ import annotations

import json

import pytest

from conf_server.domain import ALLOWED_REACTIONS, RateLimited, Reactions, UnknownReaction

THUMBS_UP = "\U0001f44d"
HEART = "\u2764\ufe0f"


@pytest.mark.parametrize("emoji", ALLOWED_REACTIONS)
def test_every_allowed_reaction_is_accepted(emoji):
    assert Reactions().react("ann", emoji, now=0.0).emoji == emoji


def test_heart_without_the_emoji_selector_comes_out_with_it():
    assert Reactions().react("ann", "\u2764", now=0.0).emoji == HEART


def test_hand_reactions_may_carry_a_skin_tone():
    assert (
        Reactions().react("ann", THUMBS_UP + "\U0001f3fd", now=0.0).emoji
        == THUMBS_UP + "\U0001f3fd"
    )


@pytest.mark.parametrize(
    "emoji", ["", "x", "\U0001f4a9", "<script>", THUMBS_UP * 2, HEART + "\U0001f3fd", "\U0001f3fd"]
)
def test_other_reactions_are_refused(emoji):
    with pytest.raises(UnknownReaction) as info:
        Reactions().react("ann", emoji, now=0.0)
    assert info.value.code == "unknown_reaction"


def test_reaction_carries_sender_and_server_time():
    assert Reactions().react("ann", THUMBS_UP, now=7.5).to_dict() == {
        "sender_id": "ann",
        "emoji": THUMBS_UP,
        "sent_at": 7.5,
    }


def test_reactions_are_rate_limited_per_sender():
    reactions = Reactions(rate_capacity=5, rate_period=3.0)
    for _ in range(5):
        reactions.react("ann", THUMBS_UP, now=0.0)
    with pytest.raises(RateLimited) as info:
        reactions.react("ann", THUMBS_UP, now=0.0)
    assert info.value.retry_after == pytest.approx(0.6)
    reactions.react("bob", THUMBS_UP, now=0.0)
    reactions.react("ann", THUMBS_UP, now=0.6)


def test_unknown_reactions_do_not_use_up_the_rate_limit():
    reactions = Reactions(rate_capacity=1, rate_period=10.0)
    with pytest.raises(UnknownReaction):
        reactions.react("ann", "x", now=0.0)
    reactions.react("ann", THUMBS_UP, now=0.0)


def test_reactions_state_survives_a_json_round_trip():
    reactions = Reactions(rate_capacity=1, rate_period=10.0)
    reactions.react("ann", THUMBS_UP, now=0.0)
    again = Reactions.from_dict(json.loads(json.dumps(reactions.to_dict())))
    with pytest.raises(RateLimited):
        again.react("ann", THUMBS_UP, now=1.0)
