"""The per-layer bit rate meter reads the real rate, follows changes and falls to 0."""

from __future__ import annotations

import pytest

from sfu.bitrate_meter import BitrateMeter


def feed(meter: BitrateMeter, start: float, end: float, size: int, interval: float) -> float:
    """Packets of ``size`` bytes every ``interval`` s from ``start`` to before ``end``."""
    now = start
    steps = 0
    while now < end - 1e-9:
        meter.add(size, now)
        steps += 1
        now = start + steps * interval
    return now - interval


def test_a_steady_stream_reads_its_rate():
    meter = BitrateMeter()
    last = feed(meter, 100.0, 103.0, 1000, 0.01)  # 1000 B per 10 ms = 800 kbit/s
    assert meter.bitrate(last) == pytest.approx(800_000, rel=0.05)
    assert meter.bitrate(last + 0.005) == pytest.approx(800_000, rel=0.05)


def test_nothing_received_reads_zero():
    assert BitrateMeter().bitrate(5.0) == 0


def test_a_new_stream_reads_close_to_its_rate_before_a_whole_window():
    meter = BitrateMeter(window=1.0)
    last = feed(meter, 10.1, 10.5, 1000, 0.01)
    assert meter.bitrate(last) == pytest.approx(800_000, rel=0.1)


def test_the_reading_falls_to_zero_one_window_after_the_last_packet():
    meter = BitrateMeter(window=1.0)
    last = feed(meter, 0.0, 2.0, 1000, 0.01)
    readings = [meter.bitrate(last + dt) for dt in (0.1, 0.3, 0.5, 0.7)]
    assert readings == sorted(readings, reverse=True)
    assert readings[0] > readings[-1] > 0
    assert meter.bitrate(last + 1.01) == 0
    assert meter.bitrate(last + 60) == 0


def test_a_rate_change_shows_within_one_window():
    meter = BitrateMeter(window=1.0)
    feed(meter, 0.0, 2.0, 1000, 0.01)  # 800 kbit/s
    last = feed(meter, 2.0, 3.5, 250, 0.01)  # 200 kbit/s
    assert meter.bitrate(last) == pytest.approx(200_000, rel=0.1)


def test_old_packets_do_not_come_back_after_a_long_gap():
    meter = BitrateMeter(window=1.0)
    feed(meter, 0.0, 1.0, 1000, 0.01)
    last = feed(meter, 50.0, 51.0, 100, 0.01)  # 80 kbit/s
    assert meter.bitrate(last) == pytest.approx(80_000, rel=0.1)


def test_a_packet_stamped_slightly_in_the_past_still_counts():
    meter = BitrateMeter(window=1.0)
    feed(meter, 0.0, 1.0, 1000, 0.01)
    before = meter.bitrate(0.99)
    meter.add(10_000, 0.5)  # the clock went back: counted in the newest bucket
    assert meter.bitrate(0.99) > before


def test_window_must_be_positive():
    with pytest.raises(ValueError):
        BitrateMeter(window=0)
