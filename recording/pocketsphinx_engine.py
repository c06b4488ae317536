"""The embedded default recognizer: CMU PocketSphinx 5 with the US English
acoustic model, dictionary and language model its wheel installs.

Each stretch of speech is decoded as one utterance (the voice-activity
detector cuts them at pauses, so an utterance is about a sentence: the
language model then sees whole sentences). Word confidences are
PocketSphinx's posterior probabilities; fillers (``<sil>``, ``[NOISE]``,
``<s>``) are dropped and alternative pronunciations (``the(2)``) named by
their word.
"""

from __future__ import annotations

import re

from .speech_recognizer import SAMPLE_RATE, PcmArray, Utterance, Word

#: PocketSphinx's feature frames per second (its ``frate``).
FRAMES_PER_SECOND = 100
_VARIANT = re.compile(r"\(\d+\)$")


class PocketSphinxRecognizer:
    """A :class:`~recording.speech_recognizer.SpeechRecognizer` on PocketSphinx."""

    engine = "pocketsphinx"
    sample_rate = SAMPLE_RATE

    def __init__(self, language: str) -> None:
        from pocketsphinx import Decoder

        self.language = language
        # loglevel FATAL: it logs every search pass at INFO to stderr.
        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        self._closed = False

    def recognize(self, samples: PcmArray) -> Utterance:
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(samples.astype("<i2", copy=False).tobytes(), full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return Utterance(())
        words = []
        for segment in decoder.seg():
            text = segment.word
            if text.startswith(("<", "[", "+")):
                continue  # silence, noise and sentence markers
            words.append(
                Word(
                    _VARIANT.sub("", text),
                    segment.start_frame / FRAMES_PER_SECOND,
                    (segment.end_frame + 1) / FRAMES_PER_SECOND,
                    round(float(segment.prob), 3),
                )
            )
        if not words:
            return Utterance(())
        confidences = [w.confidence for w in words if w.confidence is not None]
        return Utterance(tuple(words), round(sum(confidences) / len(confidences), 3))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            del self._decoder
