"""The load-generator process: runs many BenchClients, driven by JSON lines on stdin.

Started by the benchmark runner, pinned to its own core. Each command line is a
JSON object with an ``op``; each answer is one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sfu import aiortc_bridge as bridge

from .client import PHASES, BenchClient, Camera, Microphone, RelayClient
from .layered_publisher import LayeredPublisher
from .media import LayeredVideo, prepared_layers, prepared_media
from .paged_expectation import paged_expectation

JOIN_CONCURRENCY = 8


class LoadGenerator:
    def __init__(self, url: str, cache_dir: Path) -> None:
        self.url = url
        self.cache_dir = cache_dir
        self.media = prepared_media(cache_dir)
        self._layered: LayeredVideo | None = None
        self.clients: list[BenchClient] = []
        self.relay_clients: list[RelayClient] = []
        #: Clients by the group name they were added with (see ``set_sending``).
        self.groups: dict[str, list[BenchClient]] = {}

    async def add(
        self,
        room: str,
        count: int,
        video: bool,
        audio: bool,
        wait: str,
        receive: bool = True,
        camera: Camera = "replay",
        group: str = "",
        microphone: Microphone = "replay",
        fields: dict[str, Any] | None = None,
        url: str = "",
    ) -> dict[str, Any]:
        """Add ``count`` clients; wait until each reached phase ``wait`` (or 20 s).

        ``fields`` go into each ``join`` (``zone``, ``mode``); ``url`` is the
        node they join through (default: the generator's server).
        """
        gate = asyncio.Semaphore(JOIN_CONCURRENCY)
        if camera != "replay" and self._layered is None:
            self._layered = prepared_layers(self.cache_dir)
        new = [
            BenchClient(url or self.url, f"load-{len(self.clients) + i}", self.media, self._layered)
            for i in range(count)
        ]
        for client in new:
            client.zone = (fields or {}).get("zone")
        self.clients.extend(new)
        if group:
            self.groups.setdefault(group, []).extend(new)

        async def start(client: BenchClient) -> None:
            async with gate:
                await client.join(room, video, audio, receive, camera, microphone, fields)

        await asyncio.gather(*(start(c) for c in new))
        deadline = time.monotonic() + 20
        # Polling: the marks are set by packet callbacks of many clients.
        while wait and time.monotonic() < deadline and not all(wait in c.marks for c in new):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        phases = {p: [c.marks[p] for c in new if p in c.marks] for p in PHASES}
        return {
            "added": count,
            "phases": phases,
            "ids": [c.participant_id for c in new],
            "urls": [c.url for c in new],  # where each ended (wrong_node redirects)
        }

    async def relay_add(self, count: int, publish: bool) -> dict[str, Any]:
        """Add MediaRelay baseline clients (publishers or subscribers)."""
        for _ in range(count):
            client = RelayClient(self.url, self.media)
            self.relay_clients.append(client)
            await (client.publish() if publish else client.subscribe())
        return {"added": count}

    async def stream_census(self, seconds: float = 1.0) -> dict[str, Any]:
        """How many distinct streams each receiving client got in the last ``seconds``."""
        receivers = [c for c in self.clients if c.receive]
        for client in receivers:
            client.ssrcs.clear()
        await asyncio.sleep(seconds)
        return {"streams": [len(c.ssrcs) for c in receivers]}

    async def media_census(self, seconds: float = 1.0) -> dict[str, Any]:
        """Per receiving client, how many video and audio streams it got in
        the last ``seconds``: ``[{participant_id, video, audio}]``."""
        receivers = [c for c in self.clients if c.receive]
        for client in receivers:
            client.ssrcs.clear()
            client.video_ssrcs.clear()
        before = [c.sending() for c in self.clients]
        await asyncio.sleep(seconds)
        return {
            "receivers": [
                {
                    "participant_id": c.participant_id,
                    "video": len(c.video_ssrcs),
                    "audio": len(c.ssrcs - c.video_ssrcs),
                }
                for c in receivers
            ],
            "senders": [
                _sent_since(then, c.sending()) for then, c in zip(before, self.clients, strict=True)
            ],
        }

    def counts(self) -> dict[str, Any]:
        everyone: list[BenchClient | RelayClient] = [*self.clients, *self.relay_clients]
        layered = [c.layered_publisher for c in self.clients if c.layered_publisher is not None]
        voices = [c.voice_publisher for c in self.clients if c.voice_publisher is not None]
        return {
            "received": sum(c.received for c in everyone),
            "received_video": sum(c.received_video for c in everyone),
            "clients": len(everyone),
            # Packets of layered cameras: all layers, and the top layer alone
            # (the one the SFU forwards to subscribers without a tile-size cap).
            "layered_sent": sum(p.packets_sent for p in layered),
            "layered_top_sent": sum(p.top_packets_sent for p in layered),
            "voice_sent": sum(p.packets_sent for p in voices),
            **paged_expectation(self.clients),
        }

    def set_sending(self, group: str, active: bool) -> dict[str, Any]:
        """Stop or resume the layered cameras of ``group`` (their connections stay up)."""
        return self._each_layered(group, lambda publisher: publisher.set_active(active))

    def obey_layers(self, group: str, active: bool) -> dict[str, Any]:
        """Make the layered cameras of ``group`` follow the SFU's
        ``publish_layers`` (dynacast), or send every layer regardless."""
        return self._each_layered(group, lambda publisher: publisher.obey(active))

    def _each_layered(
        self, group: str, action: Callable[[LayeredPublisher], None]
    ) -> dict[str, Any]:
        """Do ``action`` to every layered camera of ``group``; the command's answer."""
        publishers = [c.layered_publisher for c in self.groups.get(group, [])]
        for publisher in publishers:
            if publisher is not None:
                action(publisher)
        return {"ok": True, "publishers": len(publishers)}

    def layer_report(self, group: str) -> dict[str, Any]:
        """Per layered camera of ``group``: its layers, those the SFU sends
        receiver reports on (has bound), packets sent per layer, PLIs heard,
        the layers it sends now (the SFU may have paused some: dynacast)."""
        report = []
        for client in self.groups.get(group, []):
            publisher = client.layered_publisher
            if publisher is None:
                continue
            report.append(
                {
                    "participant_id": client.participant_id,
                    "layers": [layer.rid or "" for layer in publisher.layers],
                    "bound": publisher.reported_layers(),
                    "sent": [layer.packets_sent for layer in publisher.layers],
                    "keyframe_requests": publisher.keyframe_requests,
                    "on": publisher.layers_on,
                }
            )
        return {"publishers": report}

    async def set_view(self, visible: int, tile_height: int | None = None) -> dict[str, Any]:
        """Every receiving client shows the video of ``visible`` others (a
        gallery page: the ones after it in joining order), each tile
        ``tile_height`` device pixels tall if given."""
        ids = [c.participant_id for c in self.clients]
        for index, client in enumerate(self.clients):
            if client.receive:
                client.view = (ids[index + 1 :] + ids[:index])[:visible]
                await client.set_view(client.view, tile_height)
        return {"ok": True}

    async def close_all(self) -> dict[str, Any]:
        clients, self.clients = self.clients, []
        relays, self.relay_clients = self.relay_clients, []
        closing = [c.close() for c in clients] + [c.close() for c in relays]
        await asyncio.gather(*closing, return_exceptions=True)
        return {"closed": len(clients) + len(relays)}


def _sent_since(then: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """``BenchClient.sending`` now, its counters as the increase since ``then``."""
    counters = ("camera_sent", "voice_sent", "refused")
    return {
        **now,
        **{k: now[k] - then[k] for k in counters if now[k] is not None and then[k] is not None},
    }


async def main() -> None:
    config = json.loads(sys.argv[1])
    bridge.restrict_ice_addresses(["127.0.0.1"])
    generator = LoadGenerator(config["url"], Path(config["cache_dir"]))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"ready": True}), flush=True)
    while line := await reader.readline():
        command = json.loads(line)
        op = command.pop("op")
        try:
            if op == "add":
                result = await generator.add(**command)
            elif op == "relay_add":
                result = await generator.relay_add(**command)
            elif op == "stream_census":
                result = await generator.stream_census(**command)
            elif op == "media_census":
                result = await generator.media_census(**command)
            elif op == "counts":
                result = generator.counts()
            elif op == "set_sending":
                result = generator.set_sending(**command)
            elif op == "obey_layers":
                result = generator.obey_layers(**command)
            elif op == "layer_report":
                result = generator.layer_report(**command)
            elif op == "set_view":
                result = await generator.set_view(**command)
            elif op == "close_all":
                result = await generator.close_all()
            elif op == "exit":
                await generator.close_all()
                print(json.dumps({"bye": True}), flush=True)
                return
            else:
                result = {"error": f"unknown op {op}"}
        except Exception as exc:  # report, keep serving
            result = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
