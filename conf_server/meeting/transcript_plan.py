"""Whether and how a meeting's recordings are transcribed: the deployment's
settings (``transcript_*``) and the meeting's own (``transcript``,
``language``; docs/rest-api.md, "Create a meeting")."""

from __future__ import annotations

from typing import Any

from conf_server.domain.meeting_state import MeetingState
from conf_server.errors import ConfServerError
from conf_server.settings import Settings, transcript_engine_choice
from recording.errors import TranscriptError
from recording.speech_recognizer import check_language, supported_languages
from recording.transcript_worker import TranscriptOptions, initial_status


class TranscriptSettingRefused(ConfServerError):
    """``transcript_language_unsupported`` (the engine does not speak it),
    ``transcript_disabled`` (transcripts are off on this server)."""

    code = "transcript_language_unsupported"
    status = 400


def transcript_options(settings: Settings) -> TranscriptOptions:
    """What the transcript workers of this deployment use."""
    choice = transcript_engine_choice(settings)
    return TranscriptOptions(
        engine=choice.engine,
        model=choice.model,
        language=choice.language,
        workers=settings.transcript_workers,
    )


def meeting_language(
    settings: Settings, language: str | None, transcript: bool | None
) -> str | None:
    """Check a new meeting's ``language`` and ``transcript`` settings; returns
    the language normalized (``en_us`` -> ``en-US``). Refused: a language the
    configured engine does not speak (when its recordings are to be
    transcribed), and ``transcript: true`` where transcripts are off."""
    if transcript and not settings.transcript_enabled:
        raise TranscriptSettingRefused(
            "transcripts are turned off on this server", "transcript_disabled"
        )
    if language is None:
        return None
    choice = transcript_engine_choice(settings, language)
    try:
        normalized = check_language(choice)
    except TranscriptError as exc:
        if settings.transcript_enabled and transcript is not False:
            raise TranscriptSettingRefused(exc.message, exc.code) from exc
        return language  # nothing will be transcribed: kept as given
    return normalized


def engine_languages(settings: Settings) -> list[str]:
    """The languages the configured engine speaks (for the API and docs)."""
    return list(supported_languages(transcript_engine_choice(settings)))


def planned_transcript(settings: Settings, state: MeetingState) -> dict[str, Any]:
    """The ``transcript`` field a new recording of ``state`` starts with."""
    enabled = settings.transcript_enabled and state.transcript is not False
    language = state.language or settings.transcript_language
    return initial_status(enabled, settings.transcript_engine, language)
