"""Errors of the recording package; each has a stable ``code``."""


class RecordingError(Exception):
    """Base recording error with a stable machine-readable code."""

    code = "recording_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class QuotaExceeded(RecordingError):
    code = "recording_quota_exceeded"


class TranscriptError(RecordingError):
    """The transcript of a recording cannot be made (the reason is in the message)."""

    code = "transcript_failed"


class UnknownEngine(TranscriptError):
    code = "transcript_engine_unknown"


class EngineUnavailable(TranscriptError):
    """The engine's package or model file is missing or cannot be loaded."""

    code = "transcript_engine_unavailable"


class LanguageUnsupported(TranscriptError):
    """The configured engine does not speak the meeting's language."""

    code = "transcript_language_unsupported"
