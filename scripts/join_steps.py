"""What scripts/bench_join.py adds to the newcomer page's own marks: the
server's steps of the same join (the ``conf.timeline`` log lines of the
``join_timeline`` setting, sfu/timeline.py), put on the page's clock, and how
long the page's main thread (long tasks) and the server's event loop
(stalls) were busy between the steps."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

#: A timeline line of the server's log: epoch ms, who, what.
LINE = re.compile(r"conf\.timeline: timeline (\d+(?:\.\d+)?) (\S+) (.+)$")
STALL = re.compile(r"stalled (\d+) ms")

#: Spans of the page's timeline whose busy time is reported: consecutive
#: pairs of these marks (a pair with a mark missing is skipped).
GAPS = (
    "socket: opening",
    "socket: open",
    "join sent",
    "join acknowledged",
    "subscriber: answer sent",
    "joined",
    "publishing: offer made",
    "publishing: answer applied",
    "remote video 3 painted",
)


#: Spans reported per run (then the median): (from, to) marks of one join.
SPANS = (
    ("join sent", "join acknowledged"),
    ("server: join received", "server: join acknowledged"),
    ("join acknowledged", "subscriber: answer sent"),
    ("subscriber: answer sent", "publish: offer sent"),
    ("subscriber: answer sent", "joined"),
    ("subscriber: answer sent", "receiving: DTLS connected"),
    ("receiving: DTLS connected", "remote video 3 painted"),
    ("publish: offer sent", "server: publish received"),
    ("server: publish received", "server: publish answered"),
    ("publish: offer sent", "publishing: DTLS connected"),
    ("publishing: DTLS connected", "others: newcomer's video painted (3 of 3)"),
    ("join sent", "remote video 3 painted"),
    ("join sent", "others: newcomer's video painted (3 of 3)"),
)


def spans(marks: dict[str, float]) -> dict[str, float]:
    """The ``SPANS`` of one run's marks (ms), those whose two marks are there."""
    return {f"span: {a} → {b}": marks[b] - marks[a] for a, b in SPANS if a in marks and b in marks}


@dataclass(frozen=True)
class ServerStep:
    at: float  # epoch ms
    who: str
    what: str


def read_steps(log: Path, since: float) -> list[ServerStep]:
    """The timeline lines of ``log`` at or after ``since`` (epoch ms)."""
    steps = []
    for line in log.read_text(errors="replace").splitlines():
        found = LINE.search(line)
        if found and float(found[1]) >= since:
            steps.append(ServerStep(float(found[1]), found[2], found[3]))
    return steps


def server_marks(
    steps: list[ServerStep], origin: float, newcomer: str, others: list[str]
) -> dict[str, float]:
    """The newcomer's server steps (first of each), the others' steps after
    its publish (the last of the three), and when video started to flow, in
    ms on the newcomer's clock (``origin``: its ``performance.timeOrigin``)."""
    marks: dict[str, float] = {}
    sid = next(
        (
            s.what.removeprefix("admitted as ")
            for s in steps
            if s.who == newcomer and "admitted" in s.what
        ),
        None,
    )
    starts: list[float] = []
    for s in steps:
        at = s.at - origin
        if s.who in (newcomer, sid):
            if s.what.startswith("video: a subscriber starts"):
                starts.append(at)
            elif not s.what.startswith("video: that start"):
                what = "admitted" if s.what.startswith("admitted as ") else s.what
                marks.setdefault(f"server: {what}", at)
    for rank, at in enumerate(starts[:3], 1):
        marks[f"server: the newcomer's video starts to a subscriber ({rank})"] = at
    published = marks.get("server: publish received")
    joined = marks.get("server: join received")
    first: dict[tuple[str, str], float] = {}
    for s in steps:
        at = s.at - origin
        if s.who not in others:
            continue
        if published is not None and at >= published and s.what.startswith("subscriber:"):
            first.setdefault((s.who, re.sub(r" \d+ ", " ", s.what)), at)
        if joined is not None and at >= joined and s.what.startswith("video: a subscriber starts"):
            first.setdefault((s.who, "their video starts to the newcomer"), at)
        if joined is not None and at >= joined and s.what.startswith("publish_layers"):
            first.setdefault((s.who, "publish_layers sent"), at)
    for (_, what), at in first.items():
        label = f"server, the others (last): {what}"
        marks[label] = max(marks.get(label, at), at)
    return marks


def busy_times(
    marks: dict[str, float], long_tasks: list[list[float]], steps: list[ServerStep], origin: float
) -> dict[str, float]:
    """Per span of ``GAPS``: ms the page's main thread spent in long tasks
    and ms the server's loop was stalled (each stall is logged when it ends)."""
    stalls = []
    for s in steps:
        found = STALL.match(s.what) if s.who == "loop" else None
        if found:
            end = s.at - origin
            stalls.append((end - float(found[1]), end))
    tasks = [(start, start + duration) for start, duration in long_tasks]
    busy: dict[str, float] = {}
    present = sorted((name for name in GAPS if name in marks), key=marks.__getitem__)
    for a, b in itertools.pairwise(present):
        span = (marks[a], marks[b])
        busy[f"page in long tasks: {a} → {b}"] = _overlap(tasks, span)
        busy[f"server loop stalled: {a} → {b}"] = _overlap(stalls, span)
    return busy


def _overlap(intervals: list[tuple[float, float]], span: tuple[float, float]) -> float:
    low, high = span
    return sum(max(0.0, min(end, high) - max(start, low)) for start, end in intervals)
