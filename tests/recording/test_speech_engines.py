"""The engines and their languages: the embedded one speaks US English and
refuses anything else clearly; optional engines that are not installed (or
lack a model) fail to load with a stable code and a message saying what to do."""

from __future__ import annotations

import pytest
from spoken_media import ALICE_VOICE, needs_espeak, synthesize

from recording.errors import EngineUnavailable, LanguageUnsupported, UnknownEngine
from recording.speech_engines import (
    WHISPER_LANGUAGES,
    EngineChoice,
    check_language,
    engine_problem,
    load_recognizer,
    normalize_language,
    supported_languages,
)


@pytest.mark.parametrize(
    ("tag", "normalized"),
    [("en", "en"), ("en_us", "en-US"), ("EN-us", "en-US"), ("zh-hant-tw", "zh-Hant-TW")],
)
def test_language_tags_are_normalized(tag, normalized):
    assert normalize_language(tag) == normalized


@pytest.mark.parametrize("tag", ["", "e", "english!", "en--us", "12"])
def test_what_is_not_a_language_tag_is_refused(tag):
    with pytest.raises(LanguageUnsupported):
        normalize_language(tag)


def test_the_embedded_engine_speaks_us_english_only():
    assert supported_languages(EngineChoice()) == ("en", "en-US")
    assert check_language(EngineChoice(language="en-us")) == "en-US"
    for other in ("de", "en-GB", "fr-FR"):
        with pytest.raises(LanguageUnsupported) as caught:
            check_language(EngineChoice(language=other))
        assert caught.value.code == "transcript_language_unsupported"
        assert "it speaks en, en-US" in caught.value.message


def test_whisper_speaks_its_languages_and_an_english_model_english_only():
    multilingual = EngineChoice("whispercpp", "de-AT", "/models/ggml-base.bin")
    assert "de" in supported_languages(multilingual) and len(WHISPER_LANGUAGES) > 90
    assert check_language(multilingual) == "de-AT"
    english = EngineChoice("whispercpp", "de", "/models/ggml-base.en.bin")
    assert supported_languages(english) == ("en",)
    with pytest.raises(LanguageUnsupported):
        check_language(english)


def test_a_vosk_model_speaks_the_deployments_language():
    choice = EngineChoice("vosk", "de-DE", "/models/vosk-de", deployment_language="de-DE")
    assert supported_languages(choice) == ("de-DE",)
    with pytest.raises(LanguageUnsupported):
        check_language(EngineChoice("vosk", "fr", "/m", deployment_language="de-DE"))


def test_an_unknown_engine_is_refused():
    with pytest.raises(UnknownEngine) as caught:
        load_recognizer(EngineChoice("sphinx3"))
    assert caught.value.code == "transcript_engine_unknown"


@pytest.mark.parametrize(
    ("choice", "says"),
    [
        (EngineChoice("whispercpp", "en", "/m/ggml.bin"), "pip install pywhispercpp"),
        (EngineChoice("vosk", "en-US", "/m/vosk"), "pip install vosk"),
    ],
)
def test_an_optional_engine_that_is_not_installed_fails_to_load_clearly(choice, says):
    assert says in (engine_problem(choice) or "")
    with pytest.raises(EngineUnavailable) as caught:
        load_recognizer(choice)
    assert caught.value.code == "transcript_engine_unavailable"
    assert says in caught.value.message


def test_a_missing_model_path_is_named(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: real("json"))  # "installed"
    for engine, what in (("whispercpp", "ggml model file"), ("vosk", "Vosk model directory")):
        problem = engine_problem(EngineChoice(engine, "en", None))
        assert problem is not None and "needs transcript_model" in problem and what in problem
        missing = str(tmp_path / "nothing-here")
        problem = engine_problem(EngineChoice(engine, "en", missing))
        assert problem is not None and missing in problem and "missing" in problem
    assert "embedded model" in (engine_problem(EngineChoice(model=str(tmp_path))) or "")


@needs_espeak
def test_the_embedded_engine_recognizes_a_sentence_with_word_times(tmp_path):
    speech = synthesize("Thank you for joining the meeting today.", ALICE_VOICE, tmp_path)
    pcm = speech[::3]  # 48 kHz -> 16 kHz (espeak-ng's output has nothing above 8 kHz)
    recognizer = load_recognizer(EngineChoice())
    try:
        heard = recognizer.recognize(pcm)
    finally:
        recognizer.close()
        recognizer.close()
    assert "meeting today" in heard.text
    assert all(0 <= w.start < w.end <= pcm.size / 16000 + 0.02 for w in heard.words)
    assert all(0 <= (w.confidence or 0) <= 1 for w in heard.words)
    assert heard.confidence is not None and 0 < heard.confidence <= 1
