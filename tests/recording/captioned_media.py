"""Reading the captions (the mov_text subtitle stream) back out of an MP4."""

from __future__ import annotations

from pathlib import Path

import av

from recording.composite_captions import CAPTION_TITLE


def decoded_cues(path: Path) -> list[tuple[float, float, str]]:
    """(start, end, text) of every cue, decoded from the file's subtitle stream."""
    cues = []
    with av.open(str(path)) as container:
        (stream,) = container.streams.subtitles
        assert stream.codec_context.name == "mov_text"
        assert stream.metadata.get("title", stream.metadata.get("name")) == CAPTION_TITLE
        for packet in container.demux(stream):
            if packet.dts is None or packet.pts is None:
                continue
            for subtitle in stream.codec_context.decode(packet):
                text = subtitle.dialogue.decode()
                if text:  # the muxer fills gaps between cues with empty samples
                    start = float(packet.pts * packet.time_base)
                    cues.append((start, start + float(packet.duration * packet.time_base), text))
    return cues
