"""The speech engines a deployment can choose, the languages each speaks,
and loading one (as a :class:`~recording.speech_recognizer.SpeechRecognizer`).

Engines (setting ``transcript_engine``):

- ``pocketsphinx`` (the default, embedded): CMU PocketSphinx 5 with the US
  English model its wheel installs; nothing to download. Speaks ``en`` /
  ``en-US`` only and refuses any other language.
- ``whispercpp``: whisper.cpp through the ``pywhispercpp`` package, with a
  ggml model file of the operator's (``transcript_model``). A multilingual
  model speaks the languages in :data:`WHISPER_LANGUAGES`; an English-only one
  (its file name has ``.en``) English only.
- ``vosk``: Vosk (``vosk`` package) with a model directory of the operator's
  (``transcript_model``). A Vosk model speaks one language: the deployment's
  ``transcript_language`` names it.

The optional engines are not installed with the server; loading one whose
package or model is missing raises :class:`~recording.errors.EngineUnavailable`
with a message that says what to install or set. Nothing here imports an
engine at module level, so the settings can check languages cheaply.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import EngineUnavailable, LanguageUnsupported, UnknownEngine
from .speech_recognizer import SpeechRecognizer

#: The languages of whisper's multilingual models (ISO 639-1 codes, plus
#: ``haw`` and ``yue``, as whisper names them).
_WHISPER_CODES = (
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu "
    "ha haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml "
    "mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw "
    "ta te tg th tk tl tr tt uk ur uz vi yi yo yue zh"
)
WHISPER_LANGUAGES = tuple(_WHISPER_CODES.split())

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


@dataclass(frozen=True)
class EngineChoice:
    """Which engine, which model, which language (the deployment's settings
    and the meeting's language)."""

    engine: str = "pocketsphinx"
    language: str = "en-US"
    model: str | None = None
    #: The deployment's language: the one a Vosk model speaks.
    deployment_language: str = "en-US"


def normalize_language(tag: str) -> str:
    """``en_us`` / ``EN-us`` -> ``en-US``; raises LanguageUnsupported for
    something that is not a language tag at all."""
    if not isinstance(tag, str) or not _LANGUAGE_TAG.fullmatch(tag):
        raise LanguageUnsupported(f"{tag!r} is not a language tag such as 'en' or 'de-DE'")
    primary, *rest = tag.replace("_", "-").split("-")
    parts = [primary.lower()]
    parts += [p.upper() if len(p) == 2 else p.title() if len(p) == 4 else p for p in rest]
    return "-".join(parts)


def supported_languages(choice: EngineChoice) -> tuple[str, ...]:
    """The languages ``choice.engine`` (with its model) speaks, as tags."""
    if choice.engine == "pocketsphinx":
        return ("en", "en-US")
    if choice.engine == "whispercpp":
        english_only = choice.model is not None and ".en." in Path(choice.model).name
        return ("en",) if english_only else WHISPER_LANGUAGES
    if choice.engine == "vosk":
        return (normalize_language(choice.deployment_language),)
    raise UnknownEngine(f"unknown transcript engine {choice.engine!r}; use one of {ENGINE_NAMES}")


def check_language(choice: EngineChoice) -> str:
    """The meeting's language, normalized, if the engine speaks it; else
    :class:`LanguageUnsupported` naming the languages it does speak. A tag
    with a region matches the engine's tag for that language without one
    (whisper's ``de`` takes ``de-AT``); pocketsphinx's model is US English
    and takes ``en`` or ``en-US`` only."""
    language = normalize_language(choice.language)
    languages = supported_languages(choice)
    primary = language.split("-")[0]
    if language in languages or (choice.engine != "pocketsphinx" and primary in languages):
        return language
    shown = ", ".join(languages) if len(languages) <= 12 else f"{len(languages)} languages"
    raise LanguageUnsupported(
        f"the transcript engine {choice.engine} does not speak {language!r} "
        f"(it speaks {shown}); choose one of those, or configure another engine"
    )


def engine_problem(choice: EngineChoice) -> str | None:
    """Why ``choice`` cannot be loaded (package or model missing), or None.
    Cheap: nothing is loaded."""
    if choice.engine not in ENGINE_NAMES:
        return f"unknown transcript engine {choice.engine!r}; use one of {ENGINE_NAMES}"
    package, model_kind = _NEEDS[choice.engine]
    if importlib.util.find_spec(package) is None:
        return (
            f"the transcript engine {choice.engine} needs the {package!r} package "
            f"(pip install {_PIP[package]})"
        )
    if model_kind is None:
        if choice.model is not None:
            return (
                f"the transcript engine {choice.engine} uses its embedded model: "
                "unset transcript_model"
            )
        return None
    if choice.model is None:
        return f"the transcript engine {choice.engine} needs transcript_model ({model_kind})"
    path = Path(choice.model)
    exists = path.is_dir() if model_kind.endswith("directory") else path.is_file()
    if not exists:
        return f"transcript_model {choice.model!r} is not {model_kind} (it is missing)"
    return None


def load_recognizer(choice: EngineChoice) -> SpeechRecognizer:
    """Load the engine for the meeting's language. Raises
    :class:`LanguageUnsupported`, :class:`EngineUnavailable` (package or
    model missing or unreadable) or :class:`UnknownEngine`."""
    language = check_language(choice)
    problem = engine_problem(choice)
    if problem is not None:
        raise EngineUnavailable(problem)
    loader = _LOADERS[choice.engine]
    try:
        return loader(choice, language)
    # TypeError, AttributeError: a package version whose API differs.
    except (ImportError, OSError, RuntimeError, ValueError, TypeError, AttributeError) as exc:
        raise EngineUnavailable(
            f"the transcript engine {choice.engine} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc


def _pocketsphinx(choice: EngineChoice, language: str) -> SpeechRecognizer:
    from .pocketsphinx_engine import PocketSphinxRecognizer

    return PocketSphinxRecognizer(language)


def _whispercpp(choice: EngineChoice, language: str) -> SpeechRecognizer:
    from .optional_engines import WhisperCppRecognizer

    assert choice.model is not None
    return WhisperCppRecognizer(choice.model, language)


def _vosk(choice: EngineChoice, language: str) -> SpeechRecognizer:
    from .optional_engines import VoskRecognizer

    assert choice.model is not None
    return VoskRecognizer(choice.model, language)


_LOADERS: dict[str, Callable[[EngineChoice, str], SpeechRecognizer]] = {
    "pocketsphinx": _pocketsphinx,
    "whispercpp": _whispercpp,
    "vosk": _vosk,
}
ENGINE_NAMES = tuple(_LOADERS)
#: engine -> (Python package, what transcript_model must be; None: embedded)
_NEEDS: dict[str, tuple[str, str | None]] = {
    "pocketsphinx": ("pocketsphinx", None),
    "whispercpp": ("pywhispercpp", "a whisper.cpp ggml model file"),
    "vosk": ("vosk", "a Vosk model directory"),
}
_PIP = {"pocketsphinx": "pocketsphinx", "pywhispercpp": "pywhispercpp", "vosk": "vosk"}
