"""What a page's main thread did, from a Chromium trace (``bench_join.py
--trace FILE``; or ``python scripts/page_trace.py FILE [URL-PART]`` on a
trace already written).

The window is the page's navigation start (the ``navigationStart`` of the
main frame whose URL contains URL-PART) to the mark ``bench: remote video 3
painted`` (the end of the trace if absent). Printed, for the renderer main
thread (``CrRendererMain``) of that page:

- its top-level tasks' time by kind (self time of each traced slice, given to
  its kind: compile, script evaluation, a JS callback by the place of its
  function, style recalc, layout, paint, parse HTML/CSS, GC, other), wall
  and, where the trace has it, CPU time; a layout or style recalc inside JS
  is a forced synchronous one and counted apart;
- the JS functions that took the most time, from the V8 sampling profiler
  (self time, with the native call a sample was in, e.g. a forced layout;
  the sampler counts wall time: a thread waiting for a CPU counts too);
- the longest tasks, each with the page's marks that fall in it
  (``conf: …``, web_client/js/join_marks.js) and what is inside.

Positions in the bundle are mapped back to the sources through the bundle's
source maps (web_client/dist/**.map): ``js/ui/gallery.js:88 <source line>``.
"""

from __future__ import annotations

import bisect
import json
import string
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "web_client" / "dist"

#: The trace categories bench_join.py records (the profiler's for the JS table).
TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "v8.execute",
    "blink.user_timing",
    "toplevel",
    "disabled-by-default-v8.cpu_profiler",
]

END_MARK = "bench: remote video 3 painted"

_KINDS = {
    "v8.compile": "compile",
    "v8.compileModule": "compile",
    "v8.produceModuleCache": "compile",
    "v8.produceCache": "compile",
    "v8.evaluateModule": "script evaluation (modules)",
    "EvaluateScript": "script evaluation",
    "v8.run": "script evaluation",
    "RunMicrotasks": "microtasks (outside any callback)",
    "UpdateLayoutTree": "style recalc",
    "RecalculateStyles": "style recalc",
    "Layout": "layout",
    "Paint": "paint, layerize, commit",
    "PrePaint": "paint, layerize, commit",
    "Layerize": "paint, layerize, commit",
    "UpdateLayer": "paint, layerize, commit",
    "Commit": "paint, layerize, commit",
    "PaintImage": "paint, layerize, commit",
    "ParseHTML": "parse HTML",
    "ParseAuthorStyleSheet": "parse CSS",
    "MinorGC": "GC",
    "MajorGC": "GC",
}
_JS = {"FunctionCall", "EvaluateScript", "v8.evaluateModule", "v8.run"}


#: A profiler sample: when (µs, trace clock), the µs it stands for, its frames leaf first.
Sample = tuple[float, float, list[dict[str, Any]]]


@dataclass
class Slice:
    """One complete (``ph: X``) event of the main thread, with those nested in it."""

    name: str
    start: float  # µs, trace clock
    wall: float  # µs
    cpu: float | None  # µs of thread time, if traced
    args: dict[str, Any]
    children: list[Slice] = field(default_factory=list)

    @property
    def end(self) -> float:
        return self.start + self.wall


class SourceMaps:
    """Bundle positions → ``source:line text`` through dist/'s source maps."""

    _B64 = {
        c: i for i, c in enumerate(string.ascii_uppercase + string.ascii_lowercase + "0123456789+/")
    }

    def __init__(self, dist: Path = DIST) -> None:
        self._dist = dist
        self._maps: dict[str, Any] = {}

    def label(self, url: str, line: int, column: int) -> str:
        """``url`` at 0-based ``line``/``column``, mapped if a map is found."""
        name = url.rsplit("/", 1)[-1]
        found = self._lookup(name, line, column)
        if found is None:
            return f"{name or '(inline)'}:{line + 1}:{column + 1}"
        source, source_line, text = found
        return f"{source}:{source_line + 1} {text.strip()[:70]}"

    def _lookup(self, name: str, line: int, column: int) -> tuple[str, int, str] | None:
        sourcemap = self._load(name)
        if sourcemap is None or line >= len(sourcemap["lines"]):
            return None
        segments = sourcemap["lines"][line]
        at = bisect.bisect_right([s[0] for s in segments], column) - 1
        if at < 0:
            return None
        _, source, source_line = segments[at]
        path = sourcemap["sources"][source]
        text = sourcemap["texts"][source]
        return path, source_line, text[source_line] if source_line < len(text) else ""

    def _load(self, name: str) -> Any:
        if name not in self._maps:
            files = list(self._dist.glob(f"**/{name}.map")) if name else []
            self._maps[name] = self._decode(json.loads(files[0].read_text())) if files else None
        return self._maps[name]

    def _decode(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Per generated line, its segments as (column, source index, source line)."""
        lines: list[list[tuple[int, int, int]]] = []
        source = source_line = source_column = name = 0
        for text in raw["mappings"].split(";"):
            column = 0
            segments = []
            for segment in filter(None, text.split(",")):
                values = self._vlq(segment)
                column += values[0]
                if len(values) >= 4:
                    source += values[1]
                    source_line += values[2]
                    source_column += values[3]
                    if len(values) == 5:
                        name += values[4]
                    segments.append((column, source, source_line))
            lines.append(segments)
        sources = [s.split("web_client/", 1)[-1].lstrip("./") for s in raw["sources"]]
        contents = raw.get("sourcesContent") or [""] * len(sources)
        texts = [(c or "").split("\n") for c in contents]
        return {"lines": lines, "sources": sources, "texts": texts}

    def _vlq(self, text: str) -> list[int]:
        values, value, shift = [], 0, 0
        for char in text:
            digit = self._B64[char]
            value += (digit & 31) << shift
            if digit & 32:
                shift += 5
            else:
                values.append(-(value >> 1) if value & 1 else value >> 1)
                value, shift = 0, 0
        return values


def main_thread_report(path: Path, url_part: str, longest: int = 15) -> str:
    """The tables described above, as Markdown-ish text."""
    events = json.loads(Path(path).read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    pid, tid, navigation = _page(events, url_part)
    main = [e for e in events if e.get("pid") == pid and e.get("tid") == tid]
    marks = sorted(
        (e["ts"], e["name"])
        for e in main
        if e.get("cat", "").startswith("blink.user_timing")
        and e["name"].startswith(("conf: ", "bench: "))
    )
    end = next((ts for ts, name in marks if name == END_MARK), max(e["ts"] for e in main))
    tasks = [t for t in _nest(main) if navigation <= t.start < end]
    maps = SourceMaps()
    samples = _samples(events, pid, tid, navigation, end)
    busy = sum(t.wall for t in tasks)
    cpu = sum(t.cpu or 0 for t in tasks)
    head = (
        f"newcomer's main thread (CrRendererMain, pid {pid}), navigation start → "
        f"{END_MARK.removeprefix('bench: ')} ({ms(end - navigation)} ms): {len(tasks)} tasks,"
        f" {ms(busy)} ms busy (CPU {ms(cpu)} ms); {sum(t.wall > 50_000 for t in tasks)} over 50 ms"
    )
    return "\n".join(
        [
            head,
            *_kinds_table(tasks, maps),
            *_sampled_table(samples, maps),
            *_longest_table(tasks, samples, marks, navigation, maps, longest),
        ]
    )


def _kinds_table(tasks: list[Slice], maps: SourceMaps) -> list[str]:
    """The tasks' self time by kind, wall and CPU."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for task in tasks:
        for kind, (wall, cpu) in _self_times(task, maps).items():
            totals[kind][0] += wall
            totals[kind][1] += cpu
    rows = sorted(totals.items(), key=lambda kv: -kv[1][0])[:25]
    out = [
        "",
        "| ms (wall) | ms (CPU) | kind (self time of the top-level tasks) |",
        "|---|---|---|",
    ]
    return out + [f"| {ms(w)} | {ms(c)} | {kind} |" for kind, (w, c) in rows if w >= 1000]


def _sampled_table(samples: list[Sample], maps: SourceMaps) -> list[str]:
    """The JS functions the profiler's samples were in most (wall time)."""
    if not samples:
        return []
    hot = _hottest(samples, maps)
    out = [
        "",
        "| ms (sampled) | JS function (self time; → the native call it was in) |",
        "|---|---|",
    ]
    return out + [f"| {ms(us)} | {label} |" for label, us in hot.most_common(20) if us >= 1000]


def _longest_table(
    tasks: list[Slice],
    samples: list[Sample],
    marks: list[tuple[float, str]],
    navigation: float,
    maps: SourceMaps,
    longest: int,
) -> list[str]:
    """The longest tasks: when, how long, the page's marks in them, what is inside."""
    out = [
        "",
        f"{longest} longest tasks:",
        "| at ms | ms (wall) | ms (CPU) | marks in it | inside (self ms) |",
        "|---|---|---|---|---|",
    ]
    for task in sorted(tasks, key=lambda t: -t.wall)[:longest]:
        kinds = sorted(_self_times(task, maps).items(), key=lambda kv: -kv[1][0])
        what = "; ".join(f"{kind} {ms(w)}" for kind, (w, _) in kinds[:3] if w >= 500)
        inside = [s for s in samples if task.start <= s[0] < task.end]
        hot = _hottest(inside, maps).most_common(3)
        hottest = "; ".join(f"{label} {ms(us)}" for label, us in hot if us >= 2000)
        named = ", ".join(n.removeprefix("conf: ") for t, n in marks if task.start <= t <= task.end)
        cpu = ms(task.cpu) if task.cpu is not None else "?"
        what += f" — sampled: {hottest}" if hottest else ""
        at = ms(task.start - navigation)
        out.append(f"| {at} | {ms(task.wall)} | {cpu} | {named} | {what} |")
    return out


def _hottest(samples: list[Sample], maps: SourceMaps) -> Counter[str]:
    """µs of samples per JS function (see ``_sample_label``)."""
    hot: Counter[str] = Counter()
    for _, us, frames in samples:
        hot[_sample_label(frames, maps)] += int(us)
    return hot


def ms(us: float) -> str:
    """µs as whole ms."""
    return f"{us / 1000:.0f}"


def _page(events: list[dict[str, Any]], url_part: str) -> tuple[int, int, float]:
    """(pid, tid, navigation start) of the page whose main frame's URL has ``url_part``."""
    for e in events:
        if e.get("name") != "navigationStart":
            continue
        if url_part in e["args"]["data"].get("documentLoaderURL", ""):
            return e["pid"], e["tid"], e["ts"]
    raise SystemExit(f"no navigationStart of a URL with {url_part!r} in the trace")


def _nest(events: list[dict[str, Any]]) -> list[Slice]:
    """The top-level slices of one thread's complete events, with their nesting."""
    slices = [
        Slice(e["name"], e["ts"], e["dur"], e.get("tdur"), e.get("args", {}))
        for e in events
        if e.get("ph") == "X" and "dur" in e
    ]
    slices.sort(key=lambda s: (s.start, -s.wall))
    top: list[Slice] = []
    stack: list[Slice] = []
    for s in slices:
        while stack and stack[-1].end <= s.start:
            stack.pop()
        (stack[-1].children if stack else top).append(s)
        stack.append(s)
    return top


def _self_times(task: Slice, maps: SourceMaps) -> dict[str, tuple[float, float]]:
    """Self time (wall, CPU) of each slice under ``task``, given to its kind."""
    found: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    def walk(s: Slice, kind: str, in_js: bool) -> None:
        own = _kind(s, maps, in_js) or kind
        found[own][0] += s.wall - sum(c.wall for c in s.children)
        if s.cpu is not None:
            found[own][1] += max(0.0, s.cpu - sum(c.cpu or 0 for c in s.children))
        for child in s.children:
            walk(child, own, in_js or s.name in _JS)

    walk(task, "other (tasks' own, mojo, V8 interrupts)", False)
    return {k: (w, c) for k, (w, c) in found.items()}


def _kind(s: Slice, maps: SourceMaps, in_js: bool) -> str | None:
    if s.name == "FunctionCall":
        data = s.args.get("data", {})
        url = data.get("url", "")
        if not url:
            return "JS: the benchmark's own hooks"
        # The trace counts lines and columns from 1 here.
        line, column = data.get("lineNumber", 1) - 1, data.get("columnNumber", 1) - 1
        return "JS: " + maps.label(url, line, column)
    if s.name == "EventDispatch":
        return f"event dispatch ({s.args.get('data', {}).get('type', '?')}), outside JS"
    if s.name.startswith(("V8.GC", "BlinkGC", "CppGC")) or _KINDS.get(s.name) == "GC":
        return "GC"
    kind = _KINDS.get(s.name)
    if kind in ("layout", "style recalc") and in_js:
        return f"{kind}, forced by JS"
    if kind == "compile":
        url = s.args.get("data", {}).get("url") or s.args.get("fileName", "")
        return f"compile {url.rsplit('/', 1)[-1]}".rstrip()
    return kind


def _samples(
    events: list[dict[str, Any]], pid: int, tid: int, start: float, end: float
) -> list[Sample]:
    """The V8 profiler's samples of the main thread between ``start`` and ``end``:
    (time, µs it stands for, its frames leaf first)."""
    first = next(
        (e for e in events if e.get("name") == "Profile" and (e["pid"], e["tid"]) == (pid, tid)),
        None,
    )
    if first is None:
        return []
    profile = first.get("id")
    nodes: dict[int, dict[str, Any]] = {}
    times: list[float] = []
    ids: list[int] = []
    at = first["args"]["data"]["startTime"]
    for e in events:
        if e.get("name") != "ProfileChunk" or e["pid"] != pid or e.get("id") != profile:
            continue
        data = e["args"]["data"]
        chunk = data.get("cpuProfile", {})
        for node in chunk.get("nodes", []):
            nodes[node["id"]] = node
        for node_id, delta in zip(
            chunk.get("samples", []), data.get("timeDeltas", []), strict=True
        ):
            at += delta
            times.append(at)
            ids.append(node_id)
    out = []
    for i, (t, node_id) in enumerate(zip(times, ids, strict=True)):
        if not start <= t < end or i + 1 == len(times):
            continue
        frames = []
        node = nodes.get(node_id)
        while node is not None:
            frames.append(node["callFrame"])
            node = nodes.get(node.get("parent", -1))
        if frames and frames[0].get("functionName") not in ("(idle)", "(program)", "(root)"):
            out.append((t, min(times[i + 1] - t, 10_000.0), frames))
    return out


def _sample_label(frames: list[dict[str, Any]], maps: SourceMaps) -> str:
    """The innermost frame with a script URL, and the native call the sample was in."""
    leaf = frames[0].get("functionName") or "?"
    for frame in frames:
        url = frame.get("url", "")
        if url:
            label = maps.label(url, frame.get("lineNumber", 0), frame.get("columnNumber", 0))
            return label if frame is frames[0] else f"{label} → {leaf}"
    return leaf


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    print(main_thread_report(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) == 3 else "name=Late"))
