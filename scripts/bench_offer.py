#!/usr/bin/env python3
"""What one subscriber renegotiation costs the worker's loop (issue 17, join storms).

Builds a real :class:`sfu.Router` and one real subscribe transport of the
SFU whose client is a real aiortc peer connection (it answers as a browser
would: one recvonly m-section per offered one). The room has N participants,
each publishing audio and video (hand-made producers: the subscriber side
does not care where packets come from), so the subscriber's offer has
2 (N - 1) m-sections. Then one more participant joins, R times, and each
join's renegotiation is timed on the server's side only: from the moment
the join's tracks are consumed to the offer handed to the client, plus from
the client's answer handed to ``accept_answer`` to it being applied. The
client's own work (its setRemoteDescription/createAnswer) is left out.

Printed per N: the offer's size, the median and range of the server's time
per renegotiation, its parts (createOffer, setLocalDescription, reading the
offer back, the answer's checks and setRemoteDescription), and with
``--profile`` the top entries of a cProfile of those server-side spans.

``--storm J`` instead: N subscribers (their aiortc clients in a child process,
answering after ``--rtt`` ms), then J newcomers join ``--gap`` ms apart;
printed are the offers each subscriber got, how long until every offer was
answered, and the server process's CPU time meanwhile. ``--slots``
instead: N subscribers' slots (2 (N - 1) each, not negotiated), and what
they cost the garbage collector and memory. Times are the CPU time of the
loop's thread (``time.thread_time``), so a loaded machine stretches them
less than wall time; compare before and after in one session. Not a test:
``.venv/bin/python scripts/bench_offer.py [--sizes 10,30,50] [--runs 5] [--profile]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc import RTCPeerConnection, RTCSessionDescription

from sfu import Router, SfuSettings
from sfu import aiortc_bridge as bridge
from sfu.producer import Producer
from sfu.subscribe_transport import SubscribeTransport

#: The loop thread's CPU time: what the worker's loop spends, however loaded
#: the machine (wall-clock figures swing with other processes).
CPU = time.thread_time

OPUS = bridge.Codec("audio/opus", 48000, 111)
VP8 = bridge.Codec("video/VP8", 90000, 96)


class Clock:
    """Server-side time: spans started and stopped around the server's work."""

    def __init__(self, profiler: cProfile.Profile | None) -> None:
        self.total = 0.0
        self.parts: dict[str, float] = {}
        self._started: float | None = None
        self._profiler = profiler

    def start(self) -> None:
        if self._started is None:
            self._started = CPU()
            if self._profiler is not None:
                self._profiler.enable()

    def stop(self) -> None:
        if self._started is not None:
            if self._profiler is not None:
                self._profiler.disable()
            self.total += CPU() - self._started
            self._started = None

    def add(self, part: str, seconds: float) -> None:
        self.parts[part] = self.parts.get(part, 0.0) + seconds


def timed(clock_of: Callable[[], Clock | None], part: str, function: Any) -> Any:
    """``function`` (sync or async) that also adds its time to the current clock's ``part``."""
    if asyncio.iscoroutinefunction(function):

        async def run_async(*args: Any, **kwargs: Any) -> Any:
            started = CPU()
            try:
                return await function(*args, **kwargs)
            finally:
                clock = clock_of()
                if clock is not None:
                    clock.add(part, CPU() - started)

        return run_async

    def run(*args: Any, **kwargs: Any) -> Any:
        started = CPU()
        try:
            return function(*args, **kwargs)
        finally:
            clock = clock_of()
            if clock is not None:
                clock.add(part, CPU() - started)

    return run


async def _no_keyframe(_ssrc: int) -> bool:
    return False


class Room:
    """A router whose observer lets every subscriber consume every other's producers."""

    def __init__(self, settings: SfuSettings) -> None:
        self.settings = settings
        self.subscribers: dict[str, SubscribeTransport] = {}
        self.router = Router(settings, self)
        self.joined = 0

    # RouterObserver
    def producer_added(self, producer: Producer) -> None:
        owner = producer.app_data["participant_id"]
        newcomer = self.subscribers.get(owner)
        for participant_id, transport in self.subscribers.items():
            if participant_id != owner:
                if newcomer is not None:
                    transport.yield_to(newcomer)
                transport.consume(producer)

    def producer_closed(self, producer: Producer) -> None:
        pass

    def active_speaker_changed(self, producer: Producer | None) -> None:
        pass

    def publish(self, participant_id: str) -> None:
        """The participant's audio and video producers appear (as after its publish)."""
        for kind, codec in (("audio", OPUS), ("video", VP8)):
            self.joined += 1
            producer = Producer(
                kind=kind, codec=codec, mid=str(len(self.router.producers)),
                ssrc=10_000 + self.joined, audio_level_id=None,
                settings=self.settings, send_keyframe_request=_no_keyframe,
                stats=self.router.sfu_stats, app_data={"participant_id": participant_id},
            )  # fmt: skip
            self.router._add_producer(producer)


class Client:
    """A subscriber's receiving side: a plain aiortc peer connection that
    answers each offer, after ``delay_s`` (the network and the browser)."""

    def __init__(self, participant_id: str, delay_s: float = 0.0) -> None:
        self.participant_id = participant_id
        self.pc = RTCPeerConnection()
        self.delay_s = delay_s
        self.transport: SubscribeTransport | None = None
        self.offers = 0
        self.offer_bytes = 0
        self.applied = asyncio.Event()
        self.clock: Clock | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def send_offer(self, revision: int, sdp: str, slots: list[Any]) -> None:
        if self.clock is not None:
            self.clock.stop()  # the client's work is not the server's
        self.offers += 1
        self.offer_bytes = len(sdp)
        task = asyncio.ensure_future(self._answer(revision, sdp))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, revision: int, sdp: str) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        answer = self.pc.localDescription.sdp
        assert self.transport is not None
        if self.clock is not None:
            self.clock.start()
        await self.transport.accept_answer(revision, answer)
        if self.clock is not None:
            self.clock.stop()
        self.applied.set()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.pc.close()


def instrument(clock_of: Callable[[], Clock | None]) -> None:
    """Time aiortc's and our SDP steps (wrappers on the classes, for this process)."""
    pc_class: Any = RTCPeerConnection
    for name, part in (
        ("createOffer", "createOffer"),
        ("setLocalDescription", "setLocalDescription"),
        ("setRemoteDescription", "setRemoteDescription"),
    ):
        original = getattr(pc_class, name)
        setattr(pc_class, name, _only_for_server(original, timed(clock_of, part, original)))
    prop = pc_class.localDescription
    getter = _only_for_server(prop.fget, timed(clock_of, "localDescription", prop.fget))
    pc_class.localDescription = property(getter)
    import sfu.subscribe_transport as module

    for name, part in (("check_media_lines", "answer check"),):
        setattr(module, name, timed(clock_of, part, getattr(module, name)))
    bridge_module: Any = module.bridge
    for name, part in (("with_audio_nack", "audio NACK lines"),):
        setattr(bridge_module, name, timed(clock_of, part, getattr(bridge_module, name)))


#: Peer connections of the server (only their steps are timed).
SERVER_PCS: set[int] = set()


def _only_for_server(original: Any, timed_version: Any) -> Any:
    if asyncio.iscoroutinefunction(original):

        async def call_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            chosen = timed_version if id(self) in SERVER_PCS else original
            return await chosen(self, *args, **kwargs)

        return call_async

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        chosen = timed_version if id(self) in SERVER_PCS else original
        return chosen(self, *args, **kwargs)

    return call


CURRENT: list[Clock | None] = [None]


async def renegotiations(n: int, runs: int, profiler: cProfile.Profile | None) -> dict[str, Any]:
    """Time ``runs`` renegotiations of one subscriber in a room of ``n``."""
    settings = SfuSettings(ice_addresses=("127.0.0.1",))
    room = Room(settings)
    client = Client("p0")
    transport = room.router.create_subscribe_transport(client.send_offer, {"participant_id": "p0"})
    SERVER_PCS.add(id(transport.pc))
    client.transport = transport
    room.subscribers["p0"] = transport
    try:
        for i in range(1, n):
            room.publish(f"p{i}")
        await asyncio.wait_for(client.applied.wait(), 30)
        await asyncio.wait_for(asyncio.shield(transport.first_connected), 30)
        while transport._negotiator is not None and not transport._negotiator.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        totals: list[float] = []
        parts: list[dict[str, float]] = []
        size = 0
        for run in range(runs):
            clock = Clock(profiler)
            CURRENT[0] = clock
            client.clock = clock
            client.applied.clear()
            offers = client.offers
            clock.start()
            room.publish(f"late{run}")  # the join: its tracks are consumed
            await asyncio.wait_for(client.applied.wait(), 30)
            while transport._negotiator is not None and not transport._negotiator.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            assert client.offers == offers + 1, (client.offers, offers)
            clock.stop()
            CURRENT[0] = None
            client.clock = None
            totals.append(clock.total)
            parts.append(clock.parts)
            size = client.offer_bytes
        return {"n": n + runs - 1, "sections": 2 * (n + runs - 1), "bytes": size,
                "totals": totals, "parts": parts}  # fmt: skip
    finally:
        CURRENT[0] = None
        await transport.close()
        await room.router.close()
        await client.close()


class RemoteClients:
    """Every storm subscriber's receiving side, in a child process (as
    browsers are elsewhere): offers go to it as JSON lines on its stdin, its
    answers come back on its stdout, each after ``rtt_s``. Server and
    clients then share no loop, and the server's CPU time is its own."""

    def __init__(self, rtt_s: float) -> None:
        self.rtt_s = rtt_s
        self.transports: dict[str, SubscribeTransport] = {}
        self.offers: dict[str, int] = {}
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--clients", str(self.rtt_s),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )  # fmt: skip
        self._reader = asyncio.ensure_future(self._read_answers())

    def sink(self, participant_id: str) -> Any:
        async def send_offer(revision: int, sdp: str, slots: list[Any]) -> None:
            self.offers[participant_id] = self.offers.get(participant_id, 0) + 1
            assert self._process is not None and self._process.stdin is not None
            line = json.dumps({"who": participant_id, "revision": revision, "sdp": sdp})
            self._process.stdin.write(line.encode() + b"\n")

        return send_offer

    async def _read_answers(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        while line := await self._process.stdout.readline():
            answer = json.loads(line)
            transport = self.transports[answer["who"]]
            try:
                await transport.accept_answer(answer["revision"], answer["sdp"])
            except Exception as exc:  # a stale answer: the next offer is out
                print(f"answer of {answer['who']} refused: {exc}", file=sys.stderr)

    async def close(self) -> None:
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()
            await self._process.wait()
        if self._reader is not None:
            self._reader.cancel()


async def answer_offers(rtt_s: float) -> None:
    """The child process of ``RemoteClients``: one aiortc peer connection per
    subscriber, answering each offer ``rtt_s`` after it came."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    pcs: dict[str, RTCPeerConnection] = {}
    locks: dict[str, asyncio.Lock] = {}
    tasks: set[asyncio.Task[None]] = set()

    async def answer(offer: dict[str, Any]) -> None:
        await asyncio.sleep(rtt_s)
        who = offer["who"]
        async with locks.setdefault(who, asyncio.Lock()):
            pc = pcs.setdefault(who, RTCPeerConnection())
            await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            line = {"who": who, "revision": offer["revision"], "sdp": pc.localDescription.sdp}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()

    while line := await reader.readline():
        task = asyncio.ensure_future(answer(json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for pc in pcs.values():
        await pc.close()


async def storm(n: int, joins: int, gap_s: float, rtt_s: float) -> dict[str, Any]:
    """``n`` subscribers in the room, then ``joins`` newcomers ``gap_s`` apart.

    Each newcomer joins as a browser does (issue 21): its subscriber
    transport is made and its first offer goes out; its publish comes a
    round trip later (after its answer); every other subscriber is then
    offered its two tracks."""
    settings = SfuSettings(ice_addresses=("127.0.0.1",))
    room = Room(settings)
    clients = RemoteClients(rtt_s)
    await clients.start()

    def add(participant_id: str) -> SubscribeTransport:
        transport = room.router.create_subscribe_transport(
            clients.sink(participant_id), {"participant_id": participant_id}
        )
        clients.transports[participant_id] = transport
        room.subscribers[participant_id] = transport
        for producer in list(room.router.producers.values()):
            if producer.app_data["participant_id"] != participant_id:
                transport.consume(producer)
        return transport

    async def join(participant_id: str) -> None:
        transport = add(participant_id)
        await transport.first_offer_sent(1.0)
        await asyncio.sleep(rtt_s)
        room.publish(participant_id)

    def quiet() -> bool:
        return all(
            t._negotiator is None or t._negotiator.done() for t in clients.transports.values()
        )

    try:
        for i in range(n):
            add(f"p{i}")
            room.publish(f"p{i}")
        while not quiet():  # noqa: ASYNC110 (the negotiators' state, no event to wait on)
            await asyncio.sleep(0.05)
        await asyncio.wait(
            [asyncio.ensure_future(asyncio.shield(t.first_connected))
             for t in clients.transports.values()],
            timeout=60,
        )  # fmt: skip
        existing = list(clients.transports)
        before = dict(clients.offers)
        started, cpu = time.perf_counter(), time.process_time()
        joining = []
        for j in range(joins):
            joining.append(asyncio.ensure_future(join(f"new{j}")))
            await asyncio.sleep(gap_s)
        await asyncio.gather(*joining)
        while not quiet():  # noqa: ASYNC110 (the negotiators' state, no event to wait on)
            await asyncio.sleep(0.01)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        offers = [clients.offers.get(p, 0) - before.get(p, 0) for p in existing]
        return {"n": n, "joins": joins, "offers": offers, "elapsed": elapsed, "cpu": cpu}
    finally:
        for transport in clients.transports.values():
            await transport.close()
        await room.router.close()
        await clients.close()


async def slots_of_a_room(n: int) -> str:
    """The subscribe slots of a room of ``n`` (each subscriber: ``n - 1``
    audio and video slots, not negotiated): what the garbage collector
    tracks, what a full collection takes, the process's memory."""
    pcs = []
    for _ in range(n):
        pc = bridge.create_peer_connection(())
        for _ in range(n - 1):
            bridge.add_send_transceiver(pc, "audio")
            bridge.add_send_transceiver(pc, "video")
        pcs.append(pc)
    gc.collect()
    times = []
    for _ in range(5):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for pc in pcs:
        await pc.close()
    return (
        f"N={n}: {n * (n - 1) * 2} slots; objects the GC tracks {len(gc.get_objects()):,}, "
        f"a full collection median {statistics.median(times):.0f} ms (min {min(times):.0f}), "
        f"max RSS {rss:.0f} MB"
    )


def calibration() -> float:
    started = time.perf_counter()
    for _ in range(10_000_000):
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,30,50", help="room sizes N (comma-separated)")
    parser.add_argument("--runs", type=int, default=5, help="renegotiations timed per N")
    parser.add_argument("--profile", action="store_true", help="print a cProfile per N")
    parser.add_argument("--top", type=int, default=25, help="profile entries shown")
    parser.add_argument("--storm", type=int, default=0, metavar="J", help="J newcomers join")
    parser.add_argument("--gap", type=float, default=50, help="ms between newcomers (--storm)")
    parser.add_argument("--rtt", type=float, default=30, help="ms before a client answers")
    parser.add_argument(
        "--slots",
        action="store_true",
        help="instead: the memory and GC cost of N subscribers' slots",
    )
    parser.add_argument("--clients", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clients is not None:  # the child process of a storm
        asyncio.run(answer_offers(args.clients))
        return
    instrument(lambda: CURRENT[0])
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; "
          f"python loop of 10M: {calibration():.2f} s")  # fmt: skip
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.slots:
        for n in sizes:
            print(asyncio.run(slots_of_a_room(n)))
        return
    if args.storm:
        for n in sizes:
            result = asyncio.run(storm(n, args.storm, args.gap / 1000, args.rtt / 1000))
            offers = result["offers"]
            print(f"N={n} + {args.storm} joins {args.gap:.0f} ms apart "
                  f"(answers after {args.rtt:.0f} ms): offers per "
                  f"subscriber {min(offers)}-{max(offers)} (mean {statistics.mean(offers):.1f}), "
                  f"storm over in {result['elapsed']:.2f} s, "
                  f"server CPU {result['cpu']:.2f} s")  # fmt: skip
        return
    for n in sizes:
        profiler = cProfile.Profile(CPU) if args.profile else None
        result = asyncio.run(renegotiations(n, args.runs, None))
        totals = [t * 1000 for t in result["totals"]]
        print(f"\nN={n}..{result['n']} ({result['sections']} m-sections, offer "
              f"{result['bytes'] / 1000:.0f} KB): server time per renegotiation "
              f"median {statistics.median(totals):.1f} ms "
              f"({min(totals):.1f}-{max(totals):.1f})")  # fmt: skip
        names = sorted({k for p in result["parts"] for k in p})
        for name in names:
            values = [p.get(name, 0.0) * 1000 for p in result["parts"]]
            print(f"  {name:22s} median {statistics.median(values):6.1f} ms")
        if profiler is not None:
            asyncio.run(renegotiations(n, args.runs, profiler))
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(args.top)
            print(f"  cProfile of the server's spans ({args.runs} renegotiations), by own time:")
            print("\n".join("    " + line for line in out.getvalue().splitlines()[6:]))


if __name__ == "__main__":
    main()
