"""Signaling: the Socket.IO edge. Validates every message, calls the meeting
service through a small interface, acknowledges. Imports nothing of ours."""

from .errors import SignalingError
from .namespace import MeetingNamespace
from .protocol import PROTOCOL_VERSION
from .server import SocketEmitter, create_socket_server
from .service import EventSink, MeetingService

__all__ = [
    "PROTOCOL_VERSION",
    "EventSink",
    "MeetingNamespace",
    "MeetingService",
    "SignalingError",
    "SocketEmitter",
    "create_socket_server",
]
