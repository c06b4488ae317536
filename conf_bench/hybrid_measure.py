"""One measured window of the hybrid scenario, over one or several workers.

Loss is read four ways, each of which a server past its capacity shows:

- **delivery** (the receivers' side, as the other scenarios): packets the
  load generator's receivers got against what they should get, from what
  the publishers sent (``paged_expectation``: each tile's lowest layer, the
  audible talkers' voices);
- **inbound**: packets the server(s) received against what the publishers
  sent (a server that cannot keep up loses them in its socket buffer);
- **the server's own counters**: ``conf_rtp_packets_dropped`` (not sent,
  the subscriber's transport not connected) and
  ``conf_rtp_nack_repairs_failed`` (publisher packets lost and never
  repaired; the bench's publishers keep no history, so any gap counts);
- **the kernel**: UDP receive- and send-buffer errors (``/proc/net/snmp``),
  which count every socket of the network namespace: run the bench in a
  namespace of its own (docs/performance.md) for them to be its own.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from .measure import Step, percentile
from .processes import LoadGenProcess, cpu_seconds, fd_count, rss_bytes

#: Counters summed over workers (the latency histogram too, bucket by bucket).
_SUMMED = "conf_"
#: Gauges where the workers' worst counts, not their sum.
_WORST = ("conf_event_loop_lag_seconds",)


class Scraped(Protocol):
    @property
    def pid(self) -> int: ...

    async def scrape(self) -> dict[str, float]: ...


@dataclass
class Losses:
    """What one window lost, and where."""

    delivery_percent: float
    inbound_percent: float
    server_dropped: int
    repairs_failed: int
    kernel_udp_errors: int
    #: CPU of each worker (% of one core), in the workers' order.
    worker_cpu_percent: list[float]
    load_average: float
    #: How late the busiest worker's event loop woke up (its probe, at the end).
    loop_lag_ms: float
    #: Subscriber offers not answered in time or refused, since the start.
    negotiation_failures: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def udp_errors() -> int:
    """Receive- plus send-buffer errors of UDP (and UDP-Lite-free) sockets in
    this network namespace since it was made."""
    with open("/proc/net/snmp") as fh:
        rows = [line.split() for line in fh if line.startswith("Udp:")]
    names, values = rows[0][1:], [int(v) for v in rows[1][1:]]
    counters = dict(zip(names, values, strict=True))
    return counters.get("RcvbufErrors", 0) + counters.get("SndbufErrors", 0)


async def _scrape_all(workers: list[Scraped]) -> dict[str, float]:
    total: dict[str, float] = {}
    for scraped in await asyncio.gather(*(w.scrape() for w in workers)):
        for name, value in scraped.items():
            if name in _WORST:
                total[name] = max(total.get(name, 0.0), value)
            elif name.startswith(_SUMMED):
                total[name] = total.get(name, 0.0) + value
    return total


def _percent(lost: float, of: float) -> float:
    """``lost`` in % of ``of``, never below 0 (rounded: counts, not float noise)."""
    return round(max(0.0, lost / of) * 100, 6) if of > 0 else 0.0


async def measure_window(
    workers: list[Scraped], loadgen: LoadGenProcess, load: int, seconds: float
) -> tuple[Step, Losses]:
    """Measure ``seconds`` at the current load; CPU, packets and resources are
    the workers' sums (each worker's CPU is in ``Losses.worker_cpu_percent``)."""
    # Together: what was sent and what arrived, read at (nearly) one moment.
    scrape0, counts0 = await asyncio.gather(_scrape_all(workers), loadgen.command("counts"))
    kernel0 = udp_errors()
    cpu0 = [cpu_seconds(w.pid) for w in workers]
    gen0, t0 = cpu_seconds(loadgen.pid), time.monotonic()
    await asyncio.sleep(seconds)
    scrape1, counts1 = await asyncio.gather(_scrape_all(workers), loadgen.command("counts"))
    kernel1 = udp_errors()
    cpu1 = [cpu_seconds(w.pid) for w in workers]
    gen1, span = cpu_seconds(loadgen.pid), time.monotonic() - t0

    def rate(name: str) -> float:
        return (scrape1.get(name, 0.0) - scrape0.get(name, 0.0)) / span

    def sent(name: str) -> float:
        return float(counts1[name] - counts0[name]) / span

    worker_cpu = [100 * (b - a) / span for a, b in zip(cpu0, cpu1, strict=True)]
    received = rate("conf_rtp_packets_received_total")
    expected = sent("expected_tiles") + sent("expected_voices")
    delivered = sent("received")
    published = sent("layered_sent") + sent("voice_sent")
    step = Step(
        load=load,
        server_cpu_percent=sum(worker_cpu),
        loadgen_cpu_percent=100 * (gen1 - gen0) / span,
        received_pps=received,
        forwarded_pps=rate("conf_rtp_packets_forwarded_total"),
        expected_pps=expected,
        delivered_pps=delivered,
        loss_percent=_percent(expected - delivered, expected),
        latency_ms_p50=percentile(scrape0, scrape1, 0.50),
        latency_ms_p95=percentile(scrape0, scrape1, 0.95),
        latency_ms_p99=percentile(scrape0, scrape1, 0.99),
        rss_mb=sum(rss_bytes(w.pid) for w in workers) / 2**20,
        fds=sum(fd_count(w.pid) for w in workers),
        peer_connections=int(scrape1.get("conf_peer_connections", 0)),
    )
    losses = Losses(
        delivery_percent=step.loss_percent,
        inbound_percent=_percent(published - received, published),
        server_dropped=round(rate("conf_rtp_packets_dropped_total") * span),
        repairs_failed=round(rate("conf_rtp_nack_repairs_failed_total") * span),
        kernel_udp_errors=kernel1 - kernel0,
        worker_cpu_percent=worker_cpu,
        load_average=os.getloadavg()[0],
        loop_lag_ms=1000 * scrape1.get("conf_event_loop_lag_seconds", 0.0),
        negotiation_failures=round(scrape1.get("conf_negotiation_failures_total", 0.0)),
    )
    return step, losses
