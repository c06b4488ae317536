"""PublishTransport: the peer connection on which one participant sends its tracks.

The client offers; the server answers. Each m-section the client names in
``sources`` becomes a :class:`Producer` (with one layer per simulcast rid);
decrypted RTP is routed to producer layers by SSRC straight from the DTLS
transport (see aiortc_bridge.hook_incoming_rtp). RTX retransmissions are
unwrapped into the packets they repair; audio is resent on its own SSRC, so
a resent Opus packet simply arrives late.

The transport also gives the publisher's browser the feedback its congestion
control and loss repair need (RFC 3550, 4585, draft-holmer transport-cc):
receiver reports, NACKs for the gaps of each stream (video and Opus), transport-wide
congestion-control feedback, and the REMB ceiling.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiortc import RTCSessionDescription

from . import aiortc_bridge as bridge
from . import rtcp, rtp, simulcast_sdp, timeline
from .announced_address import announce_address
from .errors import MediaPortsFull, NegotiationError, TransportClosed, UnsupportedCodec
from .ice import add_remote_candidate
from .port_range import shared_port_range
from .producer import Producer
from .producer_layer import ProducerLayer
from .sdp_check import check_media_lines
from .settings import SfuSettings
from .stats import SfuStats
from .tasks import TaskGroup
from .transport_cc import TransportCcRecorder

logger = logging.getLogger(__name__)

MAX_SDP_LENGTH = 64 * 1024

#: Feedback rounds between receiver reports, and between REMB ceilings.
REPORT_EVERY = 5
REMB_EVERY = 10
#: The round-trip time NACK retries are spaced by (the SFU cannot measure the
#: publisher's RTT: it sends no media on this connection).
ASSUMED_RTT = 0.1

Route = tuple[Producer, ProducerLayer]


class PublishTransport:
    """Receives one participant's media. ``close()`` closes its producers too."""

    def __init__(
        self,
        settings: SfuSettings,
        on_producer: Callable[[Producer], None],
        stats: SfuStats,
        app_data: dict[str, Any] | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.app_data: dict[str, Any] = dict(app_data or {})
        self.closed = False
        self.producers: dict[str, Producer] = {}  # by mid
        self.pc = bridge.create_peer_connection(settings.ice_servers)
        self._settings = settings
        self._ports = shared_port_range(settings.rtc_ports) if settings.rtc_ports else None
        self._stats = stats
        self._on_producer = on_producer
        self._by_ssrc: dict[int, Route] = {}
        self._rtx_by_ssrc: dict[int, Route] = {}
        self._formats: dict[str, bridge.PublishFormat] = {}
        self._hooked: set[int] = set()
        self._lock = asyncio.Lock()
        self._tasks = TaskGroup(f"publish transport {self.id}")
        self._rtcp_ssrc = random.getrandbits(32)
        self._mid_ext_id: int | None = None
        self._rid_ext_id: int | None = None
        self._rrid_ext_id: int | None = None
        self._transport_cc_id: int | None = None
        self._transport_cc = TransportCcRecorder(self._rtcp_ssrc)
        self.unroutable_packets = 0
        self.rtx_packets = 0
        self.padding_packets = 0
        self._nacking = False
        self._tasks.spawn(self._send_feedback())

    @property
    def connection_state(self) -> str:
        state: str = self.pc.connectionState
        return state

    async def negotiate(self, offer_sdp: str, sources: dict[str, dict[str, Any]]) -> str:
        """Apply the client's offer and return the answer SDP.

        ``sources`` maps each published m-section's mid to the app data of its
        producer. Producers whose mid is no longer named are closed.
        """
        if self.closed:
            raise TransportClosed("the publish transport is closed")
        if len(offer_sdp) > MAX_SDP_LENGTH:
            raise NegotiationError("the offer is too large", code="invalid_sdp")
        # aiortc accepts text without a single m-section as an empty session.
        if not offer_sdp.lstrip().startswith("v=0") or "\nm=" not in offer_sdp:
            raise NegotiationError("the offer is not an SDP offer with media", code="invalid_sdp")
        check_media_lines(offer_sdp)
        who = str(self.app_data.get("participant_id", self.id))
        async with self._lock:
            timeline.step(who, "publish: applying the offer")
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            except Exception as exc:  # aiortc raises many types for malformed SDP
                raise NegotiationError(f"the offer was refused: {exc}", code="invalid_sdp") from exc
            transceivers = {t.mid: t for t in self.pc.getTransceivers() if t.mid is not None}
            unknown = set(sources) - set(transceivers)
            if unknown:
                raise NegotiationError(
                    f"sources name m-sections not in the offer: {sorted(unknown)}",
                    code="invalid_sources",
                )
            offered = bridge.offered_media(self.pc)
            formats: dict[str, bridge.PublishFormat] = {}
            for mid, transceiver in transceivers.items():
                bridge.disable_decoder(transceiver)
                if mid not in offered:
                    continue
                try:
                    formats[mid] = bridge.negotiate_publish_format(transceiver, offered[mid])
                except LookupError as exc:
                    if mid in sources:
                        raise UnsupportedCodec(str(exc)) from exc
            layers = self._accepted_layers(offer_sdp, formats, sources)
            for transceiver in transceivers.values():
                transport = bridge.dtls_transport_of(transceiver)
                if id(transport) not in self._hooked:
                    self._hooked.add(id(transport))
                    bridge.hook_incoming_rtp(transport, self._on_rtp)
                    bridge.hook_incoming_rtcp(transport, self._on_rtcp)
            timeline.step(who, "publish: offer applied")
            try:
                answer = await self.pc.createAnswer()
                timeline.step(who, "publish: answer made")
                await bridge.set_local_description(self.pc, answer, self._ports)
                timeline.step(who, "publish: answer set (gathered)")
            except MediaPortsFull:
                await self._start_over()
                raise
            except Exception as exc:
                raise NegotiationError(f"could not answer the offer: {exc}") from exc
            self._formats.update(formats)
            await self._update_producers(transceivers, formats, sources, layers, offered)
            answer_sdp = simulcast_sdp.accept_layers(self.pc.localDescription.sdp, layers)
            if self._settings.announced_address is not None:
                answer_sdp = announce_address(answer_sdp, self._settings.announced_address)
            return answer_sdp

    async def _start_over(self) -> None:
        """After a first answer that found no media port: a fresh peer
        connection, so that publishing again gathers again (aiortc gathers
        once per peer connection); closing the old one frees what it bound."""
        old, self.pc = self.pc, bridge.create_peer_connection(self._settings.ice_servers)
        self._hooked.clear()
        await old.close()

    def _accepted_layers(
        self,
        offer_sdp: str,
        formats: dict[str, bridge.PublishFormat],
        sources: dict[str, dict[str, Any]],
    ) -> dict[str, list[str]]:
        """The simulcast rids accepted per mid: only for video the deployment
        wants simulcast for, whose packets name their rid, and never changed
        for a producer that already exists (a browser cannot change it either)."""
        if not self._settings.simulcast_layers:
            return {}
        accepted: dict[str, list[str]] = {}
        for mid, rids in simulcast_sdp.offered_layers(offer_sdp).items():
            negotiated = formats.get(mid)
            if negotiated is None or bridge.URI_RID not in negotiated.extensions:
                continue
            existing = self.producers.get(mid)
            if existing is not None:
                if existing.simulcast:
                    accepted[mid] = [layer.rid or "" for layer in existing.layers]
                continue
            if mid in sources:
                accepted[mid] = rids
        return accepted

    async def _update_producers(
        self,
        transceivers: dict[str, Any],
        formats: dict[str, bridge.PublishFormat],
        sources: dict[str, dict[str, Any]],
        layers: dict[str, list[str]],
        offered: dict[str, Any],
    ) -> None:
        for mid in list(self.producers):
            if mid not in sources:
                await self.producers.pop(mid).close()
        for mid, app_data in sources.items():
            transceiver = transceivers[mid]
            negotiated = formats[mid]
            ids = negotiated.extensions
            self._mid_ext_id = ids.get(bridge.URI_MID, self._mid_ext_id)
            self._rid_ext_id = ids.get(bridge.URI_RID, self._rid_ext_id)
            self._rrid_ext_id = ids.get(bridge.URI_REPAIRED_RID, self._rrid_ext_id)
            self._transport_cc_id = ids.get(bridge.URI_TRANSPORT_CC, self._transport_cc_id)
            existing = self.producers.get(mid)
            if existing is not None:
                existing.app_data.update(app_data)
                continue
            media = offered.get(mid)
            ssrcs = [s.ssrc for s in media.ssrc] if media is not None else []
            rids = layers.get(mid)
            producer = Producer(
                kind=transceiver.kind,
                codec=negotiated.codec,
                mid=mid,
                ssrc=ssrcs[0] if ssrcs and not rids else None,
                audio_level_id=ids.get(bridge.URI_AUDIO_LEVEL),
                rids=rids,
                settings=self._settings,
                send_keyframe_request=self._send_pli,
                stats=self._stats,
                app_data={**self.app_data, **app_data},
            )
            producer.on_close(self._forget)
            self.producers[mid] = producer
            if not rids and producer.ssrc is not None:
                layer = producer.layers[0]
                self._by_ssrc[producer.ssrc] = (producer, layer)
                rtx = bridge.rtx_ssrcs(media).get(producer.ssrc) if media is not None else None
                if rtx is not None:
                    layer.rtx_ssrc = rtx
                    self._rtx_by_ssrc[rtx] = (producer, layer)
            self._on_producer(producer)

    def _forget(self, producer: Producer) -> None:
        for routes in (self._by_ssrc, self._rtx_by_ssrc):
            for ssrc, (p, _layer) in list(routes.items()):
                if p is producer:
                    del routes[ssrc]
        if self.producers.get(producer.mid) is producer:
            del self.producers[producer.mid]

    async def add_ice_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """Add a trickled remote ICE candidate (``candidate:...`` line)."""
        if self.closed:
            raise TransportClosed("the publish transport is closed")
        await add_remote_candidate(self.pc, candidate, sdp_mid, sdp_mline_index)

    # -- media path ---------------------------------------------------------------

    def _on_rtp(self, data: bytes, arrival_ms: int) -> None:
        try:
            view = rtp.parse(data)
        except ValueError:
            return
        now = time.monotonic()
        transport_cc_id = self._transport_cc_id
        if transport_cc_id is not None:
            self._note_transport_sequence(data, transport_cc_id, now)
        route = self._by_ssrc.get(view.ssrc)
        if route is None:
            repaired = self._rtx_by_ssrc.get(view.ssrc)
            if repaired is not None:
                self._on_rtx(view, *repaired, now)
                return
            route = self._bind(data, view, now)
            if route is None:
                self.unroutable_packets += 1
                self._stats.packets_unroutable += 1
                return
        producer, layer = route
        if view.payload_type != producer.codec.payload_type:
            self.unroutable_packets += 1  # e.g. RTX before its SSRC is known
            self._stats.packets_unroutable += 1
            return
        if view.padding_only:
            self.padding_packets += 1  # a bandwidth probe: the producer forwards none of it
        producer.receive(view, layer, now)
        nacks = layer.nacks
        if nacks.fresh:
            nacks.fresh = False
            self._nack_now()

    def _note_transport_sequence(self, data: bytes, ext_id: int, now: float) -> None:
        try:
            value = rtp.find_extension(data, ext_id)
        except ValueError:
            return
        if value is not None and len(value) == 2:
            self._transport_cc.on_packet((value[0] << 8) | value[1], now)

    def _on_rtx(
        self, view: rtp.RtpView, producer: Producer, layer: ProducerLayer, now: float
    ) -> None:
        """Unwrap an RTX packet (RFC 4588) into the packet it repairs."""
        self.rtx_packets += 1
        self._stats.rtx_packets_received += 1
        repaired = rtp.unwrap_rtx(view, producer.codec.payload_type, layer.ssrc or 0)
        if repaired is None:
            self.padding_packets += 1
            return
        producer.receive(repaired, layer, now)

    def _on_rtcp(self, data: bytes) -> None:
        for ssrc, ntp, rtp_timestamp in rtp.sender_reports(data):
            route = self._by_ssrc.get(ssrc)
            if route is not None:
                route[0].set_sender_report(route[1], ntp, rtp_timestamp)

    def _bind(self, data: bytes, view: rtp.RtpView, now: float) -> Route | None:
        """Learn an SSRC the SDP did not announce from the packet's MID and
        RID (or repaired RID, for RTX) header extensions."""
        if self._mid_ext_id is None:
            return None
        try:
            mid = rtp.find_extension(data, self._mid_ext_id)
            rid = rtp.find_extension(data, self._rid_ext_id) if self._rid_ext_id else None
            rrid = rtp.find_extension(data, self._rrid_ext_id) if self._rrid_ext_id else None
        except ValueError:
            return None
        producer = self.producers.get(mid.decode(errors="replace")) if mid else None
        if producer is None:
            return None
        name = (rrid or rid or b"").decode(errors="replace")
        if producer.simulcast:
            layer = next((x for x in producer.layers if x.rid == name), None)
        else:
            layer = producer.layers[0]
        if layer is None:
            return None
        route = (producer, layer)
        formats = self._formats.get(producer.mid)
        rtx_type = formats.rtx_payload_type if formats is not None else None
        if rrid is not None or (rtx_type is not None and view.payload_type == rtx_type):
            layer.rtx_ssrc = view.ssrc
            self._rtx_by_ssrc[view.ssrc] = route
            self._on_rtx(view, producer, layer, now)
            return None
        if layer.ssrc is not None and layer.ssrc != view.ssrc:
            self._by_ssrc.pop(layer.ssrc, None)  # the browser restarted the stream
        layer.bind(view.ssrc)
        self._by_ssrc[view.ssrc] = route
        timeline.step(producer.owner, f"{producer.kind} layer {layer.index}: first packet")
        return route

    async def _send_pli(self, media_ssrc: int) -> bool:
        transport = self._transport()
        if transport is None:
            return False
        return await bridge.send_rtp(transport, bridge.pli_packet(self._rtcp_ssrc, media_ssrc))

    def _transport(self) -> Any:
        transceivers = self.pc.getTransceivers()
        return bridge.dtls_transport_of(transceivers[0]) if transceivers else None

    async def _send_feedback(self) -> None:
        """Every ``feedback_interval_s``: NACKs for gaps and transport-cc
        feedback; every few rounds receiver reports and the REMB ceiling."""
        rounds = 0
        while True:
            await asyncio.sleep(self._settings.feedback_interval_s)
            rounds += 1
            transport = self._transport()
            if transport is None:
                continue
            for packet in self._feedback_packets(
                time.monotonic(), rounds % REPORT_EVERY == 0, rounds % REMB_EVERY == 0
            ):
                if not await bridge.send_rtp(transport, packet):
                    break

    def _nack_now(self) -> None:
        """A packet went missing: ask for it now rather than at the next round
        (every millisecond counts before the subscribers' jitter buffers give up)."""
        if self._nacking:
            return
        self._nacking = True
        self._tasks.spawn(self._send_nacks())

    async def _send_nacks(self) -> None:
        try:
            transport = self._transport()
            if transport is None:
                return
            now = time.monotonic()
            packets: list[bytes] = []
            for producer in list(self.producers.values()):
                for layer in producer.layers:
                    if layer.ssrc is not None:
                        packets.extend(self._nacks_of(layer, now))
            for packet in packets:
                await bridge.send_rtp(transport, packet)
        finally:
            self._nacking = False

    def _nacks_of(self, layer: ProducerLayer, now: float) -> list[bytes]:
        assert layer.ssrc is not None
        lost = layer.nacks.due(now, ASSUMED_RTT)
        if not lost:
            return []
        self._stats.nacks_sent += len(lost)
        return rtcp.generic_nacks(self._rtcp_ssrc, layer.ssrc, lost)

    def _feedback_packets(self, now: float, report: bool, ceiling: bool) -> list[bytes]:
        packets: list[bytes] = []
        blocks: list[rtcp.ReportBlock] = []
        video_ssrcs: list[int] = []
        sender = self._rtcp_ssrc
        for producer in list(self.producers.values()):
            for layer in producer.layers:
                if layer.ssrc is None or layer.stream is None:
                    continue
                packets.extend(self._nacks_of(layer, now))
                self._count_repairs(layer)
                if producer.kind == "video":
                    video_ssrcs.append(layer.ssrc)
                    if layer.nacks.take_keyframe_needed():
                        producer.request_keyframe(layer.index)
                if report:
                    block = layer.stream.report_block(now)
                    layer.fraction_lost = block.fraction_lost
                    blocks.append(block)
        media_ssrc = video_ssrcs[0] if video_ssrcs else next(iter(self._by_ssrc), 0)
        packets.extend(self._transport_cc.feedback(media_ssrc))
        if blocks:
            packets.append(rtcp.receiver_report(sender, blocks))
        if ceiling and video_ssrcs:
            video = sum(1 for p in self.producers.values() if p.kind == "video")
            packets.append(rtcp.remb(sender, self._settings.max_video_bitrate * video, video_ssrcs))
        return packets

    def _count_repairs(self, layer: ProducerLayer) -> None:
        """Add what the layer's NACK bookkeeping gave up or recovered since last time."""
        nacks = layer.nacks
        failed, recovered = layer.repairs_counted
        self._stats.nack_repairs_failed += nacks.failed - failed
        self._stats.nack_repairs_recovered += nacks.recovered - recovered
        layer.repairs_counted = (nacks.failed, nacks.recovered)

    def uplink_loss(self) -> float:
        """The share of this publisher's packets lost on the way here (0..1)
        in the last report interval, worst stream first (before repair)."""
        fractions = [layer.fraction_lost for p in self.producers.values() for layer in p.layers]
        return max(fractions, default=0) / 256

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self._tasks.cancel_all()
        for producer in list(self.producers.values()):
            await producer.close()
        self.producers.clear()
        self._by_ssrc.clear()
        await self.pc.close()
