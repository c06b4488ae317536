"""Signatures, backoff schedule and input validation: pure functions, no network."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from conf_server.integration.webhooks import (
    InvalidWebhook,
    backoff_delay,
    sign,
    validate_events,
    validate_url,
    verify_signature,
)

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"meeting.started","created_at":1.0,"data":{}}'


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), b"1718000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1718000000, BODY) == f"v1={expected}"
    assert sign(SECRET, 1718000000, BODY.decode()) == f"v1={expected}"


def test_a_fresh_signature_verifies():
    now = int(time.time())
    assert verify_signature(SECRET, str(now), BODY, sign(SECRET, now, BODY))


@pytest.mark.parametrize(
    "secret, body, header_secret",
    [
        ("other-secret", BODY, SECRET),
        (SECRET, BODY + b" ", SECRET),
        (SECRET, BODY.replace(b"started", b"ended__"), SECRET),
    ],
)
def test_wrong_secret_or_tampered_body_is_refused(secret, body, header_secret):
    now = int(time.time())
    assert not verify_signature(secret, now, body, sign(header_secret, now, BODY))


def test_old_or_future_timestamps_are_refused_as_replays():
    old = int(time.time()) - 301
    assert not verify_signature(SECRET, old, BODY, sign(SECRET, old, BODY))
    future = int(time.time()) + 301
    assert not verify_signature(SECRET, future, BODY, sign(SECRET, future, BODY))
    assert verify_signature(SECRET, old, BODY, sign(SECRET, old, BODY), tolerance=600)


def test_a_timestamp_changed_after_signing_is_refused():
    now = int(time.time())
    assert not verify_signature(SECRET, now - 1, BODY, sign(SECRET, now, BODY))


@pytest.mark.parametrize("header", ["", "v1=", "v0=abc", "deadbeef", "v1=zz", "v1=é", "v1=\udcff"])
def test_malformed_headers_are_refused(header):
    assert not verify_signature(SECRET, int(time.time()), BODY, header)


@pytest.mark.parametrize("timestamp", ["", "abc", "1.5e9", "12:00"])
def test_malformed_timestamps_are_refused(timestamp):
    assert not verify_signature(SECRET, timestamp, BODY, sign(SECRET, 0, BODY))


def test_one_matching_value_among_several_is_enough():
    now = int(time.time())
    header = f"v1={'0' * 64}, {sign(SECRET, now, BODY)}"
    assert verify_signature(SECRET, now, BODY, header)


def test_backoff_doubles_with_jitter_up_to_the_cap():
    for attempts, nominal in [(1, 1.0), (2, 2.0), (3, 4.0), (10, 512.0)]:
        for _ in range(50):
            assert 0.8 * nominal <= backoff_delay(attempts, 1.0, 600.0) <= 1.2 * nominal
    assert all(backoff_delay(n, 1.0, 600.0) <= 600.0 for n in (11, 12, 100, 10_000))
    assert backoff_delay(11, 1.0, 600.0) >= 480.0


@pytest.mark.parametrize(
    "url", ["https://chat.example.com/hooks/conf", "http://127.0.0.1:9000/x?y=1"]
)
def test_http_and_https_urls_are_accepted(url):
    assert validate_url(url) == url


@pytest.mark.parametrize(
    "url, words",
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("https://", "host"),
        ("https://exa mple.com/", ""),
        ("", "URL"),
        (42, "URL"),
        ("https://example.com/" + "a" * 3000, "at most"),
    ],
)
def test_bad_urls_are_refused_with_a_clear_message(url, words):
    with pytest.raises(InvalidWebhook) as caught:
        validate_url(url)
    assert caught.value.status == 400 and caught.value.code == "invalid_request"
    assert "url" in caught.value.message and words in caught.value.message


def test_event_lists_are_checked_and_deduplicated():
    assert validate_events(None) is None
    assert validate_events(["chat.message", "chat.message", "poll.closed"]) == (
        "chat.message",
        "poll.closed",
    )
    for bad in ([], "chat.message", ["chat.message", "chat.deleted"], [1], ["webhook.test"]):
        with pytest.raises(InvalidWebhook):
            validate_events(bad)
    with pytest.raises(InvalidWebhook, match=r"unknown event type 'chat\.deleted'"):
        validate_events(["chat.deleted"])
