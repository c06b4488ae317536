"""Speaker selection (sfu/speaker_selection.py): which sources are ranked, and
so forwarded, from their packets' audio levels. Pure logic, a fake clock:
one 20 ms packet per source per step, as Opus sends them."""

from __future__ import annotations

import pytest

from sfu.speaker_selection import (
    HANGOVER_S,
    REPLACE_AFTER_S,
    VOICE_LEVEL,
    SpeakerSelection,
    Talker,
)

VOICE = 20  # -20 dBov: speech
QUIET_VOICE = VOICE_LEVEL  # the quietest level that is still voice
NOISE = 70  # -70 dBov: a silent room
SILENCE = 127
PACKET_S = 0.02


class Room:
    """A selection with K places, its change reports, and a clock."""

    def __init__(self, slots: int = 3) -> None:
        self.reports: list[tuple[list[str], list[str]]] = []
        self.selection: SpeakerSelection[str] = SpeakerSelection(
            slots, lambda ranking, dropped: self.reports.append((ranking, dropped))
        )
        self.talkers: dict[str, Talker[str]] = {}
        self.now = 100.0

    def talker(self, name: str) -> Talker[str]:
        if name not in self.talkers:
            self.talkers[name] = self.selection.add(name)
        return self.talkers[name]

    def packet(self, name: str, level: int | None) -> bool:
        return self.talker(name).heard(level, self.now)

    def step(self, levels: dict[str, int | None], seconds: float = PACKET_S) -> None:
        """Every source sends one packet per 20 ms for ``seconds``."""
        for _ in range(round(seconds / PACKET_S)):
            self.now += PACKET_S
            for name, level in levels.items():
                self.packet(name, level)

    @property
    def ranked(self) -> list[str]:
        return self.selection.ranked()

    @property
    def admitted(self) -> list[str]:
        return self.selection.admitted()


def test_the_first_voiced_packet_ranks_a_source_and_reports_it_at_once():
    room = Room()
    room.step({"a": SILENCE, "b": NOISE}, 1.0)
    assert room.ranked == [] and room.reports == []
    assert room.packet("a", VOICE) is True  # this very packet goes out
    assert room.ranked == ["a"] and room.admitted == ["a"]
    assert room.reports == [(["a"], [])]


def test_a_packet_without_a_level_counts_as_voice():
    room = Room()
    assert room.packet("old-client", None) is True
    assert room.admitted == ["old-client"]
    room.step({"old-client": None}, 5.0)  # never dropped for lacking the extension
    assert room.admitted == ["old-client"]


def test_silence_and_background_noise_never_rank():
    room = Room()
    room.step({"a": SILENCE, "b": NOISE, "c": VOICE_LEVEL + 1}, 2.0)
    assert room.ranked == []
    assert room.packet("d", QUIET_VOICE) is True


def test_at_most_k_are_admitted_and_the_next_waits_in_line():
    room = Room(slots=3)
    room.step({"a": VOICE, "b": VOICE, "c": VOICE}, 0.2)
    assert room.packet("d", VOICE) is True  # ranked: heard by whoever has room for it
    assert room.ranked == ["a", "b", "c", "d"]
    assert room.admitted == ["a", "b", "c"]
    assert [room.talkers[n].admitted for n in "abcd"] == [True, True, True, False]


def test_nothing_changes_while_the_admitted_keep_talking():
    room = Room()
    room.step({"a": VOICE, "b": VOICE, "x": SILENCE}, 0.1)
    changes = room.selection.changes
    room.step({"a": VOICE, "b": NOISE, "x": SILENCE}, 1.0)
    assert room.selection.changes == changes


def test_a_speaker_is_kept_through_pauses_shorter_than_the_hangover():
    room = Room()
    room.step({"a": VOICE}, 0.5)
    room.step({"a": NOISE}, HANGOVER_S - 0.1)  # between two sentences
    assert room.admitted == ["a"]
    room.step({"a": VOICE}, 0.2)
    room.step({"a": NOISE}, HANGOVER_S - 0.1)
    assert room.admitted == ["a"]
    assert room.reports == [(["a"], [])]


def test_a_speaker_silent_past_the_hangover_leaves_and_the_next_moves_up():
    room = Room(slots=1)
    room.step({"a": VOICE}, 0.2)
    room.step({"a": VOICE, "b": VOICE}, 0.2)
    assert room.ranked == ["a", "b"] and room.admitted == ["a"]
    room.step({"a": NOISE, "b": VOICE}, REPLACE_AFTER_S - 0.2)  # a breathes, b goes on
    room.step({"a": NOISE, "b": NOISE}, HANGOVER_S - REPLACE_AFTER_S + 0.1)
    assert room.admitted == ["a"]
    room.step({"a": NOISE, "b": NOISE}, 0.2)
    assert room.ranked == ["b"] and room.admitted == ["b"]
    assert room.reports[-1] == (["b"], ["a"])
    assert room.packet("a", NOISE) is False
    room.step({"a": NOISE, "b": NOISE}, REPLACE_AFTER_S)
    assert room.ranked == []


def test_a_louder_newcomer_takes_the_place_of_one_quiet_for_a_while():
    room = Room(slots=3)
    room.step({"a": VOICE, "b": VOICE, "c": VOICE}, 0.2)
    room.step({"a": VOICE, "b": VOICE, "c": NOISE}, REPLACE_AFTER_S + 0.1)
    assert room.packet("d", VOICE) is True
    assert room.admitted == ["a", "b", "d"]
    assert room.ranked == ["a", "b", "d", "c"]  # c waits in line until its hangover ends
    assert room.reports[-1] == (["a", "b", "d", "c"], [])


def test_a_newcomer_does_not_cut_a_speaker_pausing_for_breath():
    room = Room(slots=3)
    room.step({"a": VOICE, "b": VOICE, "c": VOICE}, 0.2)
    room.step({"a": VOICE, "b": VOICE, "c": NOISE}, REPLACE_AFTER_S - 0.1)
    room.packet("d", VOICE)
    assert room.admitted == ["a", "b", "c"]
    # Once c has been quiet long enough, d's next voiced packet takes the place.
    room.step({"a": VOICE, "b": VOICE, "c": NOISE, "d": VOICE}, 0.2)
    assert room.admitted == ["a", "b", "d"]


def test_a_newcomer_must_be_clearly_louder_than_the_one_it_replaces():
    room = Room(slots=1)
    room.step({"a": VOICE}, 0.2)
    room.step({"a": 55}, REPLACE_AFTER_S + 0.1)  # no voice, but a loud room: -55 dBov
    room.packet("b", QUIET_VOICE)  # 5 dB louder: not enough
    assert room.admitted == ["a"]
    room.packet("b", 40)
    assert room.admitted == ["b"]


def test_a_speaker_just_admitted_keeps_its_place_when_its_packets_come_late():
    """Its loudness starts from its first voiced packet, not from silence: a
    gap in its packets (nothing arrives, not even noise) right after its
    first syllable does not let an equally loud newcomer take its place;
    a clearly louder one still may."""
    room = Room(slots=3)
    room.step({"a": VOICE, "b": VOICE, "c": VOICE}, 3 * PACKET_S)
    room.step({"a": VOICE, "b": VOICE}, REPLACE_AFTER_S + 0.1)  # c's packets are late
    room.packet("d", VOICE)
    assert room.admitted == ["a", "b", "c"]
    room.packet("d", VOICE - 10)  # 10 dB louder than c
    assert room.admitted == ["a", "b", "d"]


def test_a_newcomer_replaces_the_quietest_of_the_quiet():
    room = Room(slots=2)
    room.step({"a": VOICE, "b": VOICE}, 0.2)
    room.step({"a": 45, "b": NOISE}, REPLACE_AFTER_S + 0.1)
    room.packet("c", VOICE)
    assert room.admitted == ["a", "c"]


def test_expire_drops_a_speaker_that_sends_nothing_any_more():
    room = Room()
    room.step({"a": VOICE, "b": VOICE}, 0.2)
    room.now += HANGOVER_S / 2
    room.selection.expire(room.now)
    assert room.ranked == ["a", "b"]
    room.now += HANGOVER_S / 2 + 0.1
    room.selection.expire(room.now)
    assert room.ranked == []
    assert room.reports[-1] == ([], ["a", "b"])


def test_a_stale_speaker_is_dropped_when_a_newcomer_needs_its_place():
    room = Room(slots=1)
    room.step({"a": VOICE}, 0.2)
    room.now += HANGOVER_S + 0.1  # a went quiet without a packet (muted, DTX)
    room.packet("b", 45)  # quieter than a ever was: a is gone all the same
    assert room.ranked == ["b"]
    assert room.reports[-1] == (["b"], ["a"])


def test_removing_a_ranked_source_moves_the_others_up():
    room = Room(slots=1)
    room.step({"a": VOICE, "b": VOICE}, 0.2)
    room.selection.remove(room.talkers["a"])
    assert room.admitted == ["b"] and room.talkers["b"].admitted
    assert room.reports[-1] == (["b"], ["a"])
    room.selection.remove(room.talkers["a"])  # twice: nothing more
    assert room.reports[-1] == (["b"], ["a"])


def test_a_selection_has_at_least_one_place():
    with pytest.raises(ValueError):
        SpeakerSelection(0)
