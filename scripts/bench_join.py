#!/usr/bin/env python3
"""From opening the link to seeing everyone: the newcomer's timeline (issue 21).

Three pages are in a room with their (fake) cameras on; a fourth opens
``/r/{room}?name=Late&autojoin=1`` and the page itself records, from its
navigation start, when each step happened:

- the JavaScript modules (first request, last response, how many);
- DOMContentLoaded; getUserMedia called and resolved;
- joined (the page's ``data-state``);
- the receiving connection: the server's offer applied, the answer made, ICE
  and DTLS connected; the publishing connection: its offer made and the
  server's answer applied;
- the first painted frame of each remote video (``requestVideoFrameCallback``),
  and when the third was painted: the figure issue 21 asks for; beside it
  when the compositor presented that frame (the callback's
  ``presentationTime``: the page's thread may run the callback later);
- when each of the others painted the newcomer's video (on the newcomer's
  clock, through epoch time), and how long after its `join` was sent that
  was: issue 21's other figure. (Before 2026-12-07 this was counted from the
  newcomer's "joined", when it shows the meeting: 150-500 ms after `join`.)
  Beside it, the others' own steps (``others (last): ...``, the last of the
  three to reach each): the newcomer's tile and video element shown, their
  answers sent, their connection's events;
- the CPU each kind of process took from navigation start to the third
  remote video painted (medians, % of one core, with the CPUs it may use):
  whether a core was saturated, and by whom (scripts/process_cpu.py).

Each run uses a fresh browser context (cold: nothing cached); ``--warm`` opens
the link once before in the same context (HTTP cache warm). ``--settle S``
(default 15) lets the three be in their meeting S seconds before the
newcomer comes, as in a meeting that is running: their encoders have ramped
up, the join work is over and the SFU has paused the camera layers nobody
takes (dynacast: nothing in a camera's first 10 s). ``--settle 0`` is the
earlier measurement: the newcomer right after the three see each other. Medians per step
are printed as a table. The real ``conf-server`` process and headless
Chromium, in a private network namespace (needs root). Not a test:
``.venv/bin/python scripts/bench_join.py [--runs 5] [--warm] [--load 2]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import process_cpu
from bench_support import (
    RoomPages,
    machine,
    niced_chromium,
    run_timing_benchmark,
    sees_remote_videos,
    server_and_chromium,
    timing_arguments,
    use_test_helpers,
)
from join_steps import busy_times, read_steps, server_marks, spans
from page_trace import TRACE_CATEGORIES, main_thread_report

use_test_helpers("e2e")

#: Installed in the newcomer's page before any of its scripts: records when
#: each step happens (ms since navigation start) in ``window.__join``.
INSTRUMENT = """
(() => {
  const marks = (window.__join = {});
  const mark = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    mark("getUserMedia called");
    const stream = await getUserMedia(constraints);
    mark("getUserMedia resolved");
    return stream;
  };
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    const role = { name: null };
    const setRemote = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = async (description) => {
      if (description && description.type === "offer") {
        role.name = "receiving";
        mark("receiving: server offer handled");
      }
      const result = await setRemote(description);
      if (description && description.type === "answer") mark("publishing: answer applied");
      return result;
    };
    const setLocal = pc.setLocalDescription.bind(pc);
    pc.setLocalDescription = async (description) => {
      const result = await setLocal(description);
      const type = pc.localDescription && pc.localDescription.type;
      if (type === "offer") {
        role.name = role.name || "publishing";
        mark("publishing: offer made");
      }
      if (type === "answer") mark("receiving: answer made");
      return result;
    };
    pc.addEventListener("iceconnectionstatechange", () => {
      if (role.name && ["connected", "completed"].includes(pc.iceConnectionState))
        mark(`${role.name}: ICE connected`);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (role.name && pc.connectionState === "connected") mark(`${role.name}: DTLS connected`);
    });
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Original);
  const OriginalSocket = window.WebSocket;
  window.WebSocket = function (...args) {
    mark("socket: opening");
    const socket = new OriginalSocket(...args);
    socket.addEventListener("open", () => mark("socket: open"));
    const send = socket.send.bind(socket);
    socket.send = (data) => {
      if (typeof data === "string" && data.includes('"join"')) mark("join sent");
      return send(data);
    };
    return socket;
  };
  window.WebSocket.prototype = OriginalSocket.prototype;
  Object.setPrototypeOf(window.WebSocket, OriginalSocket);
  const painted = (window.__painted = []);
  // Whose video each was, and its first frame's size (--save).
  const paintedBy = (window.__paintedBy = []);
  // When the compositor showed each first frame: the page's thread, which
  // runs the callback, may be busy for a while after.
  const presented = (window.__presented = []);
  const watch = (video) => {
    if (video.__watched || !video.requestVideoFrameCallback) return;
    video.__watched = true;
    video.requestVideoFrameCallback((now, frame) => {
      const tile = video.closest('[data-testid="tile"]');
      const me = window.meeting && window.meeting.participantId;
      if (tile && tile.dataset.participantId !== me) {
        painted.push(now);
        presented.push(frame.presentationTime);
        paintedBy.push([now, tile.dataset.participantId, frame.width, frame.height]);
        // On the trace's clock too (--trace): where its window ends.
        performance.mark(`bench: remote video ${painted.length} painted`, { startTime: now });
      }
    });
  };
  const longTasks = (window.__longTasks = []);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch {}
  new MutationObserver(() => {
    document.querySelectorAll("video").forEach(watch);
    if (document.body && document.body.dataset.state === "joined") mark("joined");
  }).observe(document, { subtree: true, childList: true, attributes: true });
})();
"""

#: Read after the third remote video painted: module loading and the page events.
TIMELINE = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const modules = performance.getEntriesByType("resource").filter((e) => e.name.endsWith(".js"));
  const out = Object.assign({}, window.__join);
  // What the page needs to start, and what it loads later (dynamic import()).
  const first = modules.filter((e) => e.startTime < nav.domContentLoadedEventEnd);
  const later = modules.filter((e) => e.startTime >= nav.domContentLoadedEventEnd);
  if (first.length) {
    out["modules: first request"] = Math.min(...first.map((e) => e.startTime));
    out["modules: last loaded"] = Math.max(...first.map((e) => e.responseEnd));
  }
  if (later.length) {
    out["modules loaded later: last"] = Math.max(...later.map((e) => e.responseEnd));
  }
  out["DOMContentLoaded"] = nav.domContentLoadedEventEnd;
  // The client's own marks of its steps (web_client/js/join_marks.js).
  for (const mark of performance.getEntriesByType("mark")) {
    const name = mark.name.startsWith("conf: ") ? mark.name.slice(6) : null;
    if (name && !(name in out)) out[name] = mark.startTime;
  }
  const painted = [...window.__painted].sort((a, b) => a - b);
  painted.forEach((t, i) => { out[`remote video ${i + 1} painted`] = t; });
  const presented = [...window.__presented].sort((a, b) => a - b);
  presented.forEach((t, i) => { out[`remote video ${i + 1} presented`] = t; });
  return {
    marks: out,
    modules: modules.length,
    origin: performance.timeOrigin,
    longTasks: window.__longTasks,
    participantId: window.meeting && window.meeting.participantId,
    paintedBy: window.__paintedBy,
  };
}
"""

#: Installed in each of the others' pages before the newcomer comes: when the
#: first frame of a tile that was not there yet is painted (epoch ms, so it
#: compares with the newcomer's clock).
WATCH_NEWCOMER = """
() => {
  const known = new Set([...document.querySelectorAll('[data-testid="tile"]')]
    .map((tile) => tile.dataset.participantId));
  window.__newcomerPainted = null;
  window.__newcomerPresented = null;
  window.__newcomerTile = null;
  window.__newcomerVideo = null;
  const watch = () => {
    for (const tile of document.querySelectorAll('[data-testid="tile"]')) {
      if (known.has(tile.dataset.participantId)) continue;
      if (window.__newcomerTile === null) window.__newcomerTile = Date.now();
      const video = tile.querySelector("video");
      if (!video || video.__newcomer) continue;
      video.__newcomer = true;
      window.__newcomerVideo = Date.now();
      video.requestVideoFrameCallback((now, frame) => {
        if (window.__newcomerPainted === null) window.__newcomerPainted = Date.now();
        if (window.__newcomerPresented === null)
          window.__newcomerPresented = performance.timeOrigin + frame.presentationTime;
      });
    }
  };
  new MutationObserver(watch).observe(document.body, { subtree: true, childList: true });
  watch();
}
"""

OTHERS = ("One", "Two", "Three")

#: Read from each of the others' pages once they painted the newcomer: the
#: epoch times of their own join steps (``markStep``) since ``since``, first
#: of each, and when the newcomer's tile and its video element appeared.
OTHER_STEPS = """
(since) => {
  const steps = {};
  for (const mark of performance.getEntriesByType("mark")) {
    if (!mark.name.startsWith("conf: ")) continue;
    const at = performance.timeOrigin + mark.startTime;
    const step = mark.name.slice(6);
    if (at >= since && !(step in steps)) steps[step] = at;
  }
  if (window.__newcomerTile !== null) steps["newcomer's tile shown"] = window.__newcomerTile;
  if (window.__newcomerVideo !== null) steps["newcomer's video element"] = window.__newcomerVideo;
  return steps;
}
"""


async def newcomer(
    browser: Any,
    url: str,
    room: str,
    warm: bool,
    others: list[Any],
    log: Path | None,
    trace: Path | None = None,
) -> tuple[dict[str, float], dict[str, float], int, dict[str, Any]]:
    """One newcomer's timeline (ms from navigation start), with when each of
    ``others`` painted its video and the server's steps (from its ``log``);
    the busy times between steps; the newcomer's module count; the run's
    details for ``--save`` (whose video painted when, at what size, and every
    server step of the join, on the newcomer's clock). With
    ``trace``, a Chromium trace of the newcomer's page is written there and
    its main thread's work is printed (scripts/page_trace.py)."""
    from e2e_helpers import wait_until

    other_ids = [await other.evaluate("window.meeting.participantId") for other in others]
    started = time.time() * 1000

    context = await browser.new_context(
        permissions=["camera", "microphone"], viewport={"width": 1280, "height": 720}
    )
    try:
        if warm:  # load everything once; leave before anyone sees this visit
            page = await context.new_page()
            await page.goto(f"{url}/r/{room}-warmup?name=Warm")
            await page.wait_for_load_state("load")
            await page.close()
        await context.add_init_script(INSTRUMENT)
        for other in others:
            await other.evaluate(WATCH_NEWCOMER)
        page = await context.new_page()
        if trace is not None:
            await browser.start_tracing(page=page, path=str(trace), categories=TRACE_CATEGORIES)
        before = process_cpu.snapshot(time.monotonic())
        await page.goto(f"{url}/r/{room}?name=Late&autojoin=1")

        async def three_painted() -> bool:  # (the page's CSP forbids wait_for_function)
            painted: int = await page.evaluate("() => (window.__painted || []).length")
            return painted >= 3

        # Polled every 0.2 s, not faster: each look runs on the page's thread
        # and the browser's, which the join needs (the times are the page's own).
        await wait_until(three_painted, timeout=30, step=0.2)
        cpu = process_cpu.shares(before, process_cpu.snapshot(time.monotonic()))
        if trace is not None:
            await browser.stop_tracing()
            print(main_thread_report(trace, "name=Late"), flush=True)
        result = await page.evaluate(TIMELINE)
        marks: dict[str, float] = result["marks"]

        seen: list[float | None] = []

        async def everyone_sees_it() -> bool:
            seen[:] = [await other.evaluate("window.__newcomerPainted") for other in others]
            return None not in seen

        await wait_until(everyone_sees_it, timeout=30, step=0.2)
        origin = result["origin"]
        for rank, at in enumerate(sorted(t for t in seen if t is not None), 1):
            marks[f"others: newcomer's video painted ({rank} of {len(seen)})"] = at - origin
        shown = [await other.evaluate("window.__newcomerPresented") for other in others]
        for rank, at in enumerate(sorted(t for t in shown if t is not None), 1):
            marks[f"others: newcomer's video presented ({rank} of {len(shown)})"] = at - origin
        for step, ats in _others_steps(
            [await other.evaluate(OTHER_STEPS, started) for other in others]
        ).items():
            marks[f"others (last): {step}"] = ats - origin
        steps = read_steps(log, started) if log is not None else []
        marks.update(server_marks(steps, origin, result["participantId"], other_ids))
        busy = spans(marks) | busy_times(marks, result["longTasks"], steps, origin)
        names = dict(zip(other_ids, OTHERS, strict=True))
        details = {
            "marks": marks,
            "newcomer": result["participantId"],
            "others": names,
            "cpu": cpu,
            "painted": [
                {"at": at, "who": names.get(who, who), "width": width, "height": height}
                for at, who, width, height in result["paintedBy"]
            ],
            "server_steps": [
                [round(step.at - origin, 1), names.get(step.who, step.who), step.what]
                for step in steps
            ],
        }
        return marks, busy, result["modules"], details
    finally:
        await context.close()


@dataclass(frozen=True)
class JoinBench:
    """What one benchmark run does (the command line's options)."""

    runs: int = 5
    warm: bool = False
    settle: float = 15.0
    others_window: tuple[int, int] = (1280, 720)
    others_nice: int | None = None
    others_cpu: int | None = None
    trace: Path | None = None
    save: Path | None = None


async def bench(options: JoinBench) -> None:
    # The server logs its steps of each join (sfu/timeline.py) for the table.
    os.environ["CONF_JOIN_TIMELINE"] = "1"
    if options.others_cpu is not None and options.others_nice is None:
        raise SystemExit("--others-cpu needs --others-nice (the others' own browser)")
    if options.others_cpu is not None:
        # The server, the newcomer's browser and this script keep off the
        # others' CPU (children inherit it).
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)) - {options.others_cpu})
    logs: list[Path] = []
    async with server_and_chromium(logs) as (browser, url):
        log = logs[0] if logs else None
        if options.others_nice is None:
            await _bench(browser, browser, url, options, log)
        else:
            async with niced_chromium(options.others_nice, options.others_cpu) as others_browser:
                await _bench(browser, others_browser, url, options, log)
    if options.others_nice is not None:
        print(f"the others' browser weighted as nice {options.others_nice}")
    if options.others_cpu is not None:
        print(f"the others' browser on CPU {options.others_cpu}, everything else on the rest")
    print(machine())


async def _bench(
    browser: Any, others_browser: Any, url: str, options: JoinBench, log: Path | None
) -> None:
    from e2e_helpers import wait_until

    timelines: list[dict[str, float]] = []
    busy_runs: list[dict[str, float]] = []
    saved_cpu: list[dict[str, float]] = []
    saved: list[dict[str, Any]] = []
    modules = 0
    for run in range(options.runs):
        room = f"join-{run}"
        pages = RoomPages(others_browser, url, room)
        try:
            others = [await pages.open(name, options.others_window) for name in OTHERS]

            async def all_see_each_other(others: list[Any] = others) -> bool:
                return all([await sees_remote_videos(page, 2) for page in others])

            await wait_until(all_see_each_other, timeout=30)
            await asyncio.sleep(options.settle)
            marks, busy, modules, details = await newcomer(
                browser,
                url,
                room,
                options.warm,
                others,
                log,
                _trace_file(options.trace, run, options.runs),
            )
        finally:
            await pages.close()
        timelines.append(marks)
        busy_runs.append(busy)
        saved_cpu.append(details["cpu"])
        if options.save is not None:
            saved.append(details)
            # Written after each run: kept if the benchmark is stopped.
            options.save.write_text(json.dumps(saved, indent=1))
        third = marks.get("remote video 3 painted", float("nan"))
        first_two = (marks.get(f"remote video {n} painted", float("nan")) for n in (1, 2))
        videos = "/".join(f"{at:.0f}" for at in first_two)
        dtls = marks.get("receiving: DTLS connected", float("nan"))
        presented = marks.get("remote video 3 presented", float("nan"))
        print(
            f"run {run + 1}: third remote video painted at {third:.0f} ms, presented"
            f" {presented:.0f} (the first two painted {videos},"
            f" receiving DTLS connected {dtls:.0f}); the others painted the newcomer"
            f" {_others_saw(marks):.0f} ms after its join was sent"
            f" (presented {_others_saw(marks, 'presented'):.0f};"
            f" {_others_saw(marks, since='joined'):.0f} after it showed the meeting)",
            flush=True,
        )
    seen = {name for marks in timelines for name in marks}
    names = sorted(seen, key=lambda name: _median(timelines, name))
    print(
        f"\n{'warm' if options.warm else 'cold'} cache, {options.runs} runs,"
        f" {modules} JavaScript files,"
        f" the others {options.settle:g} s in their meeting before the newcomer,"
        f" their windows {options.others_window[0]}x{options.others_window[1]}"
    )
    print("| ms from navigation start (median) | step |\n|---|---|")
    for name in names:
        print(f"| {_median(timelines, name):.0f} | {name} |")
    print("\n| ms (median) | span, or busy between |\n|---|---|")
    for name in dict.fromkeys(name for busy in busy_runs for name in busy):
        print(f"| {_median(busy_runs, name):.0f} | {name} |")
    if saved_cpu:
        print("\n| % of one core (median) | CPU, navigation start → third remote video painted |")
        print("|---|---|")
        for kind, share in _median_shares(saved_cpu):
            print(f"| {share:.0f} | {kind} |")
    for kind in ("painted", "presented"):
        after = statistics.median(_others_saw(marks, kind) for marks in timelines)
        shown = statistics.median(_others_saw(marks, kind, "joined") for marks in timelines)
        print(
            f"the last of the others {kind} the newcomer's video {after:.0f} ms after its"
            f" `join` was sent ({shown:.0f} ms after it showed the meeting)"
        )


def _median_shares(runs: list[dict[str, float]]) -> list[tuple[str, float]]:
    """Each kind of process's median CPU share over the runs (0 where a run
    had none), largest first, those under 1 % left out."""
    kinds = {kind for shares in runs for kind in shares}
    medians = {kind: statistics.median(shares.get(kind, 0.0) for shares in runs) for kind in kinds}
    return sorted(((k, m) for k, m in medians.items() if m >= 1), key=lambda row: -row[1])


def _others_steps(per_page: list[dict[str, float]]) -> dict[str, float]:
    """Each step some of the others reached, at the last of them to reach it."""
    return {
        step: max(steps[step] for steps in per_page if step in steps)
        for step in {step for steps in per_page for step in steps}
    }


def _others_saw(marks: dict[str, float], kind: str = "painted", since: str = "join sent") -> float:
    """When the last of the others painted (its page's callback ran) or
    presented (the compositor showed) the newcomer's video, in ms after the
    newcomer's mark ``since``: its `join` sent (issue 21's figure), or
    "joined" (it showed the meeting, which this benchmark used before
    2026-12-07)."""
    prefix = f"others: newcomer's video {kind}"
    last = max((v for k, v in marks.items() if k.startswith(prefix)), default=float("nan"))
    return last - marks.get(since, float("nan"))


def _trace_file(trace: Path | None, run: int, runs: int) -> Path | None:
    """``trace`` itself for a single run, else ``trace`` with the run's number."""
    if trace is None or runs == 1:
        return trace
    return trace.with_name(f"{trace.stem}-{run + 1}{trace.suffix}")


def _window(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def _median(timelines: list[dict[str, float]], name: str) -> float:
    values = [marks[name] for marks in timelines if name in marks]
    return statistics.median(values) if values else float("nan")


if __name__ == "__main__":
    options = timing_arguments(__doc__ or "", 5, "newcomers")
    options.add_argument("--warm", action="store_true", help="HTTP cache warm (a visit before)")
    options.add_argument(
        "--settle", type=float, default=15.0,
        help="seconds the three are in their meeting before the newcomer (default 15)",
    )  # fmt: skip
    options.add_argument(
        "--others-window", default="1280x720", type=_window,
        help="the three others' window size WxH (default 1280x720); a small one (360x640, a"
        " phone) keeps the load of standing in for three other computers off this machine",
    )  # fmt: skip
    options.add_argument(
        "--others-nice", type=int, default=None,
        help="run the three others in a second Chromium, in a CPU control group weighted as"
        " one process at this niceness (e.g. 10): they stand for other people's computers, so"
        " they should not take CPU from the newcomer and the server (nice alone does not hold:"
        " Chromium sets its own priorities)",
    )  # fmt: skip
    options.add_argument(
        "--others-cpu", type=int, default=None, metavar="N",
        help="with --others-nice: the three others on CPU N only, the server and the newcomer"
        " on the other CPUs (each side has its own core, as on separate computers)",
    )  # fmt: skip
    options.add_argument(
        "--trace", type=Path, default=None, metavar="FILE",
        help="record a Chromium trace of the newcomer's page to FILE (FILE-N.json per run when"
        " --runs > 1) and print what its main thread did up to the third remote video; tracing"
        " slows the page: take the timings from runs without it",
    )  # fmt: skip
    options.add_argument(
        "--save", type=Path, default=None, metavar="FILE",
        help="write each run's details to FILE (JSON): its timeline, whose video painted when"
        " and at what size, and every server step of the join on the newcomer's clock",
    )  # fmt: skip
    run_timing_benchmark(
        options,
        lambda args: bench(
            JoinBench(
                args.runs,
                args.warm,
                args.settle,
                args.others_window,
                args.others_nice,
                args.others_cpu,
                args.trace,
                args.save,
            )
        ),
    )
