"""A lean protocol-v1 client for load: publishes replayed media, counts what it receives.

Its camera is either replayed through aiortc (``camera="replay"``, one
640x480 encoding) or sent as pre-encoded layers by a
:class:`~conf_bench.layered_publisher.LayeredPublisher`: ``"simulcast"`` (three
layers, 180p/360p/720p, offered with rids) or ``"top_layer"`` (the 720p layer
alone, the same publisher without simulcast). Received RTP is counted at the
DTLS transport through the same hook the SFU uses (sfu.aiortc_bridge), so no
packet is parsed past its header, buffered or decoded. Each phase of joining is timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any, Literal

import aiohttp
import socketio
from aiortc import RTCSessionDescription

from sfu import aiortc_bridge as bridge
from sfu import rtp

from . import simulcast_offer as offer_text
from .layered_publisher import LayeredPublisher, Negotiated, SentLayer
from .media import LayeredVideo, PreparedMedia, ReplayTrack
from .voice_publisher import VoiceNegotiated, VoicePublisher

PHASES = ("signaling", "offer", "ice", "dtls", "first_packet", "first_keyframe")

Camera = Literal["replay", "simulcast", "top_layer"]
#: ``"replay"``: Opus through aiortc (no audio level); ``"talking"`` /
#: ``"silent"``: a :class:`~conf_bench.voice_publisher.VoicePublisher` with
#: levels, silent ones sending as Opus DTX does.
Microphone = Literal["replay", "talking", "silent"]
#: A receiver's socket buffer: 4 MB (the kernel's usual ``rmem_max``) holds
#: seconds of a receiver's packets, so the generator waiting for a core on a
#: shared machine does not count its own drops as the server's loss.
RECEIVE_BUFFER = 4 * 2**20
#: ``wrong_node`` redirects a join follows (docs/protocol.md, *Several nodes*).
MAX_REDIRECTS = 5


async def _ignore_nack(sequence_number: int) -> None:
    """Replayed media keeps no history to retransmit from."""


class BenchClient:
    """One participant of a benchmark meeting."""

    def __init__(
        self, url: str, name: str, media: PreparedMedia, layered: LayeredVideo | None = None
    ) -> None:
        self.url = url
        self.name = name
        self.media = media
        self.layered = layered
        #: The camera's sender when it publishes layers itself (not "replay").
        self.layered_publisher: LayeredPublisher | None = None
        #: The microphone's sender when it writes its packets itself (not "replay").
        self.voice_publisher: VoicePublisher | None = None
        self.sio = self._new_socket()
        self.participant_id = ""
        self.publish_pc = bridge.create_peer_connection(())
        self.subscribe_pc = bridge.create_peer_connection(())
        self.tracks: list[ReplayTrack] = []
        self.received = 0
        self.received_video = 0
        self.marks: dict[str, float] = {}
        self._video_payload_types: set[int] = set()
        self._hooked = False
        self._started = 0.0
        self._answering = asyncio.Lock()
        self.receive = True
        #: The acoustic zone it joined in (``join.zone``), and the ids whose
        #: video it shows (its last ``set_view``): what it should receive.
        self.zone: str | None = None
        self.view: list[str] = []
        self._dtls: Any = None
        #: The publish connection's DTLS transport (once it publishes).
        self._publish_dtls: Any = None
        #: Why the signaling socket closed, if it did (``disconnect`` reason).
        self.disconnected: str | None = None
        #: SSRCs seen since the last census (see LoadGenerator.stream_census),
        #: and those of them that carried video.
        self.ssrcs: set[bytes] = set()
        self.video_ssrcs: set[bytes] = set()

    def _new_socket(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("subscriber_offer", self._on_offer)
        sio.on("publish_layers", self._on_publish_layers)

        async def on_disconnect(reason: Any = None) -> None:
            if sio is self.sio:  # not the socket a wrong_node redirect left
                self.disconnected = str(reason or "disconnected")

        sio.on("disconnect", on_disconnect)
        return sio

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(event, payload, timeout=30)
        if not ack.get("ok"):
            raise RuntimeError(f"{event} refused: {ack.get('error')}")
        return ack

    def _mark(self, phase: str) -> None:
        self.marks.setdefault(phase, time.monotonic() - self._started)

    async def join(
        self,
        room: str,
        video: bool,
        audio: bool,
        receive: bool = True,
        camera: Camera = "replay",
        microphone: Microphone = "replay",
        fields: dict[str, Any] | None = None,
    ) -> None:
        """Join, then publish the requested media; ``receive=False`` ignores offers.

        ``fields`` go into the ``join`` message too (``zone``, ``mode``).
        """
        self.receive = receive
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=20)
        self._started = time.monotonic()
        ack = await self._join_following_redirects(
            {"protocol": 1, "room": room, "name": self.name, "receive": receive, **(fields or {})}
        )
        self.participant_id = ack["participant_id"]
        self._mark("signaling")
        kinds = [("video", "camera")] if video else []
        kinds += [("audio", "microphone")] if audio else []
        if not kinds:
            return
        pc = self.publish_pc
        transceivers = []
        layered_mid: str | None = None
        for kind, source in kinds:
            if (kind == "video" and camera != "replay") or (
                kind == "audio" and microphone != "replay"
            ):
                # aiortc negotiates; our own publisher writes the packets.
                transceiver = bridge.add_send_transceiver(pc, kind)
                transceivers.append((transceiver, source))
                continue
            track = ReplayTrack(self.media.video if kind == "video" else self.media.audio)
            self.tracks.append(track)
            transceiver = pc.addTransceiver(track, direction="sendonly")
            bridge.hook_sender_feedback(transceiver.sender, track.request_keyframe, _ignore_nack)
            transceivers.append((transceiver, source))
        await pc.setLocalDescription(await pc.createOffer())
        sources = {str(t.mid): source for t, source in transceivers}
        sdp = pc.localDescription.sdp
        layers: list[SentLayer] = []
        if video and camera != "replay":
            layered_mid = str(transceivers[0][0].mid)
            layers = self._layers(camera)
            rids = [layer.rid or "" for layer in layers] if camera == "simulcast" else []
            sdp = offer_text.layered_offer(sdp, layered_mid, rids, layers[0].ssrc, self.name)
        answer = await self.call("publish", {"sdp": sdp, "sources": sources})
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        if layered_mid is not None:
            self._start_layers(answer["sdp"], layered_mid, layers, transceivers[0][0])
        if audio and microphone != "replay":
            self._start_voice(answer["sdp"], transceivers[-1][0], microphone == "talking")

    async def _join_following_redirects(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``join``, sent again to the node a ``wrong_node`` names (at most
        ``MAX_REDIRECTS`` times); ``self.url`` ends as the node that took it."""
        tried = [self.url]
        for _ in range(MAX_REDIRECTS):
            ack: dict[str, Any] = await self.sio.call("join", payload, timeout=30)
            error = ack.get("error") or {}
            if ack.get("ok") or error.get("code") != "wrong_node":
                break
            await self.sio.disconnect()
            self.sio = self._new_socket()
            self.url = str(error["url"]).rstrip("/")
            tried.append(self.url)
            await self.sio.connect(self.url, transports=["websocket"], wait_timeout=20)
        if not ack.get("ok"):
            raise RuntimeError(f"join refused: {ack.get('error')} (sent along {tried})")
        return ack

    def _layers(self, camera: Camera) -> list[SentLayer]:
        if self.layered is None:
            raise RuntimeError("a layered camera needs the layered media (prepared_layers)")
        pairs = list(zip(self.layered.specs, self.layered.streams, strict=True))
        if camera == "top_layer":
            return [SentLayer(None, pairs[-1][1])]
        ssrcs = random.sample(range(1, 2**32), len(pairs))
        return [
            SentLayer(spec.rid, stream, ssrc)
            for (spec, stream), ssrc in zip(pairs, ssrcs, strict=True)
        ]

    def _start_layers(
        self, answer: str, mid: str, layers: list[SentLayer], transceiver: Any
    ) -> None:
        rids = [layer.rid for layer in layers if layer.rid]
        if rids and not offer_text.answer_accepts_simulcast(answer, mid, rids):
            raise RuntimeError(f"the server's answer did not accept simulcast {rids} on {mid}")
        ids = offer_text.answer_extension_ids(answer, mid)
        nego = Negotiated(
            mid=mid,
            payload_type=offer_text.answer_payload_type(answer, mid),
            mid_id=ids.get(bridge.URI_MID),
            rid_id=ids.get(bridge.URI_RID) if rids else None,
            transport_cc_id=ids.get(bridge.URI_TRANSPORT_CC),
        )
        dtls = self._publish_dtls = bridge.dtls_transport_of(transceiver)
        publisher = LayeredPublisher(bridge.RtpSendPath(dtls), layers, nego)
        bridge.hook_incoming_rtcp(dtls, publisher.on_rtcp)
        publisher.start()
        self.layered_publisher = publisher

    def _start_voice(self, answer: str, transceiver: Any, talking: bool) -> None:
        mid = str(transceiver.mid)
        ids = offer_text.answer_extension_ids(answer, mid)
        nego = VoiceNegotiated(
            mid=mid,
            payload_type=offer_text.answer_payload_type(answer, mid),
            ssrc=bridge.sender_ssrc(transceiver.sender),
            mid_id=ids.get(bridge.URI_MID),
            level_id=ids.get(bridge.URI_AUDIO_LEVEL),
        )
        dtls = self._publish_dtls = bridge.dtls_transport_of(transceiver)
        publisher = VoicePublisher(bridge.RtpSendPath(dtls), self.media.audio, nego, talking)
        publisher.start()
        self.voice_publisher = publisher

    def sending(self) -> dict[str, Any]:
        """What its publishers have sent (cumulative) and the state of the
        connections they send on: to tell why a receiver misses its media."""
        camera, voice = self.layered_publisher, self.voice_publisher
        publishers = [p for p in (camera, voice) if p is not None]
        dtls = self._publish_dtls
        return {
            "participant_id": self.participant_id,
            "camera_sent": camera.packets_sent if camera is not None else None,
            "voice_sent": voice.packets_sent if voice is not None else None,
            "refused": sum(p.refused for p in publishers),
            "failures": [f for p in publishers if (f := p.failure) is not None],
            "dtls": dtls.state if dtls is not None else None,
            "ice": dtls.transport.state if dtls is not None else None,
            "subscribe": self.subscribe_pc.connectionState,
            "signaling": self.disconnected or ("up" if self.sio.connected else "down"),
        }

    async def _on_publish_layers(self, message: dict[str, Any]) -> None:
        publisher = self.layered_publisher
        if publisher is not None and isinstance(message.get("layers"), dict):
            publisher.set_layers(str(message.get("mid")), message["layers"])

    async def _on_offer(self, offer: dict[str, Any]) -> None:
        if not self.receive:
            return  # a publish-only participant: the SFU sends it nothing
        async with self._answering:
            self._mark("offer")
            pc = self.subscribe_pc
            await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
            # Before the answer is applied: on a connection that is already
            # up, setLocalDescription starts each new receiver's decoder
            # thread, which would then wait on the old queue for good (and
            # aiortc's close would wait for that thread).
            for transceiver in pc.getTransceivers():
                bridge.disable_decoder(transceiver)
            await pc.setLocalDescription(await pc.createAnswer())
            for transceiver in pc.getTransceivers():
                if transceiver.kind == "video":
                    self._video_payload_types.add(bridge.negotiated_codec(transceiver).payload_type)
            if not self._hooked and pc.getTransceivers():
                self._hooked = True
                self._watch(pc.getTransceivers()[0])
            # Stale (a newer offer is on its way) or the client is closing.
            with contextlib.suppress(RuntimeError, socketio.exceptions.SocketIOError):
                await self.call(
                    "subscriber_answer",
                    {"revision": offer["revision"], "sdp": pc.localDescription.sdp},
                )

    def _watch(self, transceiver: Any) -> None:
        dtls = bridge.dtls_transport_of(transceiver)
        self._dtls = dtls
        bridge.hook_incoming_rtp(dtls, self._on_rtp)

        @dtls.on("statechange")
        def on_dtls() -> None:
            if dtls.state == "connected":
                self._mark("dtls")

        ice = dtls.transport

        @ice.on("statechange")
        def on_ice() -> None:
            if ice.state in ("completed", "connected"):
                self._mark("ice")

    def _on_rtp(self, data: bytes, arrival_ms: int) -> None:
        """Decrypted packets: needed until the first keyframe has been seen."""
        self._count_raw(data)
        if "first_packet" not in self.marks:
            self._mark("first_packet")
            # Decrypted at the socket from now on: read it until empty.
            bridge.read_all_waiting(self._dtls)
        if "first_keyframe" not in self.marks and (data[1] & 0x7F) in self._video_payload_types:
            view = rtp.parse(data)
            if rtp.is_vp8_keyframe_start(data, view.payload_offset):
                self._mark("first_keyframe")
                # From now on count at the socket: the generator must cost
                # less than the SFU it loads.
                bridge.count_rtp_at_socket(self._dtls, self._count_raw, RECEIVE_BUFFER)

    def _count_raw(self, data: bytes) -> None:
        self.received += 1
        self.ssrcs.add(data[8:12])
        if (data[1] & 0x7F) in self._video_payload_types:
            self.received_video += 1
            self.video_ssrcs.add(data[8:12])

    async def set_view(
        self, participant_ids: list[str], tile_height: int | None = None, later: int = 0
    ) -> None:
        """Show the video of ``participant_ids``; with ``tile_height`` (device
        pixels) every tile is that tall, so the SFU caps each one's layer;
        ``later``: also the first that many people who join from now on."""
        view: dict[str, Any] = {"video": participant_ids}
        if tile_height is not None:
            view["sizes"] = {pid: tile_height for pid in participant_ids}
        if later:
            view["later"] = later
        await self.call("set_view", view)

    async def close(self) -> None:
        if self.layered_publisher is not None:
            await self.layered_publisher.close()
        if self.voice_publisher is not None:
            await self.voice_publisher.close()
        if self.sio.connected:
            with contextlib.suppress(Exception):  # leaving anyway
                await self.call("leave", {})
            await self.sio.disconnect()
        await self.publish_pc.close()
        await self.subscribe_pc.close()


class RelayClient:
    """Publisher or subscriber of the MediaRelay baseline (plain HTTP offer/answer)."""

    def __init__(self, url: str, media: PreparedMedia) -> None:
        self.url = url
        self.media = media
        self.pc = bridge.create_peer_connection(())
        self.received = 0
        self.received_video = 0

    async def _exchange(self, path: str) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with aiohttp.ClientSession() as session:
            body = {"sdp": self.pc.localDescription.sdp}
            async with session.post(f"{self.url}{path}", json=body) as response:
                answer = await response.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def publish(self) -> None:
        self.pc.addTransceiver(ReplayTrack(self.media.video), direction="sendonly")
        await self._exchange("/publish")

    async def subscribe(self) -> None:
        transceiver = self.pc.addTransceiver("video", direction="recvonly")
        bridge.hook_incoming_rtp(bridge.dtls_transport_of(transceiver), self._on_rtp)
        await self._exchange("/subscribe")

    def _on_rtp(self, data: bytes, arrival_ms: int) -> None:
        self.received += 1
        self.received_video += 1

    async def close(self) -> None:
        await self.pc.close()
