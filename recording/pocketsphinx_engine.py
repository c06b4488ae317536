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
from typing import Any

from .speech_recognizer import SAMPLE_RATE, PcmArray, Utterance, Word

#: PocketSphinx's feature frames per second (its ``frate``).
FRAMES_PER_SECOND = 100
_VARIANT = re.compile(r"\(\d+\)$")
#: Live streams open at once per recognizer. Each holds a decoder of its
#: own, about 90 MB (model, dictionary and language model are per decoder).
MAX_STREAMS = 2


class PocketSphinxRecognizer:
    """A :class:`~recording.speech_recognizer.SpeechRecognizer` on PocketSphinx."""

    engine = "pocketsphinx"
    sample_rate = SAMPLE_RATE

    def __init__(self, language: str, max_streams: int = MAX_STREAMS) -> None:
        self.language = language
        self._decoder = self._new_decoder()
        self._closed = False
        # Live streams (start_stream): each holds a decoder of its own for
        # the length of its utterance (a decoder decodes one utterance at a
        # time); finished ones wait here for the next.
        self.max_streams = max_streams
        self._idle: list[Any] = []
        self._open_streams = 0

    def recognize(self, samples: PcmArray) -> Utterance:
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(samples.astype("<i2", copy=False).tobytes(), full_utt=True)
        decoder.end_utt()
        return _utterance(decoder)

    def start_stream(self) -> PocketSphinxStream | None:
        """A live utterance for partial hypotheses, on a decoder of its own
        (see :class:`PocketSphinxStream`), or None when :attr:`max_streams`
        are open already (the caller then falls back to :meth:`recognize`).
        The first stream of a recognizer loads a decoder (about 0.3 s) unless
        :meth:`preload_streams` made one."""
        if self._closed or self._open_streams >= self.max_streams:
            return None
        decoder = self._idle.pop() if self._idle else self._new_decoder(live=True)
        self._open_streams += 1
        return PocketSphinxStream(self, decoder)

    def preload_streams(self, count: int = 1) -> None:
        """Load decoders for ``count`` streams now, so the first speakers do
        not wait for one."""
        while not self._closed and len(self._idle) + self._open_streams < min(
            count, self.max_streams
        ):
            self._idle.append(self._new_decoder(live=True))

    def _new_decoder(self, live: bool = False) -> Any:
        from pocketsphinx import Decoder

        # loglevel FATAL: it logs every search pass at INFO to stderr.
        if not live:
            return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        # A live decoder only gives hypotheses on the way (the forward tree
        # search's): the flat and best-path passes at the end are not needed.
        return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", fwdflat=False, bestpath=False)

    def _stream_ended(self, decoder: Any) -> None:
        self._open_streams -= 1
        if not self._closed:
            self._idle.append(decoder)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            del self._decoder
            self._idle.clear()


class PocketSphinxStream:
    """One live utterance for partial captions: audio in as it comes
    (:meth:`feed`), the best hypothesis so far at any moment
    (:meth:`hypothesis`, cheap: a backtrace of the forward search).

    Its words are rough: live audio is normalized with a running cepstral
    mean that starts from the model's default, and the first seconds of a
    voice suffer (measured on espeak-ng's voices: 0.6 word error rate, where
    :meth:`PocketSphinxRecognizer.recognize` of the same audio, normalized
    over the whole utterance, has 0.15-0.2). So the final words of an
    utterance come from :meth:`~PocketSphinxRecognizer.recognize`, and this
    decoder skips the extra search passes at the end (:meth:`close` is
    cheap). The decoder goes back to its recognizer when the stream closes.
    """

    def __init__(self, owner: PocketSphinxRecognizer, decoder: Any) -> None:
        self._owner = owner
        self._decoder: Any = decoder
        decoder.start_utt()

    def feed(self, samples: PcmArray) -> None:
        """Decode ``samples`` (mono, 16-bit, 16 kHz), the next of the utterance."""
        if self._decoder is not None and samples.size:
            self._decoder.process_raw(samples.astype("<i2", copy=False).tobytes())

    def hypothesis(self) -> str:
        """The words heard so far (may change as more audio comes)."""
        if self._decoder is None:
            return ""
        hyp = self._decoder.hyp()
        if hyp is None:
            return ""
        words = (_VARIANT.sub("", w) for w in hyp.hypstr.split())
        return " ".join(w for w in words if not w.startswith(("<", "[", "+")))

    def close(self) -> None:
        """End the utterance (safe twice)."""
        decoder, self._decoder = self._decoder, None
        if decoder is not None:
            decoder.end_utt()
            self._owner._stream_ended(decoder)


def _utterance(decoder: Any) -> Utterance:
    """The words of the utterance ``decoder`` just ended."""
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
