"""The speech recognizer interface: what every engine offers the transcript
worker (:class:`SpeechRecognizer`) and what it hands back (:class:`Utterance`
of :class:`Word`).

A recognizer turns one stretch of speech (16-bit mono PCM at its
``sample_rate``, usually one sentence cut out by the voice-activity detector)
into an :class:`Utterance`: the words, each with its times (seconds from the
start of the stretch) and a confidence when the engine gives one. Which
engines there are, the languages each speaks and how one is loaded is
:mod:`recording.speech_engines`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

#: The sample rate every engine here works at (they are trained on 16 kHz audio).
SAMPLE_RATE = 16000

PcmArray = np.ndarray[Any, np.dtype[np.int16]]


@dataclass(frozen=True)
class Word:
    """One recognized word; times in seconds from the start of the stretch."""

    text: str
    start: float
    end: float
    confidence: float | None = None


@dataclass(frozen=True)
class Utterance:
    """What a recognizer heard in one stretch of speech (no words: nothing)."""

    words: tuple[Word, ...]
    confidence: float | None = None

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


class SpeechRecognizer(Protocol):
    """An engine loaded for one language. Not thread-safe; one per process."""

    engine: str
    language: str
    sample_rate: int

    def recognize(self, samples: PcmArray) -> Utterance:
        """The words in ``samples`` (mono, 16-bit, at :attr:`sample_rate`)."""
        ...

    def close(self) -> None:
        """Free the model (safe to call twice)."""
        ...
