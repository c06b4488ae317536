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
