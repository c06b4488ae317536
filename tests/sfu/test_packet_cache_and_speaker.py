"""The NACK cache stays bounded; the speaker detector is stable."""

from __future__ import annotations

import struct

import pytest

from sfu import rtp
from sfu.packet_cache import PacketCache
from sfu.speaker import ActiveSpeakerDetector


def view(seq: int) -> rtp.RtpView:
    return rtp.parse(struct.pack("!BBHII", 0x80, 96, seq, 0, 1) + b"x")


def test_cache_returns_recent_packets_and_forgets_overwritten_ones():
    cache = PacketCache(8)
    for seq in range(65530, 65536):
        cache.put(view(seq))
    for seq in range(0, 10):
        cache.put(view(seq))
    assert len(cache) == 8
    assert cache.get(9).sequence_number == 9
    assert cache.get(2).sequence_number == 2
    assert cache.get(1) is None and cache.get(65535) is None


def test_cache_size_must_be_a_power_of_two():
    with pytest.raises(ValueError):
        PacketCache(500)


def test_speaker_needs_threshold_and_margin_to_change():
    detector: ActiveSpeakerDetector[str] = ActiveSpeakerDetector(threshold=40, margin=6)
    assert detector.update({"a": 10, "b": 20}) == (False, None)  # nobody loud enough
    assert detector.update({"a": 80, "b": 20}) == (True, "a")
    assert detector.update({"a": 80, "b": 84}) == (False, "a")  # not clearly louder
    assert detector.update({"a": 80, "b": 90}) == (True, "b")
    assert detector.update({"a": 0, "b": 0}) == (False, "b")  # silence keeps the last one
    assert detector.update({"a": 50, "b": 0}) == (True, "a")
