"""Live recognition of one speaker: audio in as it comes, the words so far
now and then (partial captions), all the words at the end (the final one).

:func:`open_stream` gives a :class:`RecognitionStream` for one utterance:

- a native stream (:class:`NativeStream`) when the recognizer decodes
  incrementally (it has ``start_stream()`` returning a :class:`LiveDecoder`;
  PocketSphinx does, see :class:`~recording.pocketsphinx_engine.PocketSphinxStream`):
  each piece of audio is decoded once, as it comes, and a partial is the
  live decoder's best hypothesis so far;
- otherwise (whisper.cpp, Vosk through their batch interface, or PocketSphinx
  with all its live decoders busy) a :class:`BatchStream`: the stretch so far
  is kept and recognized again with ``recognize()`` for each partial.

Either way the final words are ``recognize()`` of the whole utterance, as a
transcript would have them: a live decoder normalizes the audio with a
running mean that starts from its model's default, which costs PocketSphinx
much of its accuracy in a voice's first seconds (see
:class:`~recording.pocketsphinx_engine.PocketSphinxStream`). That costs
the final about a third of the utterance's length in CPU time (PocketSphinx
on the project's machine), spent once the speaker pauses.

Partials come at most every ``partial_interval`` seconds. The first check is
made as soon as there is audio (no warm-up), so the first words show as
soon as the engine has them. A batch stream also waits at least twice as
long as its last recognition took before the next one (a slow engine then
spends at most a third of the time on partials of one speaker; the final
may wait for a partial's recognition under way). Times are on ``clock``
(``time.monotonic``, the wall clock: partials are for people watching).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from .speech_recognizer import PcmArray, SpeechRecognizer, Utterance

Clock = Callable[[], float]

#: Seconds between two partials of one stream (the default).
PARTIAL_INTERVAL = 0.4
#: A batch stream waits this many times its last recognition's duration
#: before the next partial.
BATCH_BACKOFF = 2.0


class RecognitionStream(Protocol):
    """One utterance of one speaker, recognized as it comes."""

    def feed(self, samples: PcmArray) -> str | None:
        """Add ``samples`` (mono, 16-bit, at the recognizer's rate); returns
        the words so far when it is time for a partial and they changed
        (never empty), else None."""
        ...

    def finish(self) -> Utterance:
        """End the utterance: all its words. The stream is done afterwards."""
        ...

    def cancel(self) -> None:
        """End the utterance without recognizing the rest (safe twice)."""
        ...


class LiveDecoder(Protocol):
    """What an engine that decodes incrementally offers for one utterance:
    the audio as it comes, the words so far at any moment."""

    def feed(self, samples: PcmArray) -> None: ...

    def hypothesis(self) -> str: ...

    def close(self) -> None: ...


class NativeStream:
    """A :class:`RecognitionStream` whose partials come from an engine's
    :class:`LiveDecoder` and whose final is ``recognizer.recognize()`` of the
    whole utterance."""

    def __init__(
        self,
        decoder: LiveDecoder,
        recognizer: SpeechRecognizer,
        partial_interval: float = PARTIAL_INTERVAL,
        clock: Clock = time.monotonic,
    ) -> None:
        self._decoder = decoder
        self._recognizer = recognizer
        self._interval = partial_interval
        self._clock = clock
        self._pieces: list[PcmArray] = []
        self._last_partial = -float("inf")  # when the last partial went out
        self._text = ""
        self._done = False

    def feed(self, samples: PcmArray) -> str | None:
        if self._done or not samples.size:
            return None
        samples = samples.astype(np.int16, copy=False)
        self._pieces.append(samples)
        self._decoder.feed(samples)
        now = self._clock()
        if now - self._last_partial < self._interval:
            return None
        # A hypothesis is cheap (a backtrace): look at every piece until it
        # changes, so a partial goes out as soon as there is a new word.
        text = self._decoder.hypothesis()
        if not text or text == self._text:
            return None
        self._text, self._last_partial = text, now
        return text

    def finish(self) -> Utterance:
        if self._done:
            return Utterance(())
        audio = np.concatenate(self._pieces) if self._pieces else None
        self.cancel()  # the live decoder is free for the next speaker first
        return self._recognizer.recognize(audio) if audio is not None else Utterance(())

    def cancel(self) -> None:
        self._pieces = []
        if not self._done:
            self._done = True
            self._decoder.close()


class BatchStream:
    """A :class:`RecognitionStream` for a batch-only recognizer: the stretch
    so far is recognized again for each partial (see the module's docstring
    for how often)."""

    def __init__(
        self,
        recognizer: SpeechRecognizer,
        partial_interval: float = PARTIAL_INTERVAL,
        clock: Clock = time.monotonic,
    ) -> None:
        self._recognizer = recognizer
        self._interval = partial_interval
        self._clock = clock
        self._pieces: list[PcmArray] = []
        self._next_run = -float("inf")  # no partial before this moment
        self._text = ""
        self._done = False
        #: Recognitions run for partials (for tests and measurements).
        self.runs = 0

    def feed(self, samples: PcmArray) -> str | None:
        if self._done:
            return None
        if samples.size:
            self._pieces.append(samples.astype(np.int16, copy=False))
        if not self._pieces or self._clock() < self._next_run:
            return None
        started = self._clock()
        text = self._recognizer.recognize(self._audio()).text
        ended = self._clock()
        self.runs += 1
        took = ended - started
        self._next_run = max(started + self._interval, ended + BATCH_BACKOFF * took)
        if not text or text == self._text:
            return None
        self._text = text
        return text

    def finish(self) -> Utterance:
        if self._done:
            return Utterance(())
        self._done = True
        audio, self._pieces = self._audio(), []
        return self._recognizer.recognize(audio) if audio.size else Utterance(())

    def cancel(self) -> None:
        self._done = True
        self._pieces = []

    def _audio(self) -> PcmArray:
        if len(self._pieces) > 1:  # keep one piece: the next run appends to it
            self._pieces = [np.concatenate(self._pieces)]
        return self._pieces[0] if self._pieces else np.zeros(0, dtype=np.int16)


def open_stream(
    recognizer: SpeechRecognizer,
    partial_interval: float = PARTIAL_INTERVAL,
    clock: Clock = time.monotonic,
) -> RecognitionStream:
    """A stream for one utterance: native if ``recognizer`` has a live
    decoder free, else the batch fallback."""
    start_stream: Callable[[], LiveDecoder | None] | None = getattr(
        recognizer, "start_stream", None
    )
    if start_stream is not None:
        decoder = start_stream()
        if decoder is not None:
            return NativeStream(decoder, recognizer, partial_interval, clock)
    return BatchStream(recognizer, partial_interval, clock)
