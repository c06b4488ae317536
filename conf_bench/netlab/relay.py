"""The userspace link impairment: copies Ethernet frames between two devices,
dropping and delaying them as configured per direction.

Run as its own process inside the relay namespace::

    python -m conf_bench.netlab.relay --down-dev rc --up-dev rb \
        --config relay.json --stats relay-stats.json

``down`` is what goes to C (read on ``--up-dev``, written to ``--down-dev``),
``up`` what comes from C. The config file holds ``{"down": {...}, "up": {...}}``
with the fields of ``Impairment``; SIGHUP re-reads it. Counters per direction
are written to the stats file once a second and on SIGTERM, so a result can be
checked against what the link did. This kernel has no ``sch_netem``; bandwidth
limits are ``tbf``'s job (topology.py), not the relay's.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import heapq
import json
import os
import random
import selectors
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
STATS_INTERVAL_S = 1.0
RECEIVE_BUFFER_BYTES = 4 << 20
NICE = -10


@dataclass(frozen=True)
class Impairment:
    """What one direction of the link does to frames.

    ``loss``: probability (0..1) of dropping each frame, from a generator seeded
    with ``seed``; ``delay_ms``: fixed one-way delay; ``jitter_ms``: each frame
    gets an extra delay drawn uniformly from [-jitter, +jitter] (never below 0);
    frames keep their order unless ``reorder``."""

    loss: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    reorder: bool = False
    seed: int = 1

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Impairment:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Counters:
    """What one direction did since the relay started."""

    frames: int = 0
    forwarded: int = 0
    dropped: int = 0
    delayed: int = 0
    send_errors: int = 0
    bytes_forwarded: int = 0
    delay_ms_sum: float = 0.0


@dataclass
class _Direction:
    name: str
    source: socket.socket
    target: socket.socket
    impairment: Impairment
    counters: Counters = field(default_factory=Counters)
    rng: random.Random = field(default_factory=random.Random)
    last_release: float = 0.0

    def configure(self, impairment: Impairment) -> None:
        self.impairment = impairment
        self.rng = random.Random(f"{impairment.seed}-{self.name}")


def _open(device: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    sock.bind((device, 0))
    sock.setblocking(False)
    return sock


class Relay:
    """The copier: one selector loop and a heap of frames waiting for their time."""

    def __init__(self, down_device: str, up_device: str, config: Path, stats: Path) -> None:
        self._config = config
        self._stats = stats
        to_c, to_bridge = _open(down_device), _open(up_device)
        self._directions = {
            "down": _Direction("down", to_bridge, to_c, Impairment()),
            "up": _Direction("up", to_c, to_bridge, Impairment()),
        }
        self._waiting: list[tuple[float, int, str, bytes]] = []
        self._sequence = 0
        self._running = True
        self._reload = True

    def reload_soon(self, *_: object) -> None:
        self._reload = True

    def stop(self, *_: object) -> None:
        self._running = False

    def _load_config(self) -> None:
        self._reload = False
        data = json.loads(self._config.read_text()) if self._config.exists() else {}
        for name, direction in self._directions.items():
            direction.configure(Impairment.from_dict(data.get(name, {})))

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        for direction in self._directions.values():
            selector.register(direction.source, selectors.EVENT_READ, direction)
        next_stats = time.monotonic()
        while self._running:
            if self._reload:
                self._load_config()
            now = time.monotonic()
            timeout = STATS_INTERVAL_S
            if self._waiting:
                timeout = min(timeout, max(0.0, self._waiting[0][0] - now))
            for key, _ in selector.select(timeout):
                self._drain(key.data)
            self._release(time.monotonic())
            if time.monotonic() >= next_stats:
                self.write_stats()
                next_stats = time.monotonic() + STATS_INTERVAL_S
        self.write_stats()

    def _drain(self, direction: _Direction) -> None:
        for _ in range(256):
            try:
                frame, address = direction.source.recvfrom(65536)
            except BlockingIOError:
                return
            if address[2] == PACKET_OUTGOING:
                continue  # our own copy going out of this device
            self._take(direction, frame)

    def _take(self, direction: _Direction, frame: bytes) -> None:
        counters, impairment = direction.counters, direction.impairment
        counters.frames += 1
        if impairment.loss > 0 and direction.rng.random() < impairment.loss:
            counters.dropped += 1
            return
        delay = impairment.delay_ms
        if impairment.jitter_ms > 0:
            delay = max(0.0, delay + direction.rng.uniform(-1, 1) * impairment.jitter_ms)
        now = time.monotonic()
        if delay <= 0 and (impairment.reorder or direction.last_release <= now):
            self._send(direction, frame)
            return
        release = now + delay / 1000
        if not impairment.reorder:
            release = max(release, direction.last_release)  # behind the frames still held
        direction.last_release = release
        if delay > 0:
            counters.delayed += 1
            counters.delay_ms_sum += delay
        self._sequence += 1
        heapq.heappush(self._waiting, (release, self._sequence, direction.name, frame))

    def _release(self, now: float) -> None:
        while self._waiting and self._waiting[0][0] <= now:
            _, _, name, frame = heapq.heappop(self._waiting)
            self._send(self._directions[name], frame)

    def _send(self, direction: _Direction, frame: bytes) -> None:
        try:
            direction.target.send(frame)
        except OSError:
            # ENOBUFS: tbf on the device refused it (its queue is full).
            direction.counters.send_errors += 1
            return
        direction.counters.forwarded += 1
        direction.counters.bytes_forwarded += len(frame)

    def write_stats(self) -> None:
        data = {name: dataclasses.asdict(d.counters) for name, d in self._directions.items()}
        data["time"] = time.time()  # type: ignore[assignment]
        temporary = self._stats.with_suffix(".tmp")
        temporary.write_text(json.dumps(data))
        temporary.replace(self._stats)


def read_stats(path: Path) -> dict[str, dict[str, float]]:
    """The counters a relay wrote to ``path`` (empty directions if none yet)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    empty = dataclasses.asdict(Counters())
    return {name: {**empty, **data.get(name, {})} for name in ("down", "up")}


def write_config(path: Path, down: Impairment, up: Impairment) -> None:
    """Write what each direction should do (the relay reads it at start and on SIGHUP)."""
    temporary = path.with_suffix(".tmp")
    config = {"down": dataclasses.asdict(down), "up": dataclasses.asdict(up)}
    temporary.write_text(json.dumps(config))
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conf_bench.netlab.relay")
    parser.add_argument("--down-dev", required=True, help="device towards the impaired host")
    parser.add_argument("--up-dev", required=True, help="device towards the bridge")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--stats", type=Path, required=True)
    args = parser.parse_args(argv)
    with contextlib.suppress(PermissionError):
        os.nice(NICE)  # ahead of the browsers, so CPU starvation does not pass for loss
    relay = Relay(args.down_dev, args.up_dev, args.config, args.stats)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        (relay.reload_soon if signum == signal.SIGHUP else relay.stop)()

    for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    relay.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
