"""Whether and how a meeting's recordings are transcribed: the deployment's
settings (``transcript_*``) and the meeting's own (``transcript``,
``language``; docs/rest-api.md, "Create a meeting")."""

from __future__ import annotations

from typing import Any

from conf_server.domain.meeting_state import MeetingState
from conf_server.errors import ConfServerError
from conf_server.settings import Settings, transcript_engine_choice
from recording.errors import TranscriptError
from recording.speech_engines import check_language, normalize_language
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
    try:
        language = normalize_language(language)
    except TranscriptError as exc:
        raise TranscriptSettingRefused(exc.message, "invalid_request") from exc
    try:
        return check_language(transcript_engine_choice(settings, language))
    except TranscriptError as exc:
        if settings.transcript_enabled and transcript is not False:
            raise TranscriptSettingRefused(exc.message, exc.code) from exc
        return language  # nothing of it will be transcribed


def planned_transcript(settings: Settings, state: MeetingState) -> dict[str, Any]:
    """The ``transcript`` field a new recording of ``state`` starts with."""
    enabled = settings.transcript_enabled and state.transcript is not False
    language = state.language or settings.transcript_language
    return initial_status(enabled, settings.transcript_engine, language)
