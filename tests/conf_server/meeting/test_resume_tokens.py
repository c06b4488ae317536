"""A resume token is looked up one way wherever it is looked up
(conf_server/domain/resume_tokens.py): the right one gives the participant
back, and any other string a client sends, whatever its characters, is
simply no match: the client joins anew.

Real server, real Socket.IO clients.
"""

from __future__ import annotations

from typing import Any


async def test_a_resume_token_of_any_characters_is_no_match_and_joins_anew(
    make_member: Any,
) -> None:
    ada = await make_member("Ada", room="tokens")
    # Before: compared as str, a non-ASCII token made the comparison raise
    # (secrets.compare_digest), and the join failed.
    stranger = await make_member("Bo", room="tokens", resume_token="café-ü-ß")
    assert stranger.participant_id != ada.participant_id
    assert set(stranger.participants) == {ada.participant_id, stranger.participant_id}


async def test_the_right_resume_token_gives_the_participant_back(make_member: Any) -> None:
    ada = await make_member("Ada")
    ack = await ada.join("tokens-back")
    await make_member("Bo", room="tokens-back")
    again = await make_member("Ada")  # a new socket, e.g. after a network change
    await again.join("tokens-back", resume_token=ack["resume_token"])
    assert again.participant_id == ada.participant_id
