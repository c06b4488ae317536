"""The raised-hand queue, owned by the server.

Order is by (server timestamp, sequence number): the caller passes the server's
own clock reading for every raise, and a per-queue sequence number breaks ties, so
two hands raised in the same clock tick keep the order in which the server saw
them and every client shows the same list.

Rules:

- Raising a hand that is already up changes nothing: it keeps its place.
- Lowering and raising again goes to the back of the line: the last action wins,
  so any burst of raise/lower ends in the state of the last one.
- The timestamp decides, not the moment the call arrives: a raise stamped when the
  server received it but inserted after an await still gets its fair place. So the
  caller should stamp with one server clock that does not step back (the room
  lives on one node); equal stamps fall back to arrival order.
- A participant who leaves has their hand lowered (:meth:`HandQueue.participant_left`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RaisedHand:
    """One hand in the queue."""

    participant_id: str
    raised_at: float
    seq: int


class HandQueue:
    """Raised hands of one meeting, in the order they were raised."""

    def __init__(self) -> None:
        self._hands: dict[str, RaisedHand] = {}
        self._next_seq = 1

    def __len__(self) -> int:
        return len(self._hands)

    def __contains__(self, participant_id: object) -> bool:
        return participant_id in self._hands

    def raise_hand(self, participant_id: str, at: float) -> int:
        """Raise ``participant_id``'s hand at server time ``at``; returns its
        1-based position. A hand already up keeps its place."""
        if participant_id not in self._hands:
            self._hands[participant_id] = RaisedHand(participant_id, at, self._next_seq)
            self._next_seq += 1
        position = self.position(participant_id)
        assert position is not None
        return position

    def lower(self, participant_id: str) -> bool:
        """Lower one hand; returns False if it was not up."""
        return self._hands.pop(participant_id, None) is not None

    def lower_all(self) -> list[str]:
        """Lower every hand; returns who had one up, in queue order."""
        lowered = [hand.participant_id for hand in self._ordered()]
        self._hands.clear()
        return lowered

    def next(self) -> str | None:
        """Call on the first in line: lower that hand and return its owner
        (None if no hand is up)."""
        ordered = self._ordered()
        if not ordered:
            return None
        first = ordered[0].participant_id
        del self._hands[first]
        return first

    def participant_left(self, participant_id: str) -> bool:
        """A participant left the meeting: their hand goes down."""
        return self.lower(participant_id)

    def position(self, participant_id: str) -> int | None:
        """1-based place in line, or None if the hand is not up."""
        for index, hand in enumerate(self._ordered(), start=1):
            if hand.participant_id == participant_id:
                return index
        return None

    def order(self) -> list[str]:
        """Participant ids with a hand up, first in line first."""
        return [hand.participant_id for hand in self._ordered()]

    def snapshot(self) -> list[dict[str, Any]]:
        """What every client shows: ``[{"participant_id", "position", "raised_at"}]``."""
        return [
            {"participant_id": hand.participant_id, "position": index, "raised_at": hand.raised_at}
            for index, hand in enumerate(self._ordered(), start=1)
        ]

    def _ordered(self) -> list[RaisedHand]:
        return sorted(self._hands.values(), key=lambda hand: (hand.raised_at, hand.seq))

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able state (hands in queue order)."""
        return {
            "hands": [
                {"participant_id": h.participant_id, "raised_at": h.raised_at, "seq": h.seq}
                for h in self._ordered()
            ],
            "next_seq": self._next_seq,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HandQueue:
        """Rebuild from :meth:`to_dict` output."""
        queue = cls()
        for item in data["hands"]:
            hand = RaisedHand(
                str(item["participant_id"]), float(item["raised_at"]), int(item["seq"])
            )
            queue._hands[hand.participant_id] = hand
        queue._next_seq = int(data["next_seq"])
        return queue
