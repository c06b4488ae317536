"""A subscriber that misses an offer is offered again instead of waiting forever."""

from __future__ import annotations

import asyncio

from aiortc import RTCSessionDescription
from media_peers import CounterVideoTrack, collect_counters

from sfu import Router, SfuSettings
from sfu import aiortc_bridge as bridge


class Observer:
    def __init__(self) -> None:
        self.subscribers = []

    def producer_added(self, producer):
        for transport in self.subscribers:
            transport.consume(producer)

    def producer_closed(self, producer):
        pass

    def active_speaker_changed(self, producer):
        pass


async def test_unanswered_offer_is_offered_again_and_media_then_flows():
    settings = SfuSettings(ice_addresses=("127.0.0.1",), negotiation_timeout_s=0.5)
    observer = Observer()
    router = Router(settings, observer)
    client = bridge.create_peer_connection(())
    publisher = bridge.create_peer_connection(())
    offers: list[int] = []
    answering: set[asyncio.Task[None]] = set()
    tracks = {}
    client.on("track", lambda track: tracks.setdefault(track.kind, track))

    async def answer(revision: int, sdp: str) -> None:
        await client.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await client.setLocalDescription(await client.createAnswer())
        await subscriber.accept_answer(revision, client.localDescription.sdp)

    async def send_offer(revision, sdp, slots):
        offers.append(revision)
        if len(offers) > 1:  # the first offer is lost on the way
            task = asyncio.ensure_future(answer(revision, sdp))
            answering.add(task)
            task.add_done_callback(answering.discard)

    subscriber = router.create_subscribe_transport(send_offer, {})
    observer.subscribers.append(subscriber)
    try:
        publisher.addTransceiver(CounterVideoTrack(), direction="sendonly")
        await publisher.setLocalDescription(await publisher.createOffer())
        transport = router.create_publish_transport({})
        mid = publisher.getTransceivers()[0].mid
        answer_sdp = await transport.negotiate(publisher.localDescription.sdp, {mid: {}})
        await publisher.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        for _ in range(100):
            if "video" in tracks:
                break
            await asyncio.sleep(0.05)
        assert offers[:2] == [1, 2], offers
        assert subscriber.negotiation_failures == 1
        assert await collect_counters(tracks["video"], 3)
    finally:
        await router.close()
        await client.close()
        await publisher.close()
