"""The transcript files: WebVTT cues and text lines start with the speaker's
name; names and text cannot break the format."""

from __future__ import annotations

import json

from recording.transcript_files import Segment, remove_stale_temporaries, write_transcript

SEGMENTS = [
    Segment("a", "Ada", 1.5, 3.25, "good morning everyone", 0.8),
    Segment("b", "Bob <b>\n--> x", 3661.0, 3662.5, "hello & bye", None),
    Segment(None, None, 4000.0, 4001.0, "who", 0.1),
]


def test_three_files_with_the_speakers_names(tmp_path):
    names = write_transcript(tmp_path, "rid", "pocketsphinx", "en-US", SEGMENTS)
    assert names == ["transcript.json", "transcript.vtt", "transcript.txt"]
    vtt = (tmp_path / "transcript.vtt").read_text()
    assert vtt.splitlines()[:5] == [
        "WEBVTT",
        "",
        "1",
        "00:00:01.500 --> 00:00:03.250",
        "Ada: good morning everyone",
    ]
    assert "01:01:01.000 --> 01:01:02.500\nBob &lt;b&gt; --&gt; x: hello &amp; bye" in vtt
    assert "Unknown speaker: who" in vtt
    assert vtt.count("-->") == 3  # a name cannot add a cue timing line
    text = (tmp_path / "transcript.txt").read_text().splitlines()
    assert text[0] == "[00:00:01] Ada: good morning everyone"
    assert text[1] == "[01:01:01] Bob <b> --> x: hello & bye"
    document = json.loads((tmp_path / "transcript.json").read_text())
    assert document["segments"][0] == {
        "speaker_id": "a",
        "speaker_name": "Ada",
        "start": 1.5,
        "end": 3.25,
        "text": "good morning everyone",
        "confidence": 0.8,
        "words": [],
    }
    assert not list(tmp_path.glob(".*.tmp"))


def test_temporaries_of_a_killed_run_are_removed(tmp_path):
    (tmp_path / ".transcript.vtt.123.abcd.tmp").write_text("half")
    (tmp_path / "track-001-microphone.webm").write_text("media")
    remove_stale_temporaries(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["track-001-microphone.webm"]
