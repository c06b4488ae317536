"""Errors of the conference server. Each has a stable ``code``; they become
HTTP responses or Socket.IO acknowledgements only at the edges."""


class ConfServerError(Exception):
    """Base error with a stable machine-readable code and a human message."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(ConfServerError):
    code = "invalid_config"


class NotFound(ConfServerError):
    code = "not_found"
    status = 404


class InvalidRequest(ConfServerError):
    code = "invalid_request"
    status = 400


class NodeUnreachable(ConfServerError):
    """Another node of the deployment, which must answer this, does not."""

    code = "node_unreachable"
    status = 503
