"""Word error rate: the edit distance (substitutions, insertions, deletions)
between the words said and the words recognized, over the words said. An
alignment, so words in the wrong order count as errors."""

from __future__ import annotations


def word_errors(said: list[str], heard: list[str]) -> int:
    """The fewest word substitutions, insertions and deletions from ``said`` to ``heard``."""
    row = list(range(len(heard) + 1))
    for i, word in enumerate(said, 1):
        previous, row[0] = row[:], i
        for j, other in enumerate(heard, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (word != other))
    return row[len(heard)]


def word_error_rate(said: list[str], heard: list[str]) -> float:
    return word_errors(said, heard) / max(1, len(said))
