"""What every live-caption test checks of the captions one listener got from
one speaker: all of them theirs (id and name), words shown while a sentence
is spoken (a partial caption before each final), and how well the finals
match what was said; and which caption worker processes run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spoken_words import words_of
from word_error import word_error_rate


def check_captions(
    captions: list[dict[str, Any]], speaker_id: str, speaker_name: str, sentences: list[str]
) -> tuple[list[str], float]:
    """Assert the above of ``captions`` (in arrival order); returns the words
    of the finals and their word error rate against ``sentences``."""
    assert {c["participant_id"] for c in captions} == {speaker_id}
    assert {c["name"] for c in captions} == {speaker_name}
    finals = [c for c in captions if c["final"]]
    for final in finals:
        before = [c for c in captions[: captions.index(final)] if c["id"] == final["id"]]
        assert before and not any(c["final"] for c in before), final
    heard = [w for c in finals for w in words_of(c["text"])]
    said = [w for text in sentences for w in words_of(text)]
    return heard, word_error_rate(said, heard)


def caption_workers_of(parent_pid: int) -> list[int]:
    """Process ids of the live caption workers (``python -m
    recording.caption_worker``) that ``parent_pid`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == parent_pid and state != "Z" and "recording.caption_worker" in command:
            found.append(int(entry.name))
    return found
