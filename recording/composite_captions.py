"""The transcript as a subtitle track (``mov_text``) in the composite MP4, so
any player shows captions.

Once a recording's transcript is ready, the transcript worker calls
:func:`add_captions` (holding the recording's render lock, so no render or
other transcript touches the composite meanwhile). The composite is remuxed,
never re-encoded: its video and audio packets are copied as they are into a
hidden temporary file beside it, with one subtitle stream whose cues are the
transcript's lines ("Ada: good morning", the same text as the WebVTT cues).
The temporary is checked (it opens, with the same video and audio streams
and the subtitle stream) and synced to disk, then renamed over the composite
atomically. Anything that goes wrong leaves the old composite as it was and
is reported in the transcript status (``captions.state`` ``failed``, the
reason in ``captions.error``); the transcript itself stays ``ready``.

Times: transcript segments are on the recording's clock, where pauses stay
in as gaps; the composite cuts paused time out, so each time is moved onto
the composite's clock the way the renderer itself counts output time.
People may talk at once: a subtitle track shows one sample at a time, so
overlapping lines are split into cues that show every line being spoken.
"""

from __future__ import annotations

import fractions
import itertools
import logging
import os
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from .composite import COMPOSITE_FILE, segments, timeline_end
from .library import is_regular_file
from .transcript_files import Segment, speaker_label

logger = logging.getLogger(__name__)

CAPTION_TIME_BASE = fractions.Fraction(1, 1000)
#: The title of the subtitle stream, as players list it.
CAPTION_TITLE = "Transcript"
#: A mov_text sample holds at most this many bytes of text (16-bit length).
MAX_CUE_BYTES = 0xFFFF
#: The stream needs a style (the encoder turns it into the MP4 sample
#: description); this is FFmpeg's own default one.
ASS_HEADER = b"""[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""
#: Players that render mov_text through ASS (FFmpeg-based ones) read "{...}"
#: as style overrides and "\N" as a line break: a display name is anybody's
#: text, so these become look-alike characters that mean nothing there.
_NEUTRAL = str.maketrans({"{": "\uff5b", "}": "\uff5d", "\\": "\uff3c"})
#: ISO 639-2 codes of the transcript languages (the MP4 language field).
_LANGUAGE_CODES = {"en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita"}

Clock = Callable[[float], float]


@dataclass(frozen=True)
class Cue:
    """One caption sample: ``text`` (lines joined by newlines) from ``start``
    to ``end``, in milliseconds on the composite's clock."""

    start: int
    end: int
    text: str


def composite_clock(record: dict[str, Any]) -> Clock:
    """Recording-clock seconds to composite seconds (paused time cut out, as
    the renderer cuts it)."""
    recorded = segments(timeline_end(record), record.get("pauses", []))
    return lambda t: sum(max(0.0, min(b, t) - a) for a, b in recorded)


def cue_line(segment: Segment) -> str:
    """One transcript line as a caption shows it: ``"Ada: good morning"``."""
    line = f"{speaker_label(segment)}: {' '.join(segment.text.split())}"
    return line.translate(_NEUTRAL)


def caption_cues(transcript: list[Segment], clock: Clock) -> list[Cue]:
    """Non-overlapping cues from ``transcript`` (see the module docstring)."""
    spans = []
    for index, segment in enumerate(transcript):
        if not segment.text.strip():
            continue
        start = round(clock(segment.start) * 1000)
        end = round(clock(max(segment.end, segment.start)) * 1000)
        if end > start:  # empty ones: said in a pause, or shorter than a millisecond
            spans.append((start, end, index, cue_line(segment)))
    bounds = sorted({t for start, end, _, _ in spans for t in (start, end)})
    spans.sort()
    cues: list[Cue] = []
    active: list[tuple[int, int, int, str]] = []
    next_span = 0
    for start, end in itertools.pairwise(bounds):
        active = [span for span in active if span[1] > start]
        while next_span < len(spans) and spans[next_span][0] <= start:
            active.append(spans[next_span])
            next_span += 1
        if not active:
            continue
        text = "\n".join(line for _, _, _, line in sorted(active, key=lambda s: (s[0], s[2])))
        if cues and cues[-1].end == start and cues[-1].text == text:
            cues[-1] = Cue(cues[-1].start, end, text)
        else:
            cues.append(Cue(start, end, text))
    return cues


def _sample(text: str) -> bytes:
    """A mov_text sample: the text's UTF-8 length (16 bits) and the text."""
    data = text.encode("utf-8")
    if len(data) > MAX_CUE_BYTES:
        data = data[:MAX_CUE_BYTES].decode("utf-8", "ignore").encode("utf-8")
    return struct.pack(">H", len(data)) + data


def _cue_packet(cue: Cue, stream: Any) -> Any:
    packet = av.Packet(_sample(cue.text))
    packet.pts = packet.dts = cue.start
    packet.duration = cue.end - cue.start
    packet.time_base = CAPTION_TIME_BASE
    packet.stream = stream
    return packet


def _packet_seconds(packet: Any) -> float:
    assert packet.dts is not None and packet.time_base is not None
    return float(packet.dts * packet.time_base)


def remove_caption_temporaries(directory: Path) -> None:
    """Delete temporaries a killed remux left (call under the render lock)."""
    for path in directory.glob(f".{COMPOSITE_FILE}.captions.*.tmp"):
        path.unlink(missing_ok=True)


def _remux(source: Path, target: Path, cues: list[Cue], language: str | None) -> None:
    """Copy ``source``'s video and audio into ``target`` with the cues as its
    subtitle stream (an older subtitle stream is left out)."""
    with av.open(str(source)) as original:
        kept = [s for s in original.streams if s.type in ("video", "audio")]
        if not kept:
            raise ValueError("the composite has no video or audio stream")
        output: Any = av.open(
            str(target), "w", format="mp4", container_options={"movflags": "+faststart"}
        )
        try:
            copies = {s.index: output.add_stream_from_template(s) for s in kept}
            captions = output.add_stream("mov_text")
            captions.codec_context.subtitle_header = ASS_HEADER
            captions.time_base = CAPTION_TIME_BASE
            captions.metadata["title"] = CAPTION_TITLE
            code = _LANGUAGE_CODES.get((language or "").split("-")[0].lower())
            if code is not None:
                captions.metadata["language"] = code
            waiting = iter(cues)
            cue = next(waiting, None)
            for packet in original.demux(kept):
                if packet.dts is None:
                    continue  # the demuxer's end-of-stream marker
                # Cues go in at their time, so the muxer never holds many back.
                while cue is not None and cue.start / 1000 <= _packet_seconds(packet):
                    output.mux(_cue_packet(cue, captions))
                    cue = next(waiting, None)
                packet.stream = copies[packet.stream.index]
                output.mux(packet)
            while cue is not None:
                output.mux(_cue_packet(cue, captions))
                cue = next(waiting, None)
        finally:
            output.close()


def _check(source: Path, target: Path) -> None:
    """``target`` opens and holds ``source``'s video and audio plus one subtitle stream."""
    with av.open(str(source)) as before, av.open(str(target)) as after:
        wanted = sorted(s.codec_context.name for s in before.streams if s.type != "subtitle")
        kept = sorted(s.codec_context.name for s in after.streams if s.type != "subtitle")
        if kept != wanted or len(after.streams.subtitles) != 1:
            raise ValueError(f"the remuxed composite has streams {kept}, not {wanted}")


def add_captions(
    directory: Path, record: dict[str, Any], transcript: list[Segment], language: str | None
) -> dict[str, Any] | None:
    """Put ``transcript`` into ``directory``'s composite as a subtitle track.

    Returns the ``captions`` part of the transcript status: ``{"state":
    "added", "cues": n, "error": None}``, or ``"failed"`` with the reason
    (the composite is then the one there was), or None when the recording has
    no composite or nobody said anything. Never raises: the transcript is
    ready whatever happens here.
    """
    source = directory / COMPOSITE_FILE
    if not is_regular_file(source):
        return None
    tmp = directory / f".{COMPOSITE_FILE}.captions.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        cues = caption_cues(transcript, composite_clock(record))
        if not cues:
            return None  # nothing was said: the composite stays as rendered
        remove_caption_temporaries(directory)
        _remux(source, tmp, cues, language)
        _check(source, tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename must never expose a file not yet on disk
        finally:
            os.close(fd)
        os.replace(tmp, source)
    except Exception as exc:
        logger.exception("captions for the composite of recording %s failed", record.get("id"))
        return {"state": "failed", "cues": 0, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        tmp.unlink(missing_ok=True)
    return {"state": "added", "cues": len(cues), "error": None}
