"""Benchmark of live captions (not a test): what a room's caption process
costs and how soon words appear.

Plays N speakers (default 1, then 2) into one real caption process
(``recording.caption_process.CaptionProcess``, the worker the server runs)
as real Opus packets in real time: each speaker reads sentences synthesized
by espeak-ng, with pauses between them, for ``--seconds``. Prints, per run:

- the worker's CPU time per second of played audio (one core's share a
  captioned room takes), and its peak memory (VmHWM);
- how long after each sentence began its first partial caption came, and
  how long after it ended its final came (medians and worst);
- the word error rate of the finals against what was said.

    .venv/bin/python scripts/bench_captions.py [--seconds 60] [--speakers 1,2] [--busy 0]

``--busy N`` runs N spinning processes meanwhile (a loaded machine).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_support import busy_loops, use_test_helpers  # noqa: E402

use_test_helpers("recording", ".")

import numpy as np  # noqa: E402
from opus_speech import Sent, opus_packets, play, silence, timed  # noqa: E402
from spoken_media import RATE, Voice, synthesize, words_of  # noqa: E402
from word_error import word_error_rate  # noqa: E402

from recording.caption_process import Caption, CaptionOptions, CaptionProcess  # noqa: E402

VOICES = [Voice("en-us+f5", 140), Voice("en-us+f2", 130)]
SENTENCES = [
    "Good morning everyone.",
    "We need to talk about the budget for next year.",
    "Let me share my screen with you.",
    "Thank you for joining the meeting today.",
    "The project is going very well.",
    "Can everyone hear me now?",
]
PAUSE = 1.5  # seconds between two sentences of one speaker


def script(voice: Voice, seconds: float, offset: float, folder: Path):
    """One speaker: (samples, [(start s, end s, text)]) for ``seconds``."""
    pieces, lines, at = [silence(offset)], [], offset
    index = 0
    while at < seconds - 4:
        text = SENTENCES[index % len(SENTENCES)]
        index += 1
        said = synthesize(text, voice, folder)
        lines.append((at, at + said.size / RATE, text))
        pieces += [said, silence(PAUSE)]
        at += said.size / RATE + PAUSE
    pieces.append(silence(2.0))
    return np.concatenate(pieces), lines


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(speakers: int, seconds: float, folder: Path) -> dict[str, float]:
    received: list[tuple[float, Caption]] = []
    process = CaptionProcess(CaptionOptions(), lambda c: received.append((time.monotonic(), c)))
    await process.start()
    assert process.pid is not None
    schedule: list[Sent] = []
    lines = {}
    for stream in range(1, speakers + 1):
        samples, said = script(VOICES[stream - 1], seconds, 0.7 * (stream - 1), folder)
        schedule += timed(stream, opus_packets(samples, 1000 * stream))
        lines[stream] = said
    cpu_before = cpu_seconds(process.pid)
    started = await play(process.audio, schedule)
    played = max(s.at for s in schedule)
    await asyncio.sleep(3.0)  # the last finals
    cpu = cpu_seconds(process.pid) - cpu_before
    memory = peak_memory_mb(process.pid)
    await process.close()

    first_partials, finals_after, rates = [], [], []
    for stream, said in lines.items():
        mine = [(at - started, c) for at, c in received if c.stream == stream]
        for begin, end, _ in said:
            partial = [at for at, c in mine if at >= begin and not c.final]
            final = [at for at, c in mine if at >= end and c.final]
            if partial:
                first_partials.append(partial[0] - begin)
            if final:
                finals_after.append(final[0] - end)
        heard = [w for _, c in mine if c.final for w in c.text.split()]
        rates.append(word_error_rate([w for *_, t in said for w in words_of(t)], heard))
    return {
        "cpu_per_second": cpu / (played + 3.0),
        "memory_mb": memory,
        "first_partial_median": statistics.median(first_partials),
        "first_partial_worst": max(first_partials),
        "final_median": statistics.median(finals_after),
        "final_worst": max(finals_after),
        "wer": statistics.mean(rates),
        "dropped": process.dropped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--speakers", default="1,2")
    parser.add_argument("--busy", type=int, default=0)
    args = parser.parse_args()
    print(
        "speakers | worker CPU per s of audio | peak memory MB | first partial after onset "
        "(median / worst) s | final after the sentence (median / worst) s | WER | dropped"
    )
    with tempfile.TemporaryDirectory() as folder, busy_loops(args.busy):
        for speakers in (int(n) for n in args.speakers.split(",")):
            r = asyncio.run(run(speakers, args.seconds, Path(folder)))
            print(
                f"{speakers} | {r['cpu_per_second']:.3f} | {r['memory_mb']:.0f} | "
                f"{r['first_partial_median']:.2f} / {r['first_partial_worst']:.2f} | "
                f"{r['final_median']:.2f} / {r['final_worst']:.2f} | {r['wer']:.2f} | "
                f"{r['dropped']}"
            )


if __name__ == "__main__":
    main()
