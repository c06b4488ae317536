"""What an operator sees of one room's media: the SFU objects of a :class:`RoomMedia`
turned into plain JSON-ready dicts (``GET /api/v1/admin/rooms/{room}/media``).

Read-only and synchronous: it runs on the event loop between packets, so it
sees one consistent moment of the room. Sizes are bounded by the room: one
entry per publisher and subscriber (at most ``max_participants_per_room``
each), one per track and layer, one per forwarded track.
"""

from __future__ import annotations

from typing import Any

from sfu import Consumer, Producer, PublishTransport, SubscribeTransport
from sfu.producer_layer import ProducerLayer

from .room_media import RoomMedia

#: Decimal places of ratios and seconds: more only looks precise.
PRECISION = 4


def room_media_report(
    media: RoomMedia, now: float, participant_id: str | None = None
) -> dict[str, Any]:
    """Every publisher and subscriber of ``media`` (only ``participant_id``'s if
    given) at ``now`` (``time.monotonic()``, the clock the SFU's meters use)."""
    return {
        "active_speaker": media.active_speaker,
        "publishers": [
            publisher_report(owner, transport, now)
            for owner, transport in media.publishers.items()
            if participant_id in (None, owner)
        ],
        "subscribers": [
            subscriber_report(viewer, transport, now)
            for viewer, transport in media.subscribers.items()
            if participant_id in (None, viewer)
        ],
    }


def publisher_report(
    participant_id: str, transport: PublishTransport, now: float
) -> dict[str, Any]:
    """One participant's publish connection: its tracks and their layers."""
    return {
        "participant_id": participant_id,
        "connection_state": transport.connection_state,
        "uplink_loss": round(transport.uplink_loss(), PRECISION),
        "rtx_packets": transport.rtx_packets,
        "padding_packets": transport.padding_packets,
        "unroutable_packets": transport.unroutable_packets,
        "producers": [producer_report(p, now) for p in transport.producers.values()],
    }


def producer_report(producer: Producer, now: float) -> dict[str, Any]:
    """One published track."""
    return {
        "id": producer.id,
        "kind": producer.kind,
        "source": producer.app_data.get("source"),
        "mid": producer.mid,
        "codec": producer.codec.mime_type,
        "paused": producer.paused,
        "simulcast": producer.simulcast,
        "packets_received": producer.packets_received,
        "bytes_received": producer.bytes_received,
        "duplicates": producer.duplicates,
        "consumers": len(producer.consumers),
        "layers": [layer_report(layer, now) for layer in producer.layers],
        "publishing": (
            list(producer.dynacast.publishing)
            if producer.dynacast is not None
            else [True] * len(producer.layers)
        ),
    }


def layer_report(layer: ProducerLayer, now: float) -> dict[str, Any]:
    """One incoming stream (SSRC) of a track. Receive figures are None until
    its SSRC is known; NACK figures are None only for layers without a stream."""
    stream, nacks = layer.stream, layer.nacks
    return {
        "index": layer.index,
        "rid": layer.rid,
        "ssrc": layer.ssrc,
        "rtx_ssrc": layer.rtx_ssrc,
        "bitrate": layer.meter.bitrate(now),
        "width": layer.width,
        "height": layer.height,
        "keyframes": layer.keyframes,
        "fraction_lost": round(layer.fraction_lost / 256, PRECISION),
        "packets_received": stream.packets_received if stream is not None else None,
        "packets_lost": stream.packets_lost if stream is not None else None,
        "jitter_seconds": (round(stream.jitter_seconds, PRECISION) if stream is not None else None),
        "nacked": nacks.nacked if nacks is not None else None,
        "nack_failed": nacks.failed if nacks is not None else None,
        "nack_recovered": nacks.recovered if nacks is not None else None,
        "consumers": len(layer.consumers),
    }


def subscriber_report(
    participant_id: str, transport: SubscribeTransport, now: float
) -> dict[str, Any]:
    """One participant's receive connection: its downlink estimate, the last
    layer allocation, and every track forwarded to it."""
    estimate = transport.estimate
    rtt = estimate.rtt
    allocation = transport.allocation
    return {
        "participant_id": participant_id,
        "connection_state": transport.connection_state,
        "estimate": estimate.estimate(now),
        "remb": estimate.remb,
        "loss": round(estimate.loss, PRECISION),
        "rtt": round(rtt, PRECISION) if rtt is not None else None,
        "retransmissions_refused": transport.retransmissions_refused,
        "negotiation_failures": transport.negotiation_failures,
        "probe": {
            "active": transport.probe.active,
            "successes": transport.probe.successes,
            "failures": transport.probe.failures,
        },
        "allocation": (
            {
                "budget": allocation.budget,
                "spent": allocation.spent,
                "audio_reserve": allocation.audio_reserve,
                "deficient": allocation.deficient,
                "paused": sorted(allocation.paused),
            }
            if allocation is not None
            else None
        ),
        "consumers": [consumer_report(c) for c in transport.consumers.values()],
    }


def consumer_report(consumer: Consumer) -> dict[str, Any]:
    """One track forwarded to one subscriber."""
    producer = consumer.producer
    return {
        "id": consumer.id,
        "producer_id": producer.id,
        "participant_id": producer.app_data.get("participant_id"),
        "source": producer.app_data.get("source"),
        "kind": consumer.kind,
        "current_layer": consumer.current_layer,
        "target_layer": consumer.target_layer,
        "paused": consumer.paused,
        "hidden": consumer.hidden,
        "bandwidth_paused": consumer.bandwidth_paused,
        "priority": consumer.priority,
        "tile_height": consumer.tile_height,
        "packets_sent": consumer.packets_sent,
        "retransmissions": consumer.retransmissions,
        "layer_switches": consumer.layer_switches,
    }
