"""Speaker selection: whose audio is forwarded, from RTP audio levels (RFC 6464).

In a large meeting most microphones carry silence (with Opus DTX, almost
nothing), yet forwarding every one to every subscriber costs the server and
each subscriber's link and decoder for nothing. So a room keeps a *ranking*
of its current speakers, and each subscriber gets the audio of the first
``slots`` speakers of that ranking it may hear (not itself, nothing its zone
hides): LiveKit's and Jitsi's "loudest N" audio, decided per packet.

The rules, per audio source (a :class:`Talker`):

* A packet is *voiced* when its level is at least ``-VOICE_LEVEL`` dBov.
  A packet without a level (a client that did not negotiate the extension)
  counts as voiced: nobody is silenced for lacking it.
* A voiced source that is not ranked joins the ranking on that very packet
  (no timer tick between a first syllable and the subscribers), at the end,
  its smoothed loudness starting from that packet's rather than from
  silence: a speaker just admitted whose next packets come late (a network
  hiccup, the server's loop busy) keeps its place against an equally loud
  newcomer, instead of losing it because its loudness was still rising.
  The first ``slots`` places are the room's *admitted* speakers.
* A ranked source that is not admitted moves into the admitted places, on
  its voiced packet, in place of the quietest admitted one that has been
  quiet for ``REPLACE_AFTER_S`` and is at least ``REPLACE_MARGIN`` quieter
  (a pause to breathe is not the end of a turn; crosstalk does not shuffle
  the places).
* A ranked source leaves the ranking ``HANGOVER_S`` after its last voiced
  packet (on its own next packet, or :meth:`SpeakerSelection.expire`), so a
  word is not cut between syllables. Everyone behind it moves up.

Sources beyond the admitted places stay ranked while they speak: a
subscriber that may not hear an admitted one (its own voice, its zone)
hears the next in line instead.

Pure logic, the clock passed in. A change of the ranking is reported
synchronously through ``on_change`` so the caller can start or stop
forwarding before the packet that caused it goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

#: Audio level (0 = 0 dBov .. 127 = silence) at or below which a packet is voice:
#: -50 dBov is a quiet voice; a silent microphone with the browser's noise
#: suppression stays far below it.
VOICE_LEVEL = 50
#: An admitted speaker stays ranked this long after its last voiced packet.
HANGOVER_S = 1.5
#: An admitted speaker quiet this long may give its place to a louder newcomer.
REPLACE_AFTER_S = 0.5
#: By how much (dB) the newcomer must be louder than the one it replaces.
REPLACE_MARGIN = 6.0
#: Weight of each packet in a source's smoothed loudness (20 ms packets: a
#: time constant of about 0.1 s).
SMOOTHING = 0.2

#: ``on_change(ranking, dropped)``: the ranked sources in order, and those
#: that just left the ranking.
ChangeListener = Callable[[list[T], list[T]], None]


class Talker(Generic[T]):
    """One audio source's state; :meth:`heard` is called for each of its packets."""

    __slots__ = ("_selection", "admitted", "last_voiced", "loudness", "ranked", "source")

    def __init__(self, selection: SpeakerSelection[T], source: T) -> None:
        self._selection = selection
        self.source = source
        #: In the ranking (its audio goes to the subscribers it fits for).
        self.ranked = False
        #: Among the first ``slots`` of the ranking.
        self.admitted = False
        #: Smoothed loudness, 0 (silence) .. 127 (0 dBov).
        self.loudness = 0.0
        self.last_voiced = float("-inf")

    def __repr__(self) -> str:
        return f"Talker({self.source!r}, ranked={self.ranked}, admitted={self.admitted})"

    def heard(self, level: int | None, now: float) -> bool:
        """One packet with audio ``level`` (None: not known) arrived at ``now``;
        True if the source is ranked (its audio goes on). The hot path: when
        nothing changes, a few comparisons."""
        selection = self._selection
        loud = 127 - (selection.voice_level if level is None else level)
        self.loudness += (loud - self.loudness) * SMOOTHING
        if loud >= selection.voiced_loudness:
            self.last_voiced = now
            if not self.admitted:
                selection.voiced(self, loud, now)  # joins, or may take a place
            return True
        if self.ranked:
            if now - self.last_voiced <= selection.hangover_s:
                return True
            selection.drop([self])
        return False


class SpeakerSelection(Generic[T]):
    """The ranking of one room's current speakers (see module docstring)."""

    def __init__(
        self,
        slots: int,
        on_change: ChangeListener[T] | None = None,
        *,
        voice_level: int = VOICE_LEVEL,
        hangover_s: float = HANGOVER_S,
        replace_after_s: float = REPLACE_AFTER_S,
        replace_margin: float = REPLACE_MARGIN,
    ) -> None:
        if slots < 1:
            raise ValueError("a speaker selection needs at least one slot")
        self.slots = slots
        self.voice_level = voice_level
        self.voiced_loudness = 127 - voice_level
        self.hangover_s = hangover_s
        self.replace_after_s = replace_after_s
        self.replace_margin = replace_margin
        #: Ranked talkers, first place first.
        self.ranking: list[Talker[T]] = []
        self.changes = 0
        self._on_change = on_change

    def add(self, source: T) -> Talker[T]:
        """A new audio source; it is ranked once it is heard speaking."""
        return Talker(self, source)

    def remove(self, talker: Talker[T]) -> None:
        """The source is gone (closed)."""
        if talker.ranked:
            self.drop([talker])

    def ranked(self) -> list[T]:
        """The ranked sources, first place first."""
        return [t.source for t in self.ranking]

    def admitted(self) -> list[T]:
        """The room's admitted speakers (the first ``slots`` of the ranking)."""
        return [t.source for t in self.ranking[: self.slots]]

    def voiced(self, talker: Talker[T], loud: float, now: float) -> None:
        """A voiced packet (loudness ``loud``) of a talker outside the admitted places."""
        changed = False
        if not talker.ranked:
            talker.ranked = True
            talker.loudness = max(talker.loudness, loud)
            self.ranking.append(talker)
            changed = True
        # Whoever is past the hangover goes now, not at the next sweep.
        stale = [t for t in self.ranking if now - t.last_voiced > self.hangover_s]
        if stale:
            for gone in stale:
                gone.ranked = gone.admitted = False
            self.ranking = [t for t in self.ranking if t.ranked]
            changed = True
        here = self.ranking.index(talker)
        if here >= self.slots:
            place = self._replaceable(loud, now)
            if place is not None:
                ranking = self.ranking
                ranking[place], ranking[here] = talker, ranking[place]
                changed = True
        if changed:
            self._admit_first()
            self._changed([t.source for t in stale])

    def _replaceable(self, loud: float, now: float) -> int | None:
        """The admitted place a newcomer ``loud`` takes, if any: the quietest
        admitted talker silent for ``replace_after_s`` and clearly quieter."""
        best: int | None = None
        best_loudness = 0.0
        for place, talker in enumerate(self.ranking[: self.slots]):
            if now - talker.last_voiced < self.replace_after_s:
                continue
            if loud < talker.loudness + self.replace_margin:
                continue
            if best is None or talker.loudness < best_loudness:
                best, best_loudness = place, talker.loudness
        return best

    def drop(self, talkers: list[Talker[T]]) -> None:
        """Take ``talkers`` out of the ranking; those behind move up."""
        gone = [t for t in talkers if t.ranked]
        if not gone:
            return
        for talker in gone:
            talker.ranked = talker.admitted = False
        self.ranking = [t for t in self.ranking if t.ranked]
        self._admit_first()
        self._changed([t.source for t in gone])

    def _admit_first(self) -> None:
        for place, talker in enumerate(self.ranking):
            talker.admitted = place < self.slots

    def expire(self, now: float) -> None:
        """Drop every talker silent for longer than the hangover (a muted or
        vanished source sends nothing that would drop it)."""
        self.drop([t for t in self.ranking if now - t.last_voiced > self.hangover_s])

    def _changed(self, dropped: list[T]) -> None:
        self.changes += 1
        if self._on_change is not None:
            self._on_change(self.ranked(), dropped)


__all__ = ["HANGOVER_S", "REPLACE_AFTER_S", "VOICE_LEVEL", "SpeakerSelection", "Talker"]
