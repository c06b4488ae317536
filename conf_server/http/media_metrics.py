"""Media quality of every subscriber and publisher of this node as Prometheus
families, read from the SFU objects at scrape time (see docs/operations.md).

Label cardinality is bounded whatever the load: figures of single subscribers
and publishers go into histograms over the whole node, never into a label per
participant, room or SSRC; the only labels are a layer index (``0``..``3``)
and a count of live layers (``0``..``4``), clamped to those ranges.

Node-wide counters (layer switches, refused retransmissions, NACK repairs,
RTX packets) are in :class:`sfu.SfuStats` and exported with the others by
:mod:`conf_server.http.metrics`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import (
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from conf_server.meeting.room_media import RoomMedia
from sfu import PublishTransport, SubscribeTransport

#: Bucket bounds. Bit/s from a poor mobile link to a LAN.
ESTIMATE_BUCKETS = (
    100_000, 250_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000,
)  # fmt: skip
#: Loss ratios: 2 % and 10 % are where the estimate's loss controller acts.
LOSS_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
RTT_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
#: Bit/s of one received layer: a 180p layer to a 1080p screen share.
LAYER_BITRATE_BUCKETS = (50_000, 100_000, 250_000, 500_000, 1_000_000, 2_000_000, 4_000_000)
#: Highest value of the ``layer`` label (higher indexes count as this one).
MAX_LAYER_LABEL = 3
#: Highest value of the ``live_layers`` label.
MAX_LIVE_LAYERS_LABEL = 4


class Histogram:
    """Observations bucketed by ``bounds``, written out as one histogram family."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative ``(le, count)`` pairs, ``+Inf`` last."""
        cumulative = 0
        result: list[tuple[str, float]] = []
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            cumulative += count
            result.append((bound, cumulative))
        return result


def _layer_label(index: int) -> str:
    return str(min(index, MAX_LAYER_LABEL))


class _SubscriberFigures:
    """What one scrape gathers over every subscribe transport of the node."""

    def __init__(self) -> None:
        self.estimates = Histogram(ESTIMATE_BUCKETS)
        self.losses = Histogram(LOSS_BUCKETS)
        self.rtts = Histogram(RTT_BUCKETS)
        self.without_remb = self.limited = self.paused = 0
        self.by_layer = dict.fromkeys(map(str, range(MAX_LAYER_LABEL + 1)), 0)

    def add(self, transport: SubscribeTransport, now: float) -> None:
        estimate = transport.estimate
        self.estimates.observe(estimate.estimate(now))
        self.losses.observe(estimate.loss)
        if estimate.rtt is not None:
            self.rtts.observe(estimate.rtt)
        if estimate.remb is None:
            self.without_remb += 1
        paused = 0
        for consumer in list(transport.consumers.values()):
            if consumer.kind != "video" or consumer.closed:
                continue
            if consumer.bandwidth_paused:
                paused += 1
            elif not consumer.paused and consumer.current_layer is not None:
                self.by_layer[_layer_label(consumer.current_layer)] += 1
        self.paused += paused
        self.limited += 1 if paused else 0


class _PublisherFigures:
    """What one scrape gathers over every publish transport of the node."""

    def __init__(self) -> None:
        self.uplink = Histogram(LOSS_BUCKETS)
        self.bitrates = {
            str(i): Histogram(LAYER_BITRATE_BUCKETS) for i in range(MAX_LAYER_LABEL + 1)
        }
        self.live_counts = dict.fromkeys(map(str, range(MAX_LIVE_LAYERS_LABEL + 1)), 0)

    def add(self, transport: PublishTransport, now: float) -> None:
        self.uplink.observe(transport.uplink_loss())
        for producer in list(transport.producers.values()):
            if producer.kind != "video":
                continue
            live = 0
            for layer in producer.layers:
                bitrate = layer.meter.bitrate(now)
                if bitrate > 0:
                    live += 1
                    self.bitrates[_layer_label(layer.index)].observe(bitrate)
            self.live_counts[str(min(live, MAX_LIVE_LAYERS_LABEL))] += 1


class MediaQualityCollector:
    """Per-subscriber and per-publisher figures of every room, bucketed node-wide."""

    def collect(self, rooms: Iterable[RoomMedia], now: float) -> Iterator[Metric]:
        """The families, for the rooms of this node at ``now`` (``time.monotonic()``)."""
        subscribers, publishers = _SubscriberFigures(), _PublisherFigures()
        for media in list(rooms):
            for subscriber in list(media.subscribers.values()):
                subscribers.add(subscriber, now)
            for publisher in list(media.publishers.values()):
                publishers.add(publisher, now)
        yield from self._subscriber_families(subscribers)
        yield from self._publisher_families(publishers)

    def _subscriber_families(self, figures: _SubscriberFigures) -> Iterator[Metric]:
        for name, doc, histogram in (
            ("conf_subscriber_downlink_estimate_bits_per_second",
             "downlink estimate of each subscriber (what the layer allocation may spend)",
             figures.estimates),
            ("conf_subscriber_downlink_loss_ratio",
             "recent loss each subscriber reports on what the SFU sends it", figures.losses),
            ("conf_subscriber_rtt_seconds",
             "round-trip time to each subscriber (those with a measurement)", figures.rtts),
        ):  # fmt: skip
            yield HistogramMetricFamily(
                name, doc, buckets=histogram.buckets(), sum_value=histogram.total
            )
        for name, doc, value in (
            ("conf_subscribers_without_remb",
             "subscribers whose browser has sent no REMB yet (estimate unlimited)",
             figures.without_remb),
            ("conf_subscribers_video_paused",
             "subscribers with at least one video paused because their downlink cannot take it",
             figures.limited),
            ("conf_video_consumers_bandwidth_paused",
             "video tracks not forwarded because the subscriber's downlink cannot take them",
             figures.paused),
        ):  # fmt: skip
            yield GaugeMetricFamily(name, doc, value=value)
        layers = GaugeMetricFamily(
            "conf_video_consumers_by_layer",
            "video tracks being forwarded, by the simulcast layer chosen (0 = lowest)",
            labels=["layer"],
        )
        for label, count in figures.by_layer.items():
            layers.add_metric([label], count)
        yield layers

    def _publisher_families(self, figures: _PublisherFigures) -> Iterator[Metric]:
        yield HistogramMetricFamily(
            "conf_publisher_uplink_loss_ratio",
            "loss on the way from each publisher, worst stream, last report interval",
            buckets=figures.uplink.buckets(),
            sum_value=figures.uplink.total,
        )
        received = HistogramMetricFamily(
            "conf_received_layer_bitrate_bits_per_second",
            "bitrate of each video layer arriving from publishers, by layer (0 = lowest)",
            labels=["layer"],
        )
        for label, histogram in figures.bitrates.items():
            received.add_metric([label], histogram.buckets(), histogram.total)
        yield received
        producers = GaugeMetricFamily(
            "conf_video_producers_by_live_layers",
            "published video tracks by how many of their layers arrive now",
            labels=["live_layers"],
        )
        for label, count in figures.live_counts.items():
            producers.add_metric([label], count)
        yield producers
