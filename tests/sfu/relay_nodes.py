"""Two SFU "nodes" in one test process (issue 17, point 3): each a Router
with its own relay endpoint on loopback, linked to each other; a publisher
and subscribers on them are real aiortc peers. Used by the relay tests
(tests/sfu/test_relay*.py) through the ``nodes`` fixture (conftest.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from media_peers import CounterVideoTrack

from sfu import Producer, Router, SfuSettings, SubscribeTransport
from sfu import aiortc_bridge as bridge
from sfu.relay_link import RelayEndpoint, RelayPeer

SECRET = b"a deployment's shared secret, 32b"
SETTINGS = SfuSettings(ice_addresses=("127.0.0.1",))


class Observer:
    """A room's observer: every subscriber consumes every producer."""

    def __init__(self) -> None:
        self.subscribers: list[SubscribeTransport] = []

    def producer_added(self, producer: Producer) -> None:
        for transport in self.subscribers:
            transport.consume(producer)

    def producer_closed(self, producer: Producer) -> None:
        pass

    def active_speaker_changed(self, producer: Producer | None) -> None:
        pass


@dataclass
class Node:
    name: str
    router: Router
    observer: Observer
    endpoint: RelayEndpoint
    address: tuple[str, int]
    peers: dict[str, RelayPeer] = field(default_factory=dict)
    pcs: list[RTCPeerConnection] = field(default_factory=list)

    async def publish_camera(self) -> Producer:
        """A real aiortc peer publishes a counter camera here; returns its
        producer once some media (and so its first keyframe) arrived."""
        pc = bridge.create_peer_connection(())
        self.pcs.append(pc)
        pc.addTransceiver(CounterVideoTrack(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        transport = self.router.create_publish_transport({"participant": "pat"})
        mid = pc.getTransceivers()[0].mid
        answer = await transport.negotiate(pc.localDescription.sdp, {mid: {"source": "camera"}})
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        for _ in range(200):
            producers = list(self.router.producers.values())
            if producers and producers[0].packets_received > 20:
                return producers[0]
            await asyncio.sleep(0.05)
        raise AssertionError("the publisher's media never arrived")

    async def subscriber(self) -> dict[str, Any]:
        """A real aiortc peer that takes everything this router has; returns
        the tracks it receives, by kind, as they come."""
        client = bridge.create_peer_connection(())
        self.pcs.append(client)
        tracks: dict[str, Any] = {}
        client.on("track", lambda track: tracks.setdefault(track.kind, track))
        answering: set[asyncio.Task[None]] = set()

        async def answer(revision: int, sdp: str) -> None:
            await client.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            await client.setLocalDescription(await client.createAnswer())
            await transport.accept_answer(revision, client.localDescription.sdp)

        async def send_offer(revision: int, sdp: str, slots: Any) -> None:
            task = asyncio.ensure_future(answer(revision, sdp))
            answering.add(task)
            task.add_done_callback(answering.discard)

        transport = self.router.create_subscribe_transport(send_offer, {})
        self.observer.subscribers.append(transport)
        for producer in list(self.router.producers.values()):
            transport.consume(producer)
        return tracks

    async def close(self) -> None:
        self.endpoint.close()
        await self.router.close()
        for pc in self.pcs:
            await pc.close()


async def start_node(name: str, secret: bytes = SECRET) -> Node:
    observer = Observer()
    endpoint = RelayEndpoint(name, secret)
    address = await endpoint.start("127.0.0.1")
    return Node(name, Router(SETTINGS, observer), observer, endpoint, address)


def link(a: Node, b: Node) -> None:
    a.peers[b.name] = a.endpoint.add_peer(b.name, b.address, b.endpoint.epoch)
    b.peers[a.name] = b.endpoint.add_peer(a.name, a.address, a.endpoint.epoch)
