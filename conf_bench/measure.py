"""One measured load step: server CPU, packet rates, loss, latency, memory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sfu.stats import LATENCY_BUCKETS

from .processes import LoadGenProcess, Pinned, cpu_seconds, fd_count, rss_bytes

#: ``expected(received_pps, video_received_pps)`` -> packets/s the SFU should forward.
Expected = Callable[[float, float], float]


@dataclass
class Step:
    """Rates are per second over the measurement window; CPU in % of one core."""

    load: int
    server_cpu_percent: float
    loadgen_cpu_percent: float
    received_pps: float
    forwarded_pps: float
    expected_pps: float
    delivered_pps: float
    loss_percent: float
    latency_ms_p50: float
    latency_ms_p95: float
    latency_ms_p99: float
    rss_mb: float
    fds: int
    peer_connections: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(before: dict[str, float], after: dict[str, float], q: float) -> float:
    """Latency percentile (ms) from two scrapes of the cumulative histogram."""
    bounds = [*LATENCY_BUCKETS, float("inf")]
    names = [f"conf_forwarding_latency_seconds_bucket|{b}" for b in (*LATENCY_BUCKETS, "+Inf")]
    cumulative = [after.get(n, 0.0) - before.get(n, 0.0) for n in names]
    total = cumulative[-1]
    if total <= 0:
        return float("nan")
    target = q * total
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, cumulative, strict=True):
        if count >= target:
            upper = bound if bound != float("inf") else LATENCY_BUCKETS[-1]
            share = (target - below) / (count - below) if count > below else 1.0
            return 1000 * (lower + share * (upper - lower))
        lower, below = bound, count
    return 1000 * LATENCY_BUCKETS[-1]


async def measure(
    server: Any,
    loadgen: LoadGenProcess,
    load: int,
    seconds: float,
    expected: Expected,
    top_layer_fanout: int | None = None,
) -> Step:
    """Measure one window of ``seconds`` at the current load.

    With ``top_layer_fanout`` the expected forwarding rate is that many
    receivers times what the generator's layered cameras sent on their top
    layer (the SFU's received rate counts every layer), and ``expected`` is
    not used.
    """
    server_proc: Pinned = server
    scrape0: dict[str, float] = await server.scrape()
    counts0 = await loadgen.command("counts")
    cpu0, gen0, t0 = cpu_seconds(server_proc.pid), cpu_seconds(loadgen.pid), time.monotonic()
    await asyncio.sleep(seconds)
    scrape1: dict[str, float] = await server.scrape()
    counts1 = await loadgen.command("counts")
    cpu1, gen1, t1 = cpu_seconds(server_proc.pid), cpu_seconds(loadgen.pid), time.monotonic()
    span = t1 - t0

    def rate(name: str) -> float:
        return (scrape1.get(name, 0.0) - scrape0.get(name, 0.0)) / span

    received = rate("conf_rtp_packets_received_total")
    video = rate("conf_rtp_video_packets_received_total")
    forwarded = rate("conf_rtp_packets_forwarded_total")
    delivered = (counts1["received"] - counts0["received"]) / span
    if top_layer_fanout is None:
        wanted = expected(received, video)
    else:
        top = (counts1["layered_top_sent"] - counts0["layered_top_sent"]) / span
        wanted = top_layer_fanout * top
    loss = max(0.0, 1 - delivered / wanted) * 100 if wanted else 0.0
    return Step(
        load=load,
        server_cpu_percent=100 * (cpu1 - cpu0) / span,
        loadgen_cpu_percent=100 * (gen1 - gen0) / span,
        received_pps=received,
        forwarded_pps=forwarded,
        expected_pps=wanted,
        delivered_pps=delivered,
        loss_percent=loss,
        latency_ms_p50=percentile(scrape0, scrape1, 0.50),
        latency_ms_p95=percentile(scrape0, scrape1, 0.95),
        latency_ms_p99=percentile(scrape0, scrape1, 0.99),
        rss_mb=rss_bytes(server_proc.pid) / 2**20,
        fds=fd_count(server_proc.pid),
        peer_connections=int(scrape1.get("conf_peer_connections", 0)),
    )


async def measure_cpu_only(
    server: Pinned, loadgen: LoadGenProcess, load: int, seconds: float
) -> Step:
    """A window for servers without /metrics (the MediaRelay baseline)."""
    counts0 = await loadgen.command("counts")
    cpu0, gen0, t0 = cpu_seconds(server.pid), cpu_seconds(loadgen.pid), time.monotonic()
    await asyncio.sleep(seconds)
    counts1 = await loadgen.command("counts")
    cpu1, gen1, t1 = cpu_seconds(server.pid), cpu_seconds(loadgen.pid), time.monotonic()
    span = t1 - t0
    delivered = (counts1["received"] - counts0["received"]) / span
    nan = float("nan")
    return Step(
        load=load,
        server_cpu_percent=100 * (cpu1 - cpu0) / span,
        loadgen_cpu_percent=100 * (gen1 - gen0) / span,
        received_pps=nan, forwarded_pps=nan, expected_pps=nan, delivered_pps=delivered,
        loss_percent=nan, latency_ms_p50=nan, latency_ms_p95=nan, latency_ms_p99=nan,
        rss_mb=rss_bytes(server.pid) / 2**20, fds=fd_count(server.pid), peer_connections=load + 1,
    )  # fmt: skip


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (nan with fewer than two distinct xs)."""
    if len(set(xs)) < 2:
        return float("nan")
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return float(covariance / sum((x - mx) ** 2 for x in xs))
