"""Chat: text rules, per-sender rate limit, bounded history for late joiners."""

from __future__ import annotations

import json

import pytest

from conf_server.domain import ChatLog, InvalidMessage, MessageTooLong, RateLimited


def test_messages_get_increasing_ids_and_the_callers_timestamp():
    log = ChatLog()
    first = log.post("ann", "Ann", "hello", now=10.0)
    second = log.post("bob", "Bob", "hi", now=11.0)
    assert (first.id, second.id) == (1, 2)
    assert first.sent_at == 10.0
    assert first.to_dict() == {
        "id": 1,
        "sender_id": "ann",
        "sender_name": "Ann",
        "text": "hello",
        "sent_at": 10.0,
    }


def test_text_is_trimmed_and_line_endings_normalised():
    message = ChatLog().post("ann", "Ann", "  line one\r\nline two\rthree \n", now=0.0)
    assert message.text == "line one\nline two\nthree"


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_message_is_refused(text):
    with pytest.raises(InvalidMessage):
        ChatLog().post("ann", "Ann", text, now=0.0)


@pytest.mark.parametrize("char", ["\x00", "\t", "\x1b", "\u202e", "\ufeff", "\ue000"])
def test_control_and_invisible_characters_are_refused(char):
    with pytest.raises(InvalidMessage) as info:
        ChatLog().post("ann", "Ann", f"a{char}b", now=0.0)
    assert info.value.code == "invalid_message"


def test_emoji_with_joiners_and_newlines_are_fine():
    text = "dev \U0001f469\u200d\U0001f4bb\nnext line"
    assert ChatLog().post("ann", "Ann", text, now=0.0).text == text


def test_message_at_the_limit_passes_and_one_longer_is_refused():
    log = ChatLog(max_length=2000, rate_capacity=10)
    assert len(log.post("ann", "Ann", "x" * 2000, now=0.0).text) == 2000
    with pytest.raises(MessageTooLong) as info:
        log.post("ann", "Ann", "x" * 2001, now=0.0)
    assert info.value.code == "message_too_long"
    assert len(log) == 1


def test_length_is_counted_after_trimming():
    log = ChatLog(max_length=5)
    assert log.post("ann", "Ann", "   abcde   ", now=0.0).text == "abcde"


def test_rate_limit_allows_a_burst_of_five_then_refuses():
    log = ChatLog()
    for i in range(5):
        log.post("ann", "Ann", f"m{i}", now=100.0)
    with pytest.raises(RateLimited) as info:
        log.post("ann", "Ann", "too many", now=100.0)
    assert info.value.code == "rate_limited"
    assert info.value.retry_after == pytest.approx(1.0)
    assert len(log) == 5


def test_rate_limit_refills_with_the_injected_clock():
    log = ChatLog()
    for i in range(5):
        log.post("ann", "Ann", f"m{i}", now=0.0)
    with pytest.raises(RateLimited):
        log.post("ann", "Ann", "x", now=0.5)
    log.post("ann", "Ann", "one second later", now=1.0)
    with pytest.raises(RateLimited):
        log.post("ann", "Ann", "x", now=1.0)
    for i in range(5):
        log.post("ann", "Ann", f"after a rest {i}", now=60.0)


def test_rate_limit_is_per_sender():
    log = ChatLog()
    for i in range(5):
        log.post("ann", "Ann", f"m{i}", now=0.0)
    log.post("bob", "Bob", "still fine", now=0.0)


def test_a_clock_stepping_back_adds_no_tokens():
    log = ChatLog()
    for i in range(5):
        log.post("ann", "Ann", f"m{i}", now=100.0)
    with pytest.raises(RateLimited):
        log.post("ann", "Ann", "x", now=50.0)


def test_refused_messages_do_not_use_up_the_rate_limit():
    log = ChatLog()
    for _ in range(10):
        with pytest.raises(InvalidMessage):
            log.post("ann", "Ann", " ", now=0.0)
    for i in range(5):
        log.post("ann", "Ann", f"m{i}", now=0.0)


def test_history_keeps_only_the_last_messages():
    log = ChatLog(max_history=500, rate_capacity=1000)
    for i in range(600):
        log.post("ann", "Ann", f"m{i}", now=float(i))
    history = log.history()
    assert len(history) == 500
    assert history[0].text == "m100" and history[-1].text == "m599"
    assert history[-1].id == 600


def test_late_joiner_gets_history_oldest_first_and_reconnect_gets_only_new():
    log = ChatLog()
    for i in range(4):
        log.post(f"s{i}", "S", f"m{i}", now=float(i))
    assert [m.text for m in log.history()] == ["m0", "m1", "m2", "m3"]
    assert [m.text for m in log.history(after_id=2)] == ["m2", "m3"]
    assert [m.text for m in log.history(limit=1)] == ["m3"]
    assert log.history(limit=0) == []


def test_forgetting_a_sender_and_pruning_drop_rate_limit_state():
    log = ChatLog()
    log.post("ann", "Ann", "hi", now=0.0)
    log.post("bob", "Bob", "hi", now=0.0)
    log.forget_sender("ann")
    assert list(log.to_dict()["rate_limit"]["buckets"]) == ["bob"]
    log.prune(now=100.0)
    assert log.to_dict()["rate_limit"]["buckets"] == {}
    assert len(log) == 2


def test_chat_log_survives_a_json_round_trip_including_the_rate_limit():
    log = ChatLog(max_history=3)
    for i in range(5):
        log.post("ann", "Ann", f"m{i}", now=0.0)
    again = ChatLog.from_dict(json.loads(json.dumps(log.to_dict())))
    assert again.to_dict() == log.to_dict()
    assert [m.text for m in again.history()] == ["m2", "m3", "m4"]
    with pytest.raises(RateLimited):
        again.post("ann", "Ann", "still limited", now=0.0)
    assert again.post("bob", "Bob", "new", now=0.0).id == 6
