"""Scenario "simulcast": what three-layer cameras cost the server, against one layer.

Two groups of ``publishers`` join one room, video only: one sends its camera
as three simulcast layers (180p/360p/720p), the other the same 720p layer
alone. Both stay connected throughout and take turns sending, so every window
has the same connections, subscribers and timers and differs only in what is
sent. At each number of subscribers the server is measured three ways:
nobody sending (``idle``), the single-layer group sending (``single``), the
simulcast group sending (``simulcast``), each twice in mirrored order
(``WINDOW_ORDER``) and averaged. No subscriber sends ``set_view`` or
REMB (the load client counts packets at the socket), so the SFU forwards the
top layer to everyone in both cases: the same forwarded packets. Without
subscribers the simulcast cameras send all three layers (what receiving
them costs); from the first subscribers on they follow the SFU's
``publish_layers`` as browsers do (dynacast), so the middle layer nobody
takes is paused and the SFU receives the lowest and the top layer
(``layers_on`` per step).

Figures (``simulcast_figures``): server CPU per forwarded packet in each case
(CPU above the idle window of the same step, over packets forwarded), their
ratio (issue 15 asks for at most 1.15), the same ratio once the two lower
layers' receive cost measured without subscribers is taken out
(``ratio_less_extra_layers``: what forwarding itself costs more), the load
generator's CPU in both ways, whether the step was clean (the
server kept up: see ``MAX_CLEAN_LOSS_PERCENT``), and at the step without subscribers
what receiving costs: packets/s received per publisher, CPU per received
packet, and the extra CPU per publisher that the two lower layers take (at
that step, and pooled over all steps in ``extra_layers``).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import fields
from typing import Any

from sfu.producer_layer import STABLE_AFTER_S

from .measure import Step, measure
from .scenarios import WARMUP_S, Context, ScenarioResult, processes, wait_for_streams

NAME = "simulcast_cost"
MODES = ("idle", "single", "simulcast")
ROOM = "simulcast"
#: Acceptance of issue 15 point 9: three-layer cost per forwarded packet.
MAX_RATIO = 1.15
#: Seconds between a group starting to send and its window: a layer is chosen
#: only once it has arrived for ``STABLE_AFTER_S``, then the switch waits for
#: a keyframe. Without it a subscriber new to the simulcast group spends the
#: start of the window on the lowest layer (fewer packets forwarded, a
#: keyframe burst), which is start-up, not what three layers cost.
SETTLE_S = WARMUP_S + STABLE_AFTER_S + 1.0
#: A window that forwarded this much less than the publishers sent was one in
#: which the server ran behind (on a busy machine: its core taken by others,
#: packets queued in the process and handled in a later window). Its CPU per
#: packet is not comparable, so its figures are flagged.
MAX_CLEAN_LOSS_PERCENT = 5.0
#: The windows of one step, in order. On a shared VM the machine's speed
#: changes from second to second (the server's and the load generator's CPU
#: per second rise and fall together while the packets stay the same), so
#: each way is measured twice, mirrored (A B B A): a drift over the step
#: weighs on both ways alike, and each figure is the mean of two windows.
WINDOW_ORDER = ("idle", "single", "simulcast", "simulcast", "single", "idle")


async def _only_sending(loadgen: Any, mode: str) -> None:
    for group in ("single", "simulcast"):
        await loadgen.command("set_sending", group=group, active=group == mode)


async def simulcast_cost(ctx: Context, steps: list[int], publishers: int = 2) -> ScenarioResult:
    """Measure idle / one layer / three layers at 0 and each number of subscribers."""
    result = ScenarioResult(NAME, [])
    variants: dict[str, list[Step]] = {mode: [] for mode in MODES}
    #: Per number of subscribers, the simulcast cameras' layers on at its end.
    layers_on: dict[int, list[str]] = {}
    layers: list[dict[str, Any]] = []  # the simulcast cameras' layer report, after each step
    async with processes(ctx) as (server, loadgen):
        for group, camera in (("single", "top_layer"), ("simulcast", "simulcast")):
            await loadgen.command(
                "add", room=ROOM, count=publishers, video=True, audio=False, wait="",
                receive=False, camera=camera, group=group,
            )  # fmt: skip
        # Without subscribers the SFU asks the simulcast cameras to stop
        # every layer but the lowest (dynacast); they send all three anyway,
        # so the first step measures what receiving all three costs. From
        # the first subscribers on they do as told, as browsers do.
        await loadgen.command("obey_layers", group="simulcast", active=False)
        current = 0
        for n in [0, *steps]:
            if n and not current:
                await loadgen.command("obey_layers", group="simulcast", active=True)
            if n > current:
                await _only_sending(loadgen, "single")  # joiners wait for a keyframe
                await loadgen.command(
                    "add", room=ROOM, count=n - current, video=False, audio=False,
                    wait="first_keyframe",
                )  # fmt: skip
                current = n
            windows: dict[str, list[Step]] = {mode: [] for mode in MODES}
            sending = None
            for mode in WINDOW_ORDER:
                if mode != sending:
                    await _only_sending(loadgen, mode)
                    sending = mode
                    await asyncio.sleep(SETTLE_S)
                if mode != "idle" and n:
                    await wait_for_streams(loadgen, publishers, result, f"{mode} N={n}")
                step = await measure(
                    server, loadgen, n, ctx.window_s, lambda r, v: 0.0, top_layer_fanout=n
                )
                windows[mode].append(step)
                ctx.log(
                    f"  simulcast N={n} {mode}: server {step.server_cpu_percent:.1f} % CPU "
                    f"(load generator {step.loadgen_cpu_percent:.1f} %), "
                    f"{step.received_pps:.0f} pkt/s in, {step.forwarded_pps:.0f} out "
                    f"(expected {step.expected_pps:.0f}), loss {step.loss_percent:.2f} %"
                )
            for mode in MODES:
                variants[mode].append(mean_step(windows[mode]))
            layers = (await loadgen.command("layer_report", group="simulcast"))["publishers"]
            layers_on[n] = sorted({",".join(p["on"]) for p in layers})
            ctx.log(f"  simulcast N={n}: layers sent (dynacast) {layers_on[n]}")
    result.variants = variants
    result.steps = variants["simulcast"]
    result.figures = simulcast_figures(
        variants,
        {
            "publishers": publishers,
            "bound_layers": [p["bound"] for p in layers],
            "layers_on": layers_on,
        },
    )
    for publisher in layers:
        if publisher["bound"] != publisher["layers"]:
            result.notes.append(
                f"{publisher['participant_id']}: the SFU reported on layers "
                f"{publisher['bound']} of {publisher['layers']}"
            )
    return result


def mean_step(windows: list[Step]) -> Step:
    """One step from several windows of the same load and way: rates, CPU and
    latencies averaged, resources (memory, descriptors, connections) at their
    largest."""
    values: dict[str, Any] = {}
    for f in fields(Step):
        column = [getattr(w, f.name) for w in windows]
        if f.name in ("rss_mb", "fds", "peer_connections", "load"):
            values[f.name] = max(column)
        else:
            values[f.name] = sum(column) / len(column)
    return Step(**values)


def _per_packet_us(step: Step, idle: Step, packets_per_s: float) -> float:
    """Server CPU above ``idle`` per packet, in microseconds (nan without packets)."""
    return _us_per_packet(step.server_cpu_percent - idle.server_cpu_percent, packets_per_s)


def _us_per_packet(cpu_percent: float, packets_per_s: float) -> float:
    """``cpu_percent`` of a core spread over ``packets_per_s``, in microseconds."""
    if not packets_per_s or math.isnan(packets_per_s):
        return float("nan")
    return cpu_percent / 100 / packets_per_s * 1e6


def _rounded(value: float, digits: int = 2) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def simulcast_figures(variants: dict[str, list[Step]], facts: dict[str, Any]) -> dict[str, Any]:
    """The scenario's figures from its steps; ``facts`` (publishers, bound
    layers) are copied in."""
    figures: dict[str, Any] = {
        "publishers": facts.get("publishers", 0),
        "bound_layers": facts.get("bound_layers", []),
        "layers_on": facts.get("layers_on", {}),
    }
    publishers = max(1, int(figures["publishers"]))
    by_load = {mode: {s.load: s for s in variants.get(mode, [])} for mode in MODES}
    per_step = []
    extra_receive = float("nan")  # % of a core: the lower layers, no subscribers
    for load in sorted(set(by_load["idle"]) & set(by_load["single"]) & set(by_load["simulcast"])):
        idle, one, three = (by_load[m][load] for m in MODES)
        if load == 0:
            figures["receive"] = _receive_figures(idle, one, three, publishers)
            extra_receive = three.server_cpu_percent - one.server_cpu_percent
            continue
        single_us = _per_packet_us(one, idle, one.forwarded_pps)
        simulcast_us = _per_packet_us(three, idle, three.forwarded_pps)
        ratio = simulcast_us / single_us if single_us > 0 else float("nan")
        forwarding_us = simulcast_us - _us_per_packet(extra_receive, three.forwarded_pps)
        per_step.append(
            {
                "subscribers": load,
                "single_us_per_forwarded_packet": _rounded(single_us),
                "simulcast_us_per_forwarded_packet": _rounded(simulcast_us),
                "ratio": _rounded(ratio, 3),
                "within_1_15": None if math.isnan(ratio) else ratio <= MAX_RATIO,
                "ratio_less_extra_layers": _rounded(
                    forwarding_us / single_us if single_us > 0 else float("nan"), 3
                ),
                "loadgen_cpu_percent": [
                    _rounded(one.loadgen_cpu_percent),
                    _rounded(three.loadgen_cpu_percent),
                ],
                "loss_percent": [_rounded(one.loss_percent), _rounded(three.loss_percent)],
                "clean": max(one.loss_percent, three.loss_percent) <= MAX_CLEAN_LOSS_PERCENT
                and idle.received_pps == 0,
            }
        )
    figures["per_subscribers"] = per_step
    figures["extra_layers"] = _extra_layer_figures(by_load, publishers)
    if per_step:
        figures["ratio_at_most_subscribers"] = per_step[-1]["ratio"]
    return figures


def _receive_figures(idle: Step, one: Step, three: Step, publishers: int) -> dict[str, Any]:
    """What receiving one layer and three layers costs, without subscribers."""
    figures: dict[str, Any] = {}
    for name, step in (("single", one), ("simulcast", three)):
        figures[f"{name}_pps_per_publisher"] = _rounded(step.received_pps / publishers, 1)
        figures[f"{name}_us_per_received_packet"] = _rounded(
            _per_packet_us(step, idle, step.received_pps)
        )
    extra = (three.server_cpu_percent - one.server_cpu_percent) / publishers
    figures["extra_layers_cpu_percent_per_publisher"] = _rounded(extra)
    return figures


def _extra_layer_figures(
    by_load: dict[str, dict[int, Step]], publishers: int
) -> dict[str, float | None]:
    """What the two lower layers cost, pooled over every step: the simulcast
    window's CPU above the single-layer window's, per extra packet received
    and per publisher. One step's difference is a few clock ticks (10 ms each
    per window), so pooling is what makes it a figure."""
    loads = sorted(set(by_load["single"]) & set(by_load["simulcast"]))
    if not loads:
        return {"us_per_extra_received_packet": None, "cpu_percent_per_publisher": None}
    cpu = sum(
        by_load["simulcast"][n].server_cpu_percent - by_load["single"][n].server_cpu_percent
        for n in loads
    )
    packets = sum(
        by_load["simulcast"][n].received_pps - by_load["single"][n].received_pps for n in loads
    )
    return {
        "us_per_extra_received_packet": _rounded(cpu / 100 / packets * 1e6) if packets else None,
        "cpu_percent_per_publisher": _rounded(cpu / len(loads) / publishers),
    }
