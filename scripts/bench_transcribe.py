"""Benchmark of recording transcripts (not a test).

Makes a meeting recording of N people (default 4) taking turns to speak
sentences synthesized by espeak-ng, silence between turns, one Opus track per
person written the way the recorder writes them. Then, pinned to ONE core
(``os.sched_setaffinity``), runs the transcript code the worker runs
(``recording.transcript.Transcriber``: decode, resample, VAD, recognize) with
the default engine, and prints the CPU time per second of meeting: the
real-time factor on one core. The target (issue 18): a 1-hour 4-person
meeting transcribed in at most 1 hour on one core, i.e. a factor <= 1.0.

``--talk 1.0`` makes everyone speak all the time (the worst case: as much
speech as there is track audio); the default, each person speaking in turn,
is a meeting.

    .venv/bin/python scripts/bench_transcribe.py [--seconds 120] [--people 4] [--core 0]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "recording"))
sys.path.insert(0, str(ROOT / "tests"))

from spoken_media import RATE, Voice, synthesize, words_of, write_speech_track  # noqa: E402
from word_error import word_errors  # noqa: E402

from recording.speech_engines import EngineChoice, load_recognizer  # noqa: E402
from recording.transcript import SpeakerTrack, Transcriber  # noqa: E402

VOICES = [
    Voice("en-us+f5", 140),
    Voice("en-us+f2", 130),
    Voice("en-us+f3", 140),
    Voice("en-us+m3", 150),
]
SENTENCES = [
    "Good morning everyone.",
    "Thank you for joining the meeting today.",
    "Please send the report to the team before Friday.",
    "We need to talk about the budget for next year.",
    "I think we should hire two more people.",
    "Let me share my screen with you.",
    "Can everyone hear me now?",
    "The project is going very well.",
    "What do you think about the new design?",
    "We will meet again next week at the same time.",
    "The customer called about the delivery yesterday.",
    "I agree with the plan.",
]
GAP = 0.8  # seconds between turns


def make_tracks(
    directory: Path, people: int, seconds: float, talk: float
) -> tuple[list[SpeakerTrack], dict[str, list[str]]]:
    """The tracks and, per speaker, the words said in order."""
    voices = [VOICES[i % len(VOICES)] for i in range(people)]
    lines = {v: {s: synthesize(s, v, directory) for s in SENTENCES} for v in set(voices)}
    pieces: list[list[tuple[float, object]]] = [[] for _ in range(people)]
    said: dict[str, list[str]] = {f"p{i}": [] for i in range(people)}
    sentences = itertools.cycle(SENTENCES)
    if talk >= 1.0:  # everyone, all the time
        for person, voice in enumerate(voices):
            at = 0.0
            for text in sentences:
                samples = lines[voice][text]
                if at + samples.size / RATE > seconds:
                    break
                pieces[person].append((at, samples))
                said[f"p{person}"] += words_of(text)
                at += samples.size / RATE + 0.3
    else:
        at, person = 0.5, 0
        for text in sentences:
            samples = lines[voices[person]][text]
            if at + samples.size / RATE > seconds:
                break
            pieces[person].append((at, samples))
            said[f"p{person}"] += words_of(text)
            at += samples.size / RATE + GAP
            person = (person + 1) % people
    tracks = []
    for person in range(people):
        path = directory / f"track-{person + 1:03d}-microphone.webm"
        write_speech_track(path, pieces[person], seconds)  # type: ignore[arg-type]
        tracks.append(SpeakerTrack(path, f"p{person}", f"Person {person + 1}", seconds))
    return tracks, said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="meeting length")
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--core", type=int, default=0, help="the one CPU core to run on")
    parser.add_argument("--talk", type=float, default=0.0, help="1.0: everyone talks all the time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        tracks, said = make_tracks(directory, args.people, args.seconds, args.talk)
        os.sched_setaffinity(0, {args.core})
        load_started = time.process_time()
        recognizer = load_recognizer(EngineChoice())
        load_cpu = time.process_time() - load_started
        transcriber = Transcriber(lambda: recognizer)
        wall, cpu = time.perf_counter(), time.process_time()
        segments = transcriber.transcribe(tracks, lambda _fraction: None)
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        transcriber.close()

    errors = words = 0
    for speaker, words_said in said.items():
        heard = [w["word"] for s in segments if s.speaker_id == speaker for w in s.words]
        errors += word_errors(words_said, heard)
        words += len(words_said)
    rtf = cpu / args.seconds
    print(f"engine: pocketsphinx (embedded en-US); one core (cpu {args.core})")
    print(
        f"meeting: {args.seconds:.0f} s, {args.people} people, "
        f"{args.people * args.seconds:.0f} s of track audio, "
        f"{transcriber.speech_seconds:.1f} s of it speech (given to the recognizer)"
    )
    print(f"model load: {load_cpu:.2f} s CPU (once per worker)")
    print(f"transcription: {cpu:.2f} s CPU, {wall:.2f} s wall, {len(segments)} segments")
    print(f"real-time factor per core (CPU s per meeting s): {rtf:.3f}")
    print(f"  per second of speech: {cpu / max(transcriber.speech_seconds, 0.001):.3f}")
    print(
        f"  a 1-hour {args.people}-person meeting like this: "
        f"{rtf * 60:.1f} min on one core (target <= 60)"
    )
    print(f"word error rate (all speakers): {errors / max(words, 1):.3f} over {words} words")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
