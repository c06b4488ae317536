"""What a page received and sent: getStats sampled once a second inside the page,
turned into the figures of one measurement window.

The sampler (an init script) keeps ``window.__netlab.samples``: every second, the
``inbound-rtp``, ``outbound-rtp`` and ``remote-inbound-rtp`` entries of every open
peer connection, the inbound ones labelled with the publishing participant
(``window.meeting.receiveStats()`` maps mids to participants). It also counts the
page's moves into ``reconnecting`` and back into ``joined``. Frames are counted
per second rather than read from ``freezeCount``, which stays 0 when nothing is
decoded at all.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SLOW_FPS = 5.0
PER_SECONDS = 45.0

SAMPLER = """
(() => {
  if (window.top !== window) return;
  const lab = { samples: [], reconnects: 0, joins: 0 };
  window.__netlab = lab;
  let state = null;
  const watch = () => new MutationObserver(() => {
    const now = document.body.dataset.state;
    if (now === state) return;
    state = now;
    if (now === "reconnecting") lab.reconnects += 1;
    if (now === "joined") lab.joins += 1;
  }).observe(document.body, { attributes: true, attributeFilter: ["data-state"] });
  document.addEventListener("DOMContentLoaded", watch);
  const number = (value) => Number(value ?? 0);
  const sample = async () => {
    const meeting = window.meeting;
    if (!meeting) return;
    const from = {};
    try {
      for (const track of await meeting.receiveStats()) from[track.mid] = track.participantId;
    } catch (error) { /* between connections */ }
    const entries = [];
    const pcs = window.__pcs || [];
    for (let index = 0; index < pcs.length; index++) {
      const pc = pcs[index];
      if (pc.connectionState === "closed") continue;
      const report = await pc.getStats();
      report.forEach((s) => {
        const key = `${index}/${s.type}/${s.ssrc}`;
        if (s.type === "inbound-rtp") entries.push({ t: "in", key, kind: s.kind,
          from: from[s.mid] ?? null, packets: number(s.packetsReceived),
          lost: number(s.packetsLost), bytes: number(s.bytesReceived),
          frames: number(s.framesDecoded), concealed: number(s.concealedSamples),
          samples: number(s.totalSamplesReceived) });
        else if (s.type === "outbound-rtp") entries.push({ t: "out", key, kind: s.kind,
          bytes: number(s.bytesSent), target: number(s.targetBitrate),
          limitation: s.qualityLimitationReason ?? null, frames: number(s.framesEncoded),
          height: number(s.frameHeight), nacks: number(s.nackCount), plis: number(s.pliCount) });
        else if (s.type === "remote-inbound-rtp") entries.push({ t: "rr", key, kind: s.kind,
          reports: number(s.reportsReceived ?? s.roundTripTimeMeasurements) });
      });
    }
    lab.samples.push({ at: Date.now(), entries });
    if (lab.samples.length > 600) lab.samples.shift();
  };
  setInterval(() => { void sample(); }, 1000);
})();
"""

# Starts a window: keeps only the newest sample (the baseline) and zeroes the counts.
START_WINDOW = """() => {
  const lab = window.__netlab;
  lab.samples = lab.samples.slice(-1);
  lab.reconnects = 0; lab.joins = 0;
}"""
READ_WINDOW = """() => ({ samples: window.__netlab.samples,
  reconnects: window.__netlab.reconnects, joins: window.__netlab.joins })"""

Sample = dict[str, Any]


@dataclass(frozen=True)
class Received:
    """What one page got from one publisher over a window."""

    fps_median: float
    slow_seconds_per_45s: float
    video_loss_pct: float
    video_kbps: float
    audio_loss_pct: float
    audio_concealed_pct: float
    audio_kbps: float
    frames_decoded: float


@dataclass(frozen=True)
class Sent:
    """What one page's publishing connection did over a window."""

    video_kbps: float
    target_kbps: float
    limitation: str
    receiver_reports: float
    nacks_received: float
    plis_received: float


def _entries(sample: Sample, kind_of_entry: str) -> Iterable[dict[str, Any]]:
    return (e for e in sample["entries"] if e["t"] == kind_of_entry)


def _delta(before: Sample, after: Sample, kind_of_entry: str, field: str,
           keep: Any = None) -> float:  # fmt: skip
    """Sum over streams present in both samples of ``after - before`` (streams
    that appeared or vanished in between, e.g. a reconnect, count 0)."""
    old = {e["key"]: e for e in _entries(before, kind_of_entry) if keep is None or keep(e)}
    total = 0.0
    for entry in _entries(after, kind_of_entry):
        if entry["key"] in old and (keep is None or keep(entry)):
            total += max(0.0, float(entry[field]) - float(old[entry["key"]][field]))
    return total


def _seconds(before: Sample, after: Sample) -> float:
    return max(0.001, (float(after["at"]) - float(before["at"])) / 1000)


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


def received_from(samples: list[Sample], publisher: str) -> Received:
    """Figures of what the page received from ``publisher`` (a participant id)."""

    def video(e: dict[str, Any]) -> bool:
        return bool(e["from"] == publisher and e["kind"] == "video")

    def audio(e: dict[str, Any]) -> bool:
        return bool(e["from"] == publisher and e["kind"] == "audio")

    per_second, slow = [], 0.0
    for before, after in itertools.pairwise(samples):
        fps = _delta(before, after, "in", "frames", video) / _seconds(before, after)
        per_second.append(fps)
        if fps < SLOW_FPS:
            slow += _seconds(before, after)
    if len(samples) < 2:
        return Received(0.0, PER_SECONDS, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    first, last = samples[0], samples[-1]
    window = _seconds(first, last)

    def loss(keep: Any) -> float:
        lost = _delta(first, last, "in", "lost", keep)
        return _pct(lost, lost + _delta(first, last, "in", "packets", keep))

    return Received(
        fps_median=statistics.median(per_second),
        slow_seconds_per_45s=slow * PER_SECONDS / window,
        video_loss_pct=loss(video),
        video_kbps=_delta(first, last, "in", "bytes", video) * 8 / 1000 / window,
        audio_loss_pct=loss(audio),
        audio_concealed_pct=_pct(
            _delta(first, last, "in", "concealed", audio),
            _delta(first, last, "in", "samples", audio),
        ),
        audio_kbps=_delta(first, last, "in", "bytes", audio) * 8 / 1000 / window,
        frames_decoded=_delta(first, last, "in", "frames", video),
    )


def sent(samples: list[Sample]) -> Sent:
    """Figures of the page's outgoing video (all encodings summed)."""
    if len(samples) < 2:
        return Sent(0.0, 0.0, "", 0.0, 0.0, 0.0)

    def video(e: dict[str, Any]) -> bool:
        return bool(e["kind"] == "video")

    first, last = samples[0], samples[-1]
    window = _seconds(first, last)
    targets = [sum(e["target"] for e in _entries(s, "out") if video(e)) for s in samples]
    reasons = Counter(
        e["limitation"] for s in samples for e in _entries(s, "out") if video(e) and e["limitation"]
    )
    return Sent(
        video_kbps=_delta(first, last, "out", "bytes", video) * 8 / 1000 / window,
        target_kbps=statistics.median(targets) / 1000 if targets else 0.0,
        limitation=reasons.most_common(1)[0][0] if reasons else "",
        receiver_reports=_delta(first, last, "rr", "reports", video),
        nacks_received=_delta(first, last, "out", "nacks", video),
        plis_received=_delta(first, last, "out", "plis", video),
    )


#: Seconds in a row a sender must stay under a limit to count as adapted.
ADAPTED_FOR = 3


def seconds_to_adapt(samples: list[Sample], since_ms: float, limit_kbps: float) -> float | None:
    """Seconds from ``since_ms`` (page time, when the uplink limit was set)
    until the page's video send rate went under ``limit_kbps`` and stayed
    there for ``ADAPTED_FOR`` samples in a row; None if it never did."""
    rates: list[tuple[float, float]] = []
    for before, after in itertools.pairwise(s for s in samples if s["at"] >= since_ms):
        kbps = _delta(before, after, "out", "bytes", lambda e: e["kind"] == "video")
        rates.append((float(before["at"]), kbps * 8 / 1000 / _seconds(before, after)))
    for start in range(len(rates) - ADAPTED_FOR + 1):
        if all(kbps < limit_kbps for _, kbps in rates[start : start + ADAPTED_FOR]):
            return max(0.0, (rates[start][0] - since_ms) / 1000)
    return None


def recent_send_kbps(samples: list[Sample]) -> float:
    """The page's video send rate over its last two samples (kbit/s); 0 before two."""
    if len(samples) < 2:
        return 0.0
    before, after = samples[-2], samples[-1]
    sent_bytes = _delta(before, after, "out", "bytes", lambda e: e["kind"] == "video")
    return sent_bytes * 8 / 1000 / _seconds(before, after)
