"""The one resume-token lookup: participants, mirrors and roster entries alike."""

from __future__ import annotations

from conf_server.domain.resume_tokens import entry_token, holder_of


def test_the_holder_of_a_token_is_found_in_a_roster_and_nothing_else_matches() -> None:
    roster = [
        {"id": "p_1"},
        {"id": "p_2", "resume_token": "tok-2"},
        {"id": "p_3", "resume_token": ""},
    ]
    assert holder_of(roster, "tok-2", entry_token) == roster[1]
    assert holder_of(roster, "tok-3", entry_token) is None
    # An empty token matches nobody, not even entries without one.
    assert holder_of(roster, "", entry_token) is None
    # Any characters are just no match (compare_digest raises on non-ASCII str).
    assert holder_of(roster, "tök-2", entry_token) is None
    assert holder_of([{"resume_token": "tök"}], "tök", entry_token) == {"resume_token": "tök"}
