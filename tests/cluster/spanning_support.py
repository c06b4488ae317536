"""What the tests of rooms across nodes share (tests/cluster/test_spanning_*.py):
the spanning settings, reading nodes' metrics, joining in turn as placement
needs, the people's tones, and the clocks that measure a failure's gap."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from deployment import Workers, children_of, http, metric, until
from media_node_client import MediaNodeClient
from media_peers import (
    CounterVideoTrack,
    ToneAudioTrack,
    collect_counters,
    dominant_frequency,
    read_counter,
)

#: Relays on loopback; a node with two participants is "full" for placement.
SPANNING = {"CONF_RELAY_HOST": "127.0.0.1", "CONF_ROOM_SPAN_LOAD": "2"}


async def metrics(url: str) -> str:
    status, page = await http(url, "GET", "/metrics")
    assert status == 200
    return str(page)


async def participants_of(url: str) -> float:
    return metric(await metrics(url), "conf_participants")


async def join_in_turn(
    members: list[Any], room: str, nodes: list[str], receive: list[bool] | None = None
) -> None:
    """Join one after the other, each once the registry shows every node's
    load (placement reads it there)."""
    for joined, member in enumerate(members, 1):
        if receive is not None and not receive[joined - 1]:
            await member.join(room, receive=False)
        else:
            await member.join(room)

        await loads_shown(nodes, joined)


async def equals(value: Awaitable[float], expected: float) -> bool:
    return await value == expected


TONES = {"Ada": 440.0, "Bob": 660.0, "Cy": 880.0, "Dee": 1100.0}


class FrameClock:
    """Reads a received counter video without pause, noting when each frame
    came and its counter."""

    def __init__(self, track: Any) -> None:
        self.frames: list[tuple[float, int]] = []
        self._task = asyncio.get_running_loop().create_task(self._read(track))

    async def _read(self, track: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                self.frames.append((time.monotonic(), read_counter(frame)))

    def debug(self, since: float) -> str:
        frames = [f for f in self.frames if f[0] >= since]
        pairs = list(itertools.pairwise(frames))
        if not pairs:
            return "no frames"
        a, b = max(pairs, key=lambda pair: pair[1][0] - pair[0][0])
        c, d = max(pairs, key=lambda pair: (pair[1][1] - pair[0][1]) % 256)
        return (
            f"longest wait from {a[0] - since:.2f} to {b[0] - since:.2f}, counters {a[1]}->{b[1]};"
            f" biggest skip at {c[0] - since:.2f}-{d[0] - since:.2f}: {c[1]}->{d[1]}"
        )

    def longest_gap(self, since: float) -> tuple[float, float]:
        """Since ``since``: the longest wait between two frames (s), and the
        most media lost between two frames (s of video at 30 fps)."""
        frames = [f for f in self.frames if f[0] >= since]
        waits = [b[0] - a[0] for a, b in itertools.pairwise(frames)]
        lost = [((b[1] - a[1]) % 256 - 1) / 30 for a, b in itertools.pairwise(frames)]
        return max(waits, default=0.0), max(lost, default=0.0)

    def stop(self) -> None:
        self._task.cancel()


class LoopLag:
    """The longest this test process's own event loop was late (s): frames
    its receivers could not take meanwhile are lost here, not by the server."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._probe())

    async def _probe(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.05)
            self.worst = max(self.worst, time.monotonic() - started - 0.05)

    def stop(self) -> None:
        self._task.cancel()


class BandwidthPauses:
    """Samples a node's ``conf_video_consumers_bandwidth_paused`` while a
    failure's gap is measured: a subscriber's video the node pauses because
    it thinks the downlink cannot take it is lost there for reasons of its
    own (the subscriber's estimate), not the failure's. Only said in the
    message of a failed bound, which stays as it is."""

    def __init__(self, url: str, every: float = 0.25) -> None:
        self.url = url
        self.every = every
        #: (monotonic time, video tracks paused) of each sample that found some.
        self.paused: list[tuple[float, int]] = []
        self._task = asyncio.get_running_loop().create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # the node may be busy or going
                count = metric(await metrics(self.url), "conf_video_consumers_bandwidth_paused")
                if count:
                    self.paused.append((time.monotonic(), int(count)))
            await asyncio.sleep(self.every)

    def describe(self, since: float) -> str:
        self._task.cancel()
        seen = [f"{at - since:+.2f} s: {count}" for at, count in self.paused]
        if not seen:
            return "the node paused no video for bandwidth"
        return "the node paused video for bandwidth (" + ", ".join(seen) + ")"

    def stop(self) -> None:
        self._task.cancel()


async def rejoin(
    entry: str, old: MediaNodeClient, room: str, within: float
) -> tuple[MediaNodeClient, dict[str, Any]]:
    """A new client taking ``old``'s place with its resume token, through the
    entry, retrying while the deployment notices the death; and its join
    acknowledgement."""
    deadline = time.monotonic() + within
    while True:
        client = MediaNodeClient(entry, old.name)
        try:
            # Sending only: the test process decodes enough already.
            return client, await client.join(room, resume_token=old.resume_token, receive=False)
        except Exception:
            await client.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


def worker_pid(workers: Workers, name: str) -> int:
    """The process of worker ``name`` (its command line names it)."""
    for pid in children_of(workers.parent.pid):
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if name.encode() in arguments:
            return pid
    raise AssertionError(f"no worker {name}")


async def loads_shown(nodes: list[str], total: int) -> None:
    """Wait until the registry shows each node's own participants, ``total``
    in all (placement reads the loads there, a heartbeat late)."""

    async def counted() -> bool:
        found = 0
        for url in nodes:
            _, body = await http(url, "GET", "/api/v1/admin/nodes")
            seen = {n["name"]: n["participants"] for n in body["nodes"]}
            here = await participants_of(url)
            if seen[body["this_node"]] != here:
                return False
            found += int(here)
        return found == total

    await until(counted)


# -- recordings of a spanning room (tests/cluster/test_spanning_recording.py) -----------


async def meeting_recordings(url: str, meeting_id: str) -> list[dict[str, Any]]:
    """The meeting's recordings as the node at ``url`` lists them, oldest first."""
    status, body = await http(url, "GET", f"/api/v1/recordings?meeting_id={meeting_id}")
    assert status == 200, body
    return sorted(body["recordings"], key=lambda r: r.get("started_at") or 0)


def recorded_file(data_dir: Path, record: dict[str, Any], participant_id: str, kind: str) -> Path:
    """The file of one participant's recorded ``kind`` track, on the disk of
    the node whose data dir is ``data_dir``."""
    track = next(
        t for t in record["tracks"] if t["participant_id"] == participant_id and t["kind"] == kind
    )
    return data_dir / "recordings" / record["id"] / track["name"]


def recorded_counters(path: Path) -> list[int]:
    """The counter of every frame of a recorded video file (decoded with PyAV)."""
    with av.open(str(path)) as container:
        return [read_counter(frame) for frame in container.decode(video=0)]


def recorded_tone(path: Path) -> float:
    """The strongest frequency of a recorded audio file (decoded with PyAV)."""
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].sample_rate
        chunks = [f.to_ndarray()[0].astype(np.float64) for f in container.decode(audio=0)]
    signal = np.concatenate(chunks)
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    return float(np.fft.rfftfreq(signal.size, 1 / rate)[int(np.argmax(spectrum))])


async def two_on_each(
    make: Callable[[str, str], Any],
    nodes: list[str],
    room: str,
    clients: list[Any],
    receive: list[bool] | None = None,
) -> list[Any]:
    """Ada, Bob, Cy and Dee (``make(nodes[0], name)``, closed after the test)
    join ``room`` in turn: Ada and Bob on the first node, the room's owner;
    Cy and Dee on the second, a satellite."""
    people = [make(nodes[0], name) for name in TONES]
    clients.extend(people)
    await join_in_turn(people, room, nodes, receive)
    placed = [getattr(person, "base_url", None) or person.url for person in people]
    assert placed == [nodes[0], nodes[0], nodes[1], nodes[1]], placed
    return people


def assert_media_kept(
    clocks: list[FrameClock],
    lag: LoopLag,
    since: float,
    whose: str,
    pauses: BandwidthPauses | None = None,
) -> None:
    """No clock lost 1 s of video since ``since``. Media lost (frames that
    never came) is the measure; on a busy machine this process may stall
    too, and what it lost meanwhile is not the server's doing. Frames that
    came late but all came (a starved decoder here) are bounded more loosely.
    ``pauses``: the watchers' node's pauses for bandwidth, for the message."""
    lag.stop()
    allowed = 1.0 + lag.worst
    why = "" if pauses is None else f"; {pauses.describe(since)}"
    for clock in clocks:
        wait, lost = clock.longest_gap(since - 0.5)
        clock.stop()
        assert lost < allowed and wait < 2 * allowed, (
            f"{whose} media stopped: {wait:.2f} s, {lost:.2f} s lost "
            f"({clock.debug(since)}; this process stalled {lag.worst:.2f} s{why})"
        )


async def failure_scene(
    people: list[MediaNodeClient], room: str, nodes: list[str], watchers: int = 1
) -> list[Any]:
    """Ada and Bob on the first node, Cy and Dee on the second; Bob's hand is
    up. The pair on ``nodes[watchers]`` sends camera and tone and watches
    each other; the other pair sends a tone only and receives nothing.
    Returns the clocks of the watchers' video of each other, then a
    :class:`LoopLag`. Few decoders: the test process's own load must not be
    what loses frames."""
    ada, bob, cy, dee = people
    pairs = [(ada, bob), (cy, dee)]
    watching, sending = pairs[watchers], pairs[1 - watchers]
    receive = [index // 2 == watchers for index in range(4)]
    await join_in_turn(people, room, nodes, receive=receive)
    assert [p.base_url for p in people] == [nodes[0], nodes[0], nodes[1], nodes[1]]
    await bob.call("raise_hand")
    for person in sending:
        await person.publish({"microphone": ToneAudioTrack(TONES[person.name])})
    for person in watching:
        await person.publish(
            {"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(TONES[person.name])}
        )
    heard = sending[0]
    first, second = watching
    for person, other in ((first, second), (second, first)):
        await person.wait_for(
            lambda person=person, other=other: (
                person.track_of(other.participant_id, "camera") is not None
                and person.track_of(heard.participant_id, "microphone") is not None
            ),
            timeout=20,
        )
        await collect_counters(person.track_of(other.participant_id, "camera"), 5, timeout=20)
    # The other pair's tone crossed from the other node.
    tone = await dominant_frequency(first.track_of(heard.participant_id, "microphone"), 0.5, 20)
    assert abs(tone - TONES[heard.name]) < 30, tone
    clocks = [
        FrameClock(first.track_of(second.participant_id, "camera")),
        FrameClock(second.track_of(first.participant_id, "camera")),
        LoopLag(),
    ]
    await asyncio.sleep(1.0)
    return clocks
