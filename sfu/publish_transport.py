"""PublishTransport: the peer connection on which one participant sends its tracks.

The client offers; the server answers. Each m-section the client names in
``sources`` becomes a :class:`Producer`; decrypted RTP is routed to producers by
SSRC straight from the DTLS transport (see aiortc_bridge.hook_incoming_rtp).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from typing import Any

from aiortc import RTCSessionDescription

from . import aiortc_bridge as bridge
from . import rtp
from .errors import NegotiationError, TransportClosed, UnsupportedCodec
from .ice import add_remote_candidate
from .producer import Producer
from .sdp_check import check_media_lines
from .settings import SfuSettings
from .stats import SfuStats
from .tasks import TaskGroup

logger = logging.getLogger(__name__)

MAX_SDP_LENGTH = 64 * 1024


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
        self._stats = stats
        self._on_producer = on_producer
        self._by_ssrc: dict[int, Producer] = {}
        self._hooked: set[int] = set()
        self._lock = asyncio.Lock()
        self._tasks = TaskGroup(f"publish transport {self.id}")
        self._rtcp_ssrc = random.getrandbits(32)
        self._mid_ext_id: int | None = None
        self.unroutable_packets = 0
        self._tasks.spawn(self._send_bitrate_caps())

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
        async with self._lock:
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
            codecs: dict[str, bridge.Codec] = {}
            for mid, transceiver in transceivers.items():
                bridge.disable_decoder(transceiver)
                try:
                    codecs[mid] = bridge.narrow_publish_codecs(transceiver)
                except LookupError as exc:
                    if mid in sources:
                        raise UnsupportedCodec(str(exc)) from exc
            for transceiver in transceivers.values():
                transport = bridge.dtls_transport_of(transceiver)
                if id(transport) not in self._hooked:
                    self._hooked.add(id(transport))
                    bridge.hook_incoming_rtp(transport, self._on_rtp)
                    bridge.hook_incoming_rtcp(transport, self._on_rtcp)
            try:
                answer = await self.pc.createAnswer()
                await self.pc.setLocalDescription(answer)
            except Exception as exc:
                raise NegotiationError(f"could not answer the offer: {exc}") from exc
            await self._update_producers(transceivers, codecs, sources)
            sdp: str = self.pc.localDescription.sdp
            return sdp

    async def _update_producers(
        self,
        transceivers: dict[str, Any],
        codecs: dict[str, bridge.Codec],
        sources: dict[str, dict[str, Any]],
    ) -> None:
        ssrcs = bridge.remote_ssrcs_by_mid(self.pc)
        for mid in list(self.producers):
            if mid not in sources:
                await self.producers.pop(mid).close()
        for mid, app_data in sources.items():
            transceiver = transceivers[mid]
            ids = bridge.header_extension_ids(transceiver)
            self._mid_ext_id = ids.get(bridge.URI_MID, self._mid_ext_id)
            existing = self.producers.get(mid)
            if existing is not None:
                existing.app_data.update(app_data)
                continue
            ssrc = ssrcs.get(mid, [None])[0] if ssrcs.get(mid) else None
            producer = Producer(
                kind=transceiver.kind,
                codec=codecs[mid],
                mid=mid,
                ssrc=ssrc,
                audio_level_id=ids.get(bridge.URI_AUDIO_LEVEL),
                settings=self._settings,
                send_keyframe_request=self._send_pli,
                stats=self._stats,
                app_data={**self.app_data, **app_data},
            )
            producer.on_close(self._forget)
            self.producers[mid] = producer
            if ssrc is not None:
                self._by_ssrc[ssrc] = producer
            self._on_producer(producer)

    def _forget(self, producer: Producer) -> None:
        for ssrc, p in list(self._by_ssrc.items()):
            if p is producer:
                del self._by_ssrc[ssrc]
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
        producer = self._by_ssrc.get(view.ssrc)
        if producer is None:
            producer = self._bind_by_mid(data, view.ssrc)
            if producer is None:
                self.unroutable_packets += 1
                self._stats.packets_unroutable += 1
                return
        producer.receive(view)

    def _on_rtcp(self, data: bytes) -> None:
        for ssrc, ntp, rtp_timestamp in rtp.sender_reports(data):
            producer = self._by_ssrc.get(ssrc)
            if producer is not None:
                producer.set_sender_report(ntp, rtp_timestamp)

    def _bind_by_mid(self, data: bytes, ssrc: int) -> Producer | None:
        """Learn an SSRC the SDP did not announce from the packet's MID extension."""
        if self._mid_ext_id is None:
            return None
        try:
            mid = rtp.find_extension(data, self._mid_ext_id)
        except ValueError:
            return None
        producer = self.producers.get(mid.decode(errors="replace")) if mid else None
        if producer is not None:
            producer.ssrc = ssrc
            self._by_ssrc[ssrc] = producer
        return producer

    async def _send_pli(self, media_ssrc: int) -> bool:
        transport = self._transport()
        if transport is None:
            return False
        return await bridge.send_rtp(transport, bridge.pli_packet(self._rtcp_ssrc, media_ssrc))

    def _transport(self) -> Any:
        transceivers = self.pc.getTransceivers()
        return bridge.dtls_transport_of(transceivers[0]) if transceivers else None

    async def _send_bitrate_caps(self) -> None:
        """Tell the publisher, once a second, the video bitrate it may use (REMB)."""
        while True:
            await asyncio.sleep(1.0)
            video = [p.ssrc for p in self.producers.values() if p.kind == "video" and p.ssrc]
            transport = self._transport()
            if video and transport is not None:
                packet = bridge.remb_packet(
                    self._rtcp_ssrc, self._settings.max_video_bitrate, video
                )
                await bridge.send_rtp(transport, packet)

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
