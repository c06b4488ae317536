"""Relayed tracks: one node's producer, forwarded to another node's router.

On the node where the publisher is, a :class:`RelayOut` is a consumer of the
producer like a subscriber's, but for a whole node: it sends each packet of
every layer that arrives once over the relay link (:mod:`sfu.relay_link`)
under the layer's relay SSRC, unchanged otherwise (sequence numbers,
timestamps and header extensions as the publisher sent them). The peer's
keyframe requests and NACKs for those SSRCs come back to it: a PLI/FIR asks
the publisher (the producer's throttle applies), a NACK is answered from the
producer's packet cache.

Dynacast crosses too. The other node's copy of a simulcast track has a
:class:`~sfu.dynacast.Dynacast` of its own, fed by that node's consumers and
recorder; what it would have the publisher send, it tells the publishing
node (a "LAYR" feedback, :func:`sfu.rtcp.layers_wanted`, on every change and
every second), and the :class:`RelayOut` wants exactly those layers. So a
layer no subscriber on any node takes is paused at the publisher, as in a
room on one node; until the first word from the peer, every layer is wanted.
(Without that, a relay kept every layer of every camera flowing: in the
hybrid benchmark, a meeting over two workers received ten times the packets
of the same meeting on one.)

On the other node, a :class:`RelayIn` makes a :class:`~sfu.producer.Producer`
from the track's description (:class:`RelayedTrack`, which the deployment's
control plane carries as JSON) and feeds it the packets: to that node's
router it is a producer like any other, so subscribers, speaker selection,
simulcast layer choice and recording work unchanged. Its keyframe requests
and the NACKs for gaps go back over the link.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from . import rtcp, rtp
from .aiortc_bridge import Codec
from .every import Every
from .producer import Producer
from .relay_link import RelayEndpoint, RelayPeer, RtpRoute
from .settings import SfuSettings
from .stats import SfuStats

logger = logging.getLogger(__name__)

#: Round trip assumed for NACK timing on a private network between nodes.
RELAY_RTT = 0.02
#: A publisher's sender report is passed on at most this often.
SENDER_REPORT_EVERY_S = 1.0
#: How often a node repeats which layers of a relayed track it wants (the
#: word travels over UDP: one lost must not pause a layer for good).
LAYERS_EVERY_S = 1.0
_MAX_LAYERS = 4


class InvalidRelayedTrack(ValueError):
    """A track description that is not one this SFU can make a producer of."""


@dataclass(frozen=True)
class RelayedTrack:
    """What a node needs to make a producer of a track another node relays to it."""

    origin: str
    producer_id: str
    kind: str
    mime_type: str
    clock_rate: int
    payload_type: int
    #: Relay SSRC per layer, lowest first, and the layers' rids (None: no simulcast).
    ssrcs: tuple[int, ...]
    rids: tuple[str, ...] | None = None
    audio_level_id: int | None = None
    app_data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "producer_id": self.producer_id,
            "kind": self.kind,
            "mime_type": self.mime_type,
            "clock_rate": self.clock_rate,
            "payload_type": self.payload_type,
            "ssrcs": list(self.ssrcs),
            "rids": None if self.rids is None else list(self.rids),
            "audio_level_id": self.audio_level_id,
            "app_data": dict(self.app_data),
        }

    @classmethod
    def from_dict(cls, data: Any) -> RelayedTrack:
        """Read a description; :class:`InvalidRelayedTrack` if anything is off."""
        try:
            ssrcs = tuple(int(s) for s in data["ssrcs"])
            rids = None if data.get("rids") is None else tuple(str(r) for r in data["rids"])
            level = data.get("audio_level_id")
            track = cls(
                origin=str(data["origin"]),
                producer_id=str(data["producer_id"]),
                kind=str(data["kind"]),
                mime_type=str(data["mime_type"]),
                clock_rate=int(data["clock_rate"]),
                payload_type=int(data["payload_type"]),
                ssrcs=ssrcs,
                rids=rids,
                audio_level_id=None if level is None else int(level),
                app_data=dict(data.get("app_data") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRelayedTrack(f"bad relayed track: {exc!r}") from exc
        if track.kind not in ("audio", "video") or not 0 < len(ssrcs) <= _MAX_LAYERS:
            raise InvalidRelayedTrack("bad relayed track: kind or layer count")
        if rids is not None and len(rids) != len(ssrcs):
            raise InvalidRelayedTrack("bad relayed track: one rid per layer")
        if not all(0 < s < 1 << 32 for s in ssrcs) or len(set(ssrcs)) != len(ssrcs):
            raise InvalidRelayedTrack("bad relayed track: SSRCs")
        return track


def _with_ssrc(packet: bytes, ssrc: bytes) -> bytes:
    return packet[:8] + ssrc + packet[12:]


class RelayOut:
    """Sends one producer's packets to one peer node (a :class:`~sfu.producer_layer.Downstream`)."""

    #: A talker's audio crosses whether or not this node's speaker selection
    #: ranks it: the other node ranks its own listeners' speakers, and a
    #: packet held back would be a gap there (NACKed, counted as lost).
    takes_every_packet: bool = True

    def __init__(
        self, endpoint: RelayEndpoint, peer: RelayPeer, producer: Producer, origin: str
    ) -> None:
        self.endpoint = endpoint
        self.peer = peer
        self.producer = producer
        self.closed = False
        self.packets_sent = 0
        self.retransmissions = 0
        self.ssrcs = [endpoint.new_ssrc(peer) for _ in producer.layers]
        self._ssrc_bytes = [s.to_bytes(4, "big") for s in self.ssrcs]
        self._layer_of = {ssrc: index for index, ssrc in enumerate(self.ssrcs)}
        self._reported: list[int | None] = [None] * len(self.ssrcs)
        self._reports = Every(SENDER_REPORT_EVERY_S)
        #: The layers the peer's subscribers and recorder want (None: every
        #: layer, until the peer has said).
        self.peer_wants: frozenset[int] | None = None
        self.track = RelayedTrack(
            origin=origin,
            producer_id=producer.id,
            kind=producer.kind,
            mime_type=producer.codec.mime_type,
            clock_rate=producer.codec.clock_rate,
            payload_type=producer.codec.payload_type,
            ssrcs=tuple(self.ssrcs),
            rids=tuple(layer.rid or "" for layer in producer.layers)
            if producer.simulcast
            else None,
            audio_level_id=producer.audio_level_id,
            app_data=dict(producer.app_data),
        )
        for ssrc in self.ssrcs:
            peer.feedback_routes[ssrc] = self._on_feedback
        producer.add_consumer(self)
        for layer in producer.layers:
            layer.attach(self)
        producer.on_close(lambda _producer: self._detach())
        endpoint.add_ticker(self._tick)
        producer.request_keyframe()  # the other node's subscribers start from one

    # -- Downstream ---------------------------------------------------------------

    def send(self, view: rtp.RtpView, layer: int) -> None:
        if self.endpoint.send_rtp(self.peer, _with_ssrc(view.data, self._ssrc_bytes[layer])):
            self.packets_sent += 1

    def skip(self, view: rtp.RtpView, layer: int) -> None:
        """Padding: the other node gets its number in a packet of one padding
        byte, so its subscribers see no gap there either (Producer.receive)."""
        packet = view.data[: view.payload_offset] + b"\x01"
        self.endpoint.send_rtp(self.peer, _with_ssrc(packet, self._ssrc_bytes[layer]))

    def resync(self) -> None:
        """Nothing to do: the other node asks for keyframes itself."""

    def wanted_layers(self) -> Collection[int]:
        if self.peer_wants is None:
            return range(len(self.ssrcs))
        return self.peer_wants

    async def close(self) -> None:
        self._detach()

    # -- feedback from the other node --------------------------------------------

    def _on_feedback(self, feedback: rtcp.Feedback, ssrc: int) -> None:
        """The peer's feedback on the layer sent under ``ssrc``."""
        if self.closed:
            return
        layer = self._layer_of[ssrc]
        if feedback.kind in ("pli", "fir"):
            self.producer.request_keyframe(layer)
        elif feedback.kind == "layers":
            self._peer_wants_layers(feedback.layers)
        elif feedback.kind == "nack":
            for sequence_number in feedback.lost:
                cached = self.producer.cached(layer, sequence_number)
                if cached is not None and self.endpoint.send_rtp(
                    self.peer, _with_ssrc(cached.data, self._ssrc_bytes[layer])
                ):
                    self.retransmissions += 1

    def _peer_wants_layers(self, layers: tuple[int, ...]) -> None:
        """The peer's word on which layers it wants. One it newly wants that
        the publisher was told to stop is asked back at once (as a keyframe
        request for a paused layer does on one node); one it no longer wants
        is paused by the producer's dynacast in due course."""
        self.peer_wants = frozenset(i for i in layers if i < len(self.ssrcs)) | {0}
        dynacast = self.producer.dynacast
        if dynacast is None:
            return
        for index in sorted(self.peer_wants):
            if not dynacast.publishing[index]:
                self.producer.request_keyframe(index)

    def _tick(self, now: float) -> None:
        """Pass the publisher's sender reports on (the other node's recorder
        aligns audio and video with them)."""
        if not self._reports.due(now):
            return
        for index, layer in enumerate(self.producer.layers):
            report = layer.sender_report
            if report is None or report.ntp == self._reported[index]:
                continue
            self._reported[index] = report.ntp
            # Packet and octet counts are the receiving node's own business.
            packet = rtcp.sender_report(self.ssrcs[index], report.ntp, report.rtp_timestamp, 0, 0)
            self.endpoint.send_rtcp(self.peer, packet)

    def _detach(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.endpoint.remove_ticker(self._tick)
        self.producer.remove_consumer(self)
        for layer in self.producer.layers:
            layer.detach(self)
        for ssrc in self.ssrcs:
            self.endpoint.release_ssrc(self.peer, ssrc)


class RelayIn:
    """A producer on this node fed by another node's :class:`RelayOut`."""

    def __init__(
        self,
        endpoint: RelayEndpoint,
        peer: RelayPeer,
        track: RelayedTrack,
        settings: SfuSettings,
        stats: SfuStats,
    ) -> None:
        for ssrc in track.ssrcs:
            if ssrc in peer.rtp_routes:
                raise InvalidRelayedTrack(f"relay SSRC {ssrc} is taken on this link")
        self.endpoint = endpoint
        self.peer = peer
        self.track = track
        self.closed = False
        self._rtcp_ssrc = endpoint.new_ssrc(peer)
        self.producer = Producer(
            kind=track.kind,
            codec=Codec(track.mime_type, track.clock_rate, track.payload_type),
            mid=f"relay-{track.producer_id}",
            ssrc=None,
            audio_level_id=track.audio_level_id,
            rids=list(track.rids) if track.rids is not None else None,
            settings=settings,
            send_keyframe_request=self._send_pli,
            stats=stats,
            app_data={**track.app_data, "relayed_from": track.origin},
        )
        # This copy's dynacast decides what this node wants; the publisher's
        # node hears it (module docstring) and decides what the publisher sends.
        self._layers_word = Every(LAYERS_EVERY_S)
        self.producer.on_layers_changed(lambda _producer: self._send_layers())
        for layer, ssrc in zip(self.producer.layers, track.ssrcs, strict=True):
            layer.bind(ssrc)
            peer.rtp_routes[ssrc] = self._route(layer.index)
            peer.report_routes[ssrc] = self._on_report
        self.producer.on_close(lambda _producer: self._unroute())
        endpoint.add_ticker(self._tick)

    def _route(self, index: int) -> RtpRoute:
        producer, layer = self.producer, self.producer.layers[index]

        def receive(packet: bytes) -> None:
            try:
                view = rtp.parse(packet)
            except ValueError:
                return
            producer.receive(view, layer, time.monotonic())

        return receive

    async def _send_pli(self, media_ssrc: int) -> bool:
        return self.endpoint.send_rtcp(self.peer, rtcp.pli(self._rtcp_ssrc, media_ssrc))

    def _on_report(self, feedback: rtcp.Feedback, ssrc: int) -> None:
        layer = self.producer.layers[self.track.ssrcs.index(ssrc)]
        self.producer.set_sender_report(layer, feedback.ntp, feedback.rtp_timestamp)

    def _send_layers(self) -> None:
        """Tell the publishing node which layers this node wants."""
        dynacast = self.producer.dynacast
        if dynacast is None or self.closed:
            return
        wanted = [index for index, sent in enumerate(dynacast.publishing) if sent]
        packet = rtcp.layers_wanted(self._rtcp_ssrc, self.track.ssrcs[0], wanted)
        self.endpoint.send_rtcp(self.peer, packet)

    def _tick(self, now: float) -> None:
        """NACK the gaps of every layer; repeat which layers are wanted."""
        if self._layers_word.due(now):
            self._send_layers()
        for layer in self.producer.layers:
            if layer.ssrc is None:
                continue
            lost = layer.nacks.due(now, RELAY_RTT)
            for packet in rtcp.generic_nacks(self._rtcp_ssrc, layer.ssrc, lost) if lost else ():
                self.endpoint.send_rtcp(self.peer, packet)

    async def close(self) -> None:
        """Stop taking packets and close the producer (its consumers with it)."""
        self._unroute()
        await self.producer.close()

    def _unroute(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.endpoint.remove_ticker(self._tick)
        for ssrc in self.track.ssrcs:
            self.peer.rtp_routes.pop(ssrc, None)
            self.peer.report_routes.pop(ssrc, None)
        self.endpoint.release_ssrc(self.peer, self._rtcp_ssrc)
