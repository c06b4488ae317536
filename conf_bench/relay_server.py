"""The baseline: aiortc's stock MediaRelay (decode once, re-encode per subscriber).

A deliberately plain aiortc server, as aiortc's examples build one: one
publisher's video is relayed to every subscriber through ``MediaRelay``.
Offers and answers go over two HTTP endpoints. Run by the benchmark only.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from aiohttp import web
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from sfu import aiortc_bridge as bridge

SOURCE = web.AppKey("source", dict)


def create_app() -> web.Application:
    app = web.Application()
    relay = MediaRelay()
    peers: set[RTCPeerConnection] = set()
    app[SOURCE] = {}
    source_ready = asyncio.Event()

    async def answer(pc: RTCPeerConnection, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})

    async def publish(request: web.Request) -> web.Response:
        pc = RTCPeerConnection()
        peers.add(pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                app[SOURCE]["video"] = track
                source_ready.set()

        return await answer(pc, request)

    async def subscribe(request: web.Request) -> web.Response:
        await asyncio.wait_for(source_ready.wait(), 10)
        pc = RTCPeerConnection()
        peers.add(pc)
        body: dict[str, Any] = await request.json()
        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "offer"))
        pc.addTrack(relay.subscribe(app[SOURCE]["video"]))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})

    async def close_all(_: web.Application) -> None:
        await asyncio.gather(*(pc.close() for pc in peers))

    app.router.add_post("/publish", publish)
    app.router.add_post("/subscribe", subscribe)
    app.on_shutdown.append(close_all)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    bridge.restrict_ice_addresses(["127.0.0.1"])
    web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
