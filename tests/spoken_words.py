"""Spoken words for tests and benchmarks: sentences synthesized by Debian's
``espeak-ng`` into WAV files the test makes, read back as 48 kHz mono PCM.

The voices are the ones PocketSphinx's US English model recognizes best among
espeak-ng's (measured: the male voices come out at 75-90 % word error rate,
``en-us+f5`` and ``en-us+f2`` at 25-40 %).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

RATE = 48000
FRAME = 960  # 20 ms, as browsers and aiortc send Opus

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(
    ESPEAK is None, reason="espeak-ng is not installed (scripts/setup.sh --test installs it)"
)


@dataclass(frozen=True)
class Voice:
    name: str  # espeak-ng voice
    speed: int  # words per minute


ALICE_VOICE = Voice("en-us+f5", 140)
BOB_VOICE = Voice("en-us+f2", 130)


def words_of(text: str) -> list[str]:
    """The words of a sentence as a recognizer writes them (lower case, no punctuation)."""
    return [w for w in re.sub(r"[^a-z' ]", " ", text.lower()).split() if w]


def synthesize(text: str, voice: Voice, directory: Path) -> np.ndarray:
    """``text`` spoken by ``voice``: mono int16 samples at 48 kHz (a WAV file
    in ``directory`` on the way)."""
    assert ESPEAK is not None
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"speech-{abs(hash((text, voice))):x}.wav"
    subprocess.run(
        [ESPEAK, "-v", voice.name, "-s", str(voice.speed), "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks += [r.to_ndarray().reshape(-1) for r in resampler.resample(frame)]
    chunks += [r.to_ndarray().reshape(-1) for r in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.int16)
