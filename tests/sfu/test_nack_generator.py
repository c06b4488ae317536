"""NACK scheduling for one incoming stream: gaps, retries, late arrivals, wrap, give-up."""

from __future__ import annotations

from sfu.nack_generator import NackGenerator


def received(gen: NackGenerator, seqs: list[int], now: float = 0.0) -> None:
    for seq in seqs:
        gen.on_packet(seq, now)


def test_a_gap_is_asked_at_once_then_again_after_an_rtt():
    gen = NackGenerator()
    received(gen, [0, 1, 4])
    assert gen.missing == 2
    assert gen.due(now=1.0, rtt=0.1) == [2, 3]
    assert gen.due(now=1.05, rtt=0.1) == []
    assert gen.due(now=1.1, rtt=0.1) == [2, 3]
    assert gen.nacked == 4


def test_a_retransmission_after_a_nack_takes_the_packet_off_the_list():
    gen = NackGenerator()
    received(gen, [10, 11, 14])
    assert gen.due(1.0, 0.05) == [12, 13]
    gen.on_packet(12, 1.03)  # the retransmission
    assert gen.due(1.06, 0.05) == [13]
    assert gen.missing == 1 and gen.recovered == 1
    gen.on_packet(13, 1.08)
    assert gen.due(2.0, 0.05) == [] and gen.missing == 0
    assert not gen.take_keyframe_needed()


def test_reordering_before_the_next_due_costs_no_nack():
    gen = NackGenerator()
    received(gen, [0, 2, 1, 3])
    assert gen.due(1.0, 0.1) == []
    assert gen.nacked == 0


def test_duplicates_change_nothing():
    gen = NackGenerator()
    received(gen, [0, 1, 1, 3, 3])
    assert gen.due(1.0, 0.1) == [2]


def test_retries_are_at_least_20_ms_apart_whatever_the_rtt():
    gen = NackGenerator()
    received(gen, [0, 2])
    assert gen.due(1.0, 0.001) == [1]
    assert gen.due(1.01, 0.001) == []
    assert gen.due(1.021, 0.001) == [1]


def test_after_max_retries_the_packet_is_given_up_and_a_keyframe_is_needed():
    gen = NackGenerator(max_retries=3)
    received(gen, [0, 3])
    asks = [gen.due(1.0 + 0.1 * i, 0.1) for i in range(5)]
    assert asks == [[1, 2], [1, 2], [1, 2], [], []]
    assert gen.failed == 2 and gen.missing == 0 and gen.nacked == 6
    assert gen.take_keyframe_needed()
    assert not gen.take_keyframe_needed()  # once


def test_giving_up_on_a_packet_before_a_newer_keyframe_needs_no_new_keyframe():
    gen = NackGenerator(max_retries=1)
    received(gen, [0, 2])
    gen.on_packet(3, 0.0, keyframe=True)
    assert gen.due(1.0, 0.1) == [1]
    assert gen.due(1.2, 0.1) == []
    assert gen.failed == 1
    assert not gen.take_keyframe_needed()


def test_gaps_across_the_wrap_are_asked_in_order():
    gen = NackGenerator()
    received(gen, [65533, 65534, 2])
    assert gen.due(1.0, 0.1) == [65535, 0, 1]
    gen.on_packet(0, 1.05)
    assert gen.due(1.2, 0.1) == [65535, 1]
    gen.on_packet(65535, 1.25)  # late, from before the wrap
    assert gen.due(1.4, 0.1) == [1]


def test_a_jump_of_40000_clears_the_list_and_asks_for_a_keyframe():
    gen = NackGenerator()
    received(gen, [0, 1, 5])  # 2, 3, 4 missing
    gen.on_packet(40_005, 0.1)  # alone, it could be a stray
    assert gen.missing == 3
    gen.on_packet(40_006, 0.1)  # the sender really jumped
    assert gen.missing == 0 and gen.failed == 3
    assert gen.take_keyframe_needed()
    assert gen.due(1.0, 0.1) == []
    received(gen, [40_008])
    assert gen.due(1.0, 0.1) == [40_007]


def test_a_single_stray_packet_far_away_is_ignored():
    gen = NackGenerator()
    received(gen, [100, 101, 103])
    gen.on_packet(100 + 40_000, 0.1)
    gen.on_packet(104, 0.1)
    gen.on_packet(100 - 5_000, 0.1)  # far behind: not a late packet worth repairing
    gen.on_packet(105, 0.1)
    assert gen.due(1.0, 0.1) == [102]
    assert not gen.take_keyframe_needed()


def test_a_jump_that_lands_on_a_keyframe_needs_no_other():
    gen = NackGenerator()
    received(gen, [0, 1])
    gen.on_packet(30_000, 0.1, keyframe=True)
    gen.on_packet(30_001, 0.1)
    assert not gen.take_keyframe_needed()


def test_packets_older_than_max_age_are_given_up():
    gen = NackGenerator(max_packet_age=100)
    received(gen, [0, 10])  # 1..9 missing
    received(gen, list(range(11, 105)))
    # At 104 everything before 4 is more than 100 behind: 1..3 given up.
    assert gen.missing == 6 and gen.failed == 3
    received(gen, [105, 106, 107, 108, 109, 110])
    assert gen.missing == 0 and gen.failed == 9
    assert gen.take_keyframe_needed()


def test_overflow_drops_what_a_keyframe_made_useless_first():
    gen = NackGenerator(max_list=100)
    received(gen, [0, 50])  # 49 missing
    gen.on_packet(51, 0.0, keyframe=True)
    gen.on_packet(132, 0.0)  # 80 more: 129 > 100
    assert gen.missing == 80 and gen.failed == 49
    assert not gen.take_keyframe_needed()
    assert gen.due(1.0, 0.1) == list(range(52, 132))


def test_overflow_without_a_keyframe_gives_up_all_and_asks_for_one():
    gen = NackGenerator(max_list=100)
    received(gen, [0, 151])
    assert gen.missing == 0 and gen.failed == 150
    assert gen.take_keyframe_needed()
