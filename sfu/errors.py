"""Errors raised by the SFU; each has a stable ``code`` the edges pass on."""


class SfuError(Exception):
    """Base SFU error with a stable machine-readable code."""

    code = "media_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NegotiationError(SfuError):
    """An SDP offer or answer could not be applied."""

    code = "negotiation_failed"


class UnsupportedCodec(NegotiationError):
    code = "unsupported_codec"


class TransportClosed(SfuError):
    code = "transport_closed"


class MediaPortsFull(SfuError):
    """The media port range (``rtc_ports``) has no room for more sockets."""

    code = "media_ports_full"
