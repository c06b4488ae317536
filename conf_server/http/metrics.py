"""Prometheus metrics of one server process, read from live state at scrape time.

A registry per application (never prometheus-client's global one), so several
apps in one process (tests) do not collide.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from conf_server.meeting.meeting_service import MeetingService
from sfu.stats import LATENCY_BUCKETS
from sfu.tasks import cancel_and_wait

from .keys import MEETINGS
from .media_metrics import MediaQualityCollector

LAG_INTERVAL_S = 0.5

# (attribute of SfuStats, metric name, help)
COUNTERS = (
    ("packets_received", "conf_rtp_packets_received", "RTP packets received from publishers"),
    ("bytes_received", "conf_rtp_bytes_received", "RTP bytes received from publishers"),
    ("video_packets_received", "conf_rtp_video_packets_received",
     "RTP packets of video tracks received from publishers"),
    ("packets_forwarded", "conf_rtp_packets_forwarded", "RTP packets sent to subscribers"),
    ("bytes_forwarded", "conf_rtp_bytes_forwarded", "RTP bytes sent to subscribers"),
    ("packets_dropped", "conf_rtp_packets_dropped",
     "packets not sent because the subscriber's transport was not connected"),
    ("packets_unroutable", "conf_rtp_packets_unroutable", "packets of unknown SSRC"),
    ("retransmissions", "conf_rtp_retransmissions", "packets resent to answer NACKs"),
    ("nacks_received", "conf_rtp_nacks_received", "NACKed sequence numbers from subscribers"),
    ("nacks_sent", "conf_rtp_nacks_sent", "sequence numbers the SFU asked publishers to resend"),
    ("keyframe_requests", "conf_keyframe_requests", "keyframe requests (PLI) sent to publishers"),
    ("layer_switches", "conf_layer_switches", "simulcast layer switches of video consumers"),
    ("retransmissions_refused", "conf_rtp_retransmissions_refused",
     "subscriber NACKs not answered because retransmissions used up their budget"),
    ("rtx_packets_received", "conf_rtp_rtx_packets_received",
     "RTX packets (retransmissions) received from publishers"),
    ("nack_repairs_failed", "conf_rtp_nack_repairs_failed",
     "lost publisher packets the SFU gave up NACKing (a keyframe request may follow)"),
    ("nack_repairs_recovered", "conf_rtp_nack_repairs_recovered",
     "lost publisher packets that arrived after all (retransmitted or late)"),
    ("negotiation_failures", "conf_negotiation_failures",
     "subscriber offers not answered in time or whose answer was refused"),
)  # fmt: skip


class MeetingCollector(Collector):
    """Reads rooms, participants and media counters when scraped."""

    def __init__(self, service: MeetingService, loop_lag: list[float]) -> None:
        self._service = service
        self._loop_lag = loop_lag
        self._quality = MediaQualityCollector()

    def collect(self) -> Iterator[Metric]:
        service = self._service
        media = service.media_stats()
        participants = sum(len(r.local()) for r in service.directory.rooms.values())
        gauges = {
            "conf_rooms": ("rooms with at least one participant", media.get("rooms", 0)),
            "conf_participants": ("participants on this node", participants),
            "conf_producers": ("published tracks", media.get("producers", 0)),
            "conf_consumers": ("forwarded copies of tracks", media.get("consumers", 0)),
            "conf_peer_connections": (
                "open peer connections (not those closed under a participant still here)",
                media.get("open_peer_connections", 0),
            ),
            "conf_event_loop_lag_seconds": ("how late the event loop woke up", self._loop_lag[0]),
        }
        for name, (doc, value) in gauges.items():
            yield GaugeMetricFamily(name, doc, value=value)
        stats = service.sfu_stats
        for attribute, name, doc in COUNTERS:
            yield CounterMetricFamily(name, doc, value=getattr(stats, attribute))
        cumulative, buckets = 0, []
        for bound, count in zip(
            (*map(str, LATENCY_BUCKETS), "+Inf"), stats.latency_counts, strict=True
        ):
            cumulative += count
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily(
            "conf_forwarding_latency_seconds",
            "SFU-in to SFU-out time of sampled packets, per consumer",
            buckets=buckets,
            sum_value=stats.latency_sum,
        )
        yield from self._quality.collect(list(service.media.values()), time.monotonic())
        yield from _relay_metrics(service)


# (attribute of RelayStats, metric name, help)
RELAY_COUNTERS = (
    ("rtp_sent", "conf_relay_rtp_packets_sent", "RTP packets sent to other nodes' relays"),
    ("rtp_received", "conf_relay_rtp_packets_received", "RTP packets from other nodes' relays"),
    ("rejected", "conf_relay_datagrams_rejected",
     "relay datagrams dropped: unknown sender or failed authentication"),
    ("replayed", "conf_relay_datagrams_replayed",
     "relay datagrams dropped as copies of ones already received (a NACK answer, late original)"),
)  # fmt: skip


def _relay_metrics(service: MeetingService) -> Iterator[Metric]:
    relay = service.node.relay
    if relay is None:
        return
    yield GaugeMetricFamily(
        "conf_relay_peers", "other nodes this node has a media relay link with", len(relay.peers())
    )
    for attribute, name, doc in RELAY_COUNTERS:
        yield CounterMetricFamily(name, doc, value=getattr(relay.stats, attribute))
    relays = service.spans.relays.values()
    yield GaugeMetricFamily(
        "conf_relay_tracks_out",
        "published tracks of this node sent to other nodes, one per track and node",
        sum(r.tracks_out() for r in relays),
    )
    yield GaugeMetricFamily(
        "conf_relay_tracks_in",
        "tracks other nodes relay to this node (producers of its routers)",
        sum(r.tracks_in() for r in relays),
    )
    yield GaugeMetricFamily(
        "conf_spanning_rooms",
        "rooms of this node that have participants on other nodes too",
        sum(1 for room in service.spans.peers if service.spans.spanning(room)),
    )


def setup_metrics(app: web.Application) -> None:
    """Add ``GET /metrics`` and the event-loop lag probe to ``app``."""
    registry = CollectorRegistry(auto_describe=True)
    loop_lag = [0.0]
    registry.register(ProcessCollector(registry=None))

    async def metrics(request: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, content_type="text/plain", charset="utf-8")

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        registry.register(MeetingCollector(app[MEETINGS], loop_lag))
        task = asyncio.get_running_loop().create_task(_measure_lag(loop_lag))
        yield
        await cancel_and_wait(task)

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/metrics", metrics)


async def _measure_lag(loop_lag: list[float]) -> None:
    while True:
        started = time.monotonic()
        await asyncio.sleep(LAG_INTERVAL_S)
        loop_lag[0] = max(0.0, time.monotonic() - started - LAG_INTERVAL_S)
