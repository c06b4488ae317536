"""Active-speaker detection from RTP audio levels (RFC 6464), without decoding."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class ActiveSpeakerDetector(Generic[T]):
    """Picks the loudest source each interval, with hysteresis.

    Loudness is 0 (silence) .. 127 (0 dBov). A new speaker takes over when it is
    above ``threshold`` and clearly louder than the current one, or when the
    current one has gone quiet; silence alone never clears the speaker, so the
    highlight stays on whoever spoke last.
    """

    def __init__(self, threshold: int = 40, margin: float = 6.0) -> None:
        self.threshold = threshold
        self.margin = margin
        self.current: T | None = None

    def update(self, loudness: dict[T, float]) -> tuple[bool, T | None]:
        """Feed one interval's mean loudness per source; returns (changed, speaker)."""
        if not loudness:
            return False, self.current
        loudest = max(loudness, key=lambda s: loudness[s])
        level = loudness[loudest]
        if level < self.threshold or loudest is self.current:
            return False, self.current
        current_level = loudness.get(self.current, 0.0) if self.current is not None else 0.0
        if current_level >= self.threshold and level < current_level + self.margin:
            return False, self.current
        self.current = loudest
        return True, loudest
