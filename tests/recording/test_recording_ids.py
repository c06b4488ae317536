"""A recording's id starts with a letter or digit. One starting with ``-``
reads as an option on a command line, and the meeting report's CSV (which
writes a cell starting with ``-`` with a leading ``'``, its guard against
formulas) named it differently from the API: 1 id in 64 did, and
tests/recording/test_transcript_links.py failed when one of its three did."""

from __future__ import annotations

from recording.library import ID_PATTERN, new_recording_id


def test_ids_start_with_a_letter_or_digit_and_stay_valid_and_distinct() -> None:
    ids = [new_recording_id() for _ in range(5000)]
    assert all(i[0].isalnum() for i in ids)
    assert all(ID_PATTERN.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)
