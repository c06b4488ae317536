"""The transcript as the composite's subtitle track (mov_text): the MP4 is
remuxed (video and audio packets unchanged), the cues decode with PyAV to the
transcript's lines with the speakers' names, pauses and overlaps are handled,
and a remux that fails leaves the composite exactly as it was."""

from __future__ import annotations

import fractions
import hashlib
import json
from pathlib import Path
from typing import Any

import av
import numpy as np
from captioned_media import decoded_cues
from spoken_media import ALICE_VOICE, make_spoken_recording, needs_espeak, synthesize

import recording.transcript_worker as transcript_worker
from recording.composite import COMPOSITE_FILE
from recording.composite_captions import (
    Cue,
    add_captions,
    caption_cues,
    composite_clock,
)
from recording.library import RecordingLibrary
from recording.transcript_files import Segment
from recording.transcript_worker import TranscriptOptions, initial_status

SECONDS = 4


def write_composite(path: Path, seconds: int = SECONDS) -> None:
    """A small H.264 + AAC MP4 as the renderer writes it (10 fps, 64x48)."""
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=48000, layout="stereo")
        for i in range(seconds * 10):
            image = np.full((72, 64), (i * 5) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
            frame.pts, frame.time_base = i, fractions.Fraction(1, 10)
            out.mux(video.encode(frame))
            sound = av.AudioFrame.from_ndarray(
                np.zeros((2, 4800), np.float32), format="fltp", layout="stereo"
            )
            sound.sample_rate, sound.pts = 48000, i * 4800
            sound.time_base = fractions.Fraction(1, 48000)
            out.mux(audio.encode(sound))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))


def media_digest(path: Path) -> dict[str, str]:
    """A digest of each video and audio stream's packets and their times in
    milliseconds (unchanged by a remux)."""
    digests: dict[str, Any] = {}
    with av.open(str(path)) as container:
        for packet in container.demux(container.streams.video[0], container.streams.audio[0]):
            if packet.size:
                digest = digests.setdefault(packet.stream.type, hashlib.sha256())
                digest.update(bytes(packet))
                digest.update(str(round(float(packet.pts * packet.time_base) * 1000)).encode())
    return {kind: digest.hexdigest() for kind, digest in digests.items()}


def segment(name: str, start: float, end: float, text: str) -> Segment:
    return Segment(name.lower(), name, start, end, text, 0.9)


def record_for(pauses: list[list[float]] | None = None) -> dict[str, Any]:
    return {
        "id": "r" * 22,
        "started_at": 100.0,
        "ended_at": 100.0 + SECONDS,
        "pauses": pauses or [],
    }


def test_the_transcript_becomes_a_subtitle_track_without_touching_the_media(tmp_path):
    composite = tmp_path / COMPOSITE_FILE
    write_composite(composite)
    media = media_digest(composite)
    transcript = [
        segment("Ada", 0.5, 1.5, "good morning everyone"),
        segment("Bob", 2.0, 3.2, "thank you for joining"),
    ]
    status = add_captions(tmp_path, record_for(), transcript, "en-US")

    assert status == {"state": "added", "cues": 2, "error": None}
    assert decoded_cues(composite) == [
        (0.5, 1.5, "Ada: good morning everyone"),
        (2.0, 3.2, "Bob: thank you for joining"),
    ]
    assert media_digest(composite) == media  # remuxed, not re-encoded
    with av.open(str(composite)) as container:
        assert container.streams.subtitles[0].language == "eng"
    assert [p.name for p in tmp_path.iterdir()] == [COMPOSITE_FILE]  # no temporary left


def test_captions_made_again_replace_the_old_track(tmp_path):
    composite = tmp_path / COMPOSITE_FILE
    write_composite(composite)
    add_captions(tmp_path, record_for(), [segment("Ada", 0.5, 1.0, "first")], "en-US")
    add_captions(tmp_path, record_for(), [segment("Ada", 0.5, 1.0, "second")], "en-US")
    assert decoded_cues(composite) == [(0.5, 1.0, "Ada: second")]


def test_paused_time_is_cut_out_of_the_cue_times_as_from_the_composite():
    clock = composite_clock(record_for(pauses=[[1.0, 3.0]]))
    assert [clock(t) for t in (0.5, 2.0, 3.5)] == [0.5, 1.0, 1.5]
    cues = caption_cues([segment("Ada", 3.25, 3.75, "after the pause")], clock)
    assert cues == [Cue(1250, 1750, "Ada: after the pause")]


def test_people_talking_at_once_share_the_cues_they_overlap_in():
    cues = caption_cues(
        [segment("Ada", 0.0, 2.0, "one two three"), segment("Bob", 1.0, 3.0, "yes indeed")],
        lambda t: t,
    )
    assert cues == [
        Cue(0, 1000, "Ada: one two three"),
        Cue(1000, 2000, "Ada: one two three\nBob: yes indeed"),
        Cue(2000, 3000, "Bob: yes indeed"),
    ]


def test_a_name_cannot_smuggle_style_overrides_into_players():
    (cue,) = caption_cues([segment("{\\an8}Eve\\N", 0.0, 1.0, "hi")], lambda t: t)
    assert "{" not in cue.text and "\\" not in cue.text and "Eve" in cue.text


def test_a_remux_that_fails_keeps_the_composite_as_it_was(tmp_path):
    composite = tmp_path / COMPOSITE_FILE
    composite.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really an mp4 at all")
    before = composite.read_bytes()
    status = add_captions(tmp_path, record_for(), [segment("Ada", 0.5, 1.0, "hello")], "en-US")
    assert status is not None and status["state"] == "failed" and status["error"]
    assert composite.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [COMPOSITE_FILE]


def test_a_recording_without_a_composite_gets_no_captions(tmp_path):
    assert add_captions(tmp_path, record_for(), [segment("Ada", 0.5, 1.0, "x")], "en") is None


def test_a_transcript_without_words_leaves_the_composite_alone(tmp_path):
    composite = tmp_path / COMPOSITE_FILE
    write_composite(composite, seconds=1)
    before = composite.read_bytes()
    assert add_captions(tmp_path, record_for(), [], "en-US") is None
    assert composite.read_bytes() == before


@needs_espeak
def test_the_transcript_worker_puts_the_ready_transcript_into_the_composite(tmp_path):
    library = RecordingLibrary(tmp_path)
    speech = synthesize("Thank you for joining the meeting today.", ALICE_VOICE, tmp_path)
    record = make_spoken_recording(
        library,
        [("a", "Ada", [(0.5, speech)])],
        SECONDS,
        initial_status(True, "pocketsphinx", "en-US"),
    )
    directory = tmp_path / record["id"]
    write_composite(directory / COMPOSITE_FILE)
    record["composite"] = {"state": "ready", "progress": 1.0, "file": COMPOSITE_FILE, "error": None}
    library.save(record)

    transcript_worker.run(str(tmp_path), record["id"], TranscriptOptions())

    status = library.get(record["id"])["transcript"]
    assert status["state"] == "ready" and status["captions"] == {
        "state": "added",
        "cues": status["segments"],
        "error": None,
    }
    document = json.loads((directory / "transcript.json").read_text())
    expected = [f"Ada: {s['text']}" for s in document["segments"]]
    assert [text for _, _, text in decoded_cues(directory / COMPOSITE_FILE)] == expected
