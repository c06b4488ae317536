"""The share links' store and password hashes, without a server: scrypt
round trips and refuses what it should; the audit trail stays bounded; the
shares go with their recording (retention)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conf_server.errors import InvalidRequest, NotFound
from conf_server.integration.recording_shares import (
    MAX_AUDIT_ENTRIES,
    MAX_SHARES,
    SHARES_FILE,
    ShareBook,
    TooManyShares,
    recording_of,
)
from conf_server.integration.share_passwords import (
    check_password,
    hash_password,
    verify_password,
)
from recording.library import RecordingLibrary

PASSWORD = "a long enough password"


def test_a_password_is_stored_as_a_salted_scrypt_hash_and_verified() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first["algorithm"] == "scrypt" and first["n"] == 2**14
    assert first["salt"] != second["salt"] and first["key"] != second["key"]
    assert PASSWORD not in json.dumps(first)
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + " ", first)
    assert not verify_password("x" * 10_000, first)  # not even hashed


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"algorithm": "md5", "n": 2, "r": 1, "p": 1, "salt": "", "key": ""},
        {"algorithm": "scrypt", "n": 2**20, "r": 8, "p": 1, "salt": "AA==", "key": "AA=="},
        {"algorithm": "scrypt", "n": 2**14, "r": 8, "p": 1, "salt": "not base64!", "key": "AA=="},
    ],
)
def test_a_stored_hash_that_makes_no_sense_never_matches(broken: dict[str, object]) -> None:
    assert not verify_password(PASSWORD, broken)


@pytest.mark.parametrize("password", ["short", "x" * 257, None, 12345678])
def test_new_passwords_are_8_to_256_characters_of_text(password: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_password(password)
    assert caught.value.code == "invalid_password"


def book_of(tmp_path: Path) -> tuple[RecordingLibrary, ShareBook]:
    library = RecordingLibrary(tmp_path / "recordings", retention_days=1)
    record = library.create({"room": "r", "started_at": time.time() - 3 * 86400})
    record["state"] = "ready"
    library.save(record)
    directory = library.directory(record["id"])
    assert directory is not None
    return library, ShareBook(directory)


def test_the_audit_trail_keeps_the_newest_entries_and_counts_the_rest(tmp_path: Path) -> None:
    _, book = book_of(tmp_path)
    share = book.create(hash_password(PASSWORD), time.time() + 60, "admin", None, "192.0.2.1")
    for n in range(MAX_AUDIT_ENTRIES + 20):
        book.audit("wrong_password", share["id"], f"192.0.2.{n % 250}")
    data = book.read()
    assert len(data["audit"]) == MAX_AUDIT_ENTRIES
    assert data["audit_dropped"] == 21  # "created" and the first 20 guesses
    assert all(entry["event"] == "wrong_password" for entry in data["audit"])


def test_shares_per_recording_are_bounded(tmp_path: Path) -> None:
    _, book = book_of(tmp_path)
    stored = hash_password(PASSWORD)
    for _ in range(MAX_SHARES):
        book.create(stored, time.time() + 60, "admin", None, None)
    with pytest.raises(TooManyShares):
        book.create(stored, time.time() + 60, "admin", None, None)


def test_retention_deletes_the_shares_with_the_recording(tmp_path: Path) -> None:
    library, book = book_of(tmp_path)
    share = book.create(hash_password(PASSWORD), time.time() + 60, "admin", None, None)
    assert recording_of(share["id"]) == book.recording_id
    assert (book.directory / SHARES_FILE).exists()
    assert library.purge_expired() == [book.recording_id]
    with pytest.raises(NotFound):
        book.create(hash_password(PASSWORD), time.time() + 60, "admin", None, None)
    with pytest.raises(NotFound) as caught:
        book.find(share["id"])
    assert caught.value.code == "share_not_found"


def test_share_ids_name_their_recording_and_nothing_else_parses() -> None:
    assert recording_of("AAAAAAAAAAAAAAAAAAAAAA." + "b" * 22) == "AAAAAAAAAAAAAAAAAAAAAA"
    for bad in ("", "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA.short", "../x." + "b" * 22):
        assert recording_of(bad) is None
