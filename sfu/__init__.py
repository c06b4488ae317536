"""Selective forwarding unit: media only. It knows producers, consumers and
transports, never names, roles or polls (``app_data`` carries the caller's tags)."""

from .consumer import Consumer
from .errors import MediaPortsFull, SfuError
from .port_range import check_media_ports
from .producer import Producer
from .publish_transport import PublishTransport
from .router import Router, RouterObserver
from .rtp import RtpView
from .settings import SfuSettings
from .sink import PacketSink, SenderReport
from .stats import SfuStats
from .subscribe_transport import SubscribeTransport

__all__ = [
    "Consumer",
    "MediaPortsFull",
    "PacketSink",
    "Producer",
    "PublishTransport",
    "Router",
    "RouterObserver",
    "RtpView",
    "SenderReport",
    "SfuError",
    "SfuSettings",
    "SfuStats",
    "SubscribeTransport",
    "check_media_ports",
]
