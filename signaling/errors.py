"""Errors of the signaling edge; each carries a stable code from docs/protocol.md."""


class SignalingError(Exception):
    """A message was refused; ``code`` is stable, ``message`` is for people."""

    code = "invalid_payload"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidPayload(SignalingError):
    code = "invalid_payload"
