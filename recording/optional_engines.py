"""Recognizers an operator may plug in with a model of their own: whisper.cpp
(``pywhispercpp``) and Vosk (``vosk``). Neither package is a dependency of
the server; :func:`recording.speech_engines.load_recognizer` checks the
package and the model path before it gets here, and turns a failure to load
into ``transcript_engine_unavailable``.

Neither engine is installed in the project's test environment: this code
follows each package's documented API and is exercised only up to the
"package or model missing" errors there.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .speech_recognizer import SAMPLE_RATE, PcmArray, Utterance, Word

#: whisper.cpp's segment times are in centiseconds.
_WHISPER_TICKS = 100


class WhisperCppRecognizer:
    """whisper.cpp on one CPU thread (the worker shares the machine with live
    meetings), for one language; no word times, so each segment of whisper's
    is one "word" with its span and the whole text."""

    engine = "whispercpp"
    sample_rate = SAMPLE_RATE

    def __init__(self, model_path: str, language: str) -> None:
        from pywhispercpp.model import Model

        self.language = language
        # A path that exists: pywhispercpp would download a model for a bare name.
        self._model: Any = Model(
            model_path,
            n_threads=1,
            print_progress=False,
            print_realtime=False,
        )
        self._whisper_language = language.split("-")[0]

    def recognize(self, samples: PcmArray) -> Utterance:
        audio = samples.astype(np.float32) / 32768.0
        segments = self._model.transcribe(audio, language=self._whisper_language)
        words = tuple(
            Word(str(s.text).strip(), s.t0 / _WHISPER_TICKS, s.t1 / _WHISPER_TICKS)
            for s in segments
            if str(s.text).strip()
        )
        return Utterance(words)

    def close(self) -> None:
        self._model = None


class VoskRecognizer:
    """Vosk (Kaldi) with word times and confidences."""

    engine = "vosk"
    sample_rate = SAMPLE_RATE

    def __init__(self, model_path: str, language: str) -> None:
        import vosk

        vosk.SetLogLevel(-1)
        self.language = language
        self._vosk: Any = vosk
        self._model: Any = vosk.Model(model_path)

    def recognize(self, samples: PcmArray) -> Utterance:
        recognizer = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        recognizer.SetWords(True)
        recognizer.AcceptWaveform(samples.astype("<i2", copy=False).tobytes())
        result = json.loads(recognizer.FinalResult())
        words = tuple(
            Word(str(w["word"]), float(w["start"]), float(w["end"]), round(float(w["conf"]), 3))
            for w in result.get("result", [])
        )
        if not words:
            return Utterance(())
        confidence = sum(w.confidence or 0.0 for w in words) / len(words)
        return Utterance(words, round(confidence, 3))

    def close(self) -> None:
        self._model = None
