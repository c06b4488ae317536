"""The gallery composite: rendered from per-track WebM files, decoded back and checked."""

from __future__ import annotations

from typing import Any

import av
import numpy as np
import pytest
from synthetic_recording import Person, Span, make_recording, write_audio

from conf_server.domain.layout import best_grid
from recording.composite import (
    COMPOSITE_FILE,
    CompositeOptions,
    render_composite,
    segments,
    tile_positions,
)
from recording.composite_media import AudioReader
from recording.library import RecordingLibrary

RED, BLUE, GREEN = (81, 90, 240), (41, 240, 110), (145, 54, 34)
PAUSE = [2.5, 4.0]
END = 6.0
OPTIONS = CompositeOptions()


def _people() -> list[Person]:
    return [
        # During the pause the files hold green video and a 3 kHz tone: the
        # recorder never writes there, but if it did, none of it may show.
        Person(
            "alice",
            "Alice",
            (Span(0.0, 2.5, RED, 440), Span(2.5, 4.0, GREEN, 3000), Span(4.0, END, RED, 440)),
        ),
        Person(
            "bob",
            "Bob Émile",
            (Span(1.0, 2.5, BLUE, 1000), Span(4.0, END, BLUE, 1000)),
        ),
        Person("carol", "Carol", (Span(4.5, END, RED, 1500),), video=False),
    ]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    library = RecordingLibrary(tmp_path_factory.mktemp("composite") / "recordings")
    record = make_recording(library, _people(), END, [PAUSE])
    directory = library.directory(record["id"])
    assert directory is not None
    reported: list[float] = []
    result = render_composite(directory, record, best_grid, OPTIONS, reported.append)
    frames, samples = [], []
    with av.open(str(result.path)) as container:
        codecs = {s.type: s.codec_context.name for s in container.streams}
        duration = container.duration / 1e6
        for frame in container.decode(video=0):
            frames.append((float(frame.time), frame.to_ndarray()))
    with av.open(str(result.path)) as container:
        for frame in container.decode(audio=0):
            samples.append(frame.to_ndarray()[0])
    return {
        "result": result,
        "reported": reported,
        "codecs": codecs,
        "duration": duration,
        "frames": frames,
        "audio": np.concatenate(samples),
        "directory": directory,
    }


def _yuv(packed: np.ndarray, x: int, y: int) -> tuple[float, float, float]:
    """Mean Y, U, V of a 16x16 patch centred on ``x, y`` of a packed yuv420p frame."""
    height = packed.shape[0] * 2 // 3
    width = packed.shape[1]
    u = packed[height : height + height // 4].reshape(height // 2, width // 2)
    v = packed[height + height // 4 :].reshape(height // 2, width // 2)
    y_mean = packed[y - 8 : y + 8, x - 8 : x + 8].mean()
    u_mean = u[y // 2 - 4 : y // 2 + 4, x // 2 - 4 : x // 2 + 4].mean()
    v_mean = v[y // 2 - 4 : y // 2 + 4, x // 2 - 4 : x // 2 + 4].mean()
    return float(y_mean), float(u_mean), float(v_mean)


def _close(found: tuple[float, float, float], want: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 12 for a, b in zip(found, want, strict=True))


def _centres(count: int) -> list[tuple[int, int]]:
    grid = best_grid(count, OPTIONS.width, OPTIONS.height)
    return [
        (x + grid.tile_width // 2, y + grid.tile_height // 3)
        for x, y in tile_positions(grid, count, OPTIONS)
    ]


def _frame_at(rendered: dict[str, Any], output_time: float) -> np.ndarray:
    return min(rendered["frames"], key=lambda f: abs(f[0] - output_time))[1]


def test_segments_cut_the_pauses():
    assert segments(6.0, [[2.5, 4.0]]) == [(0.0, 2.5), (4.0, 6.0)]
    assert segments(6.0, [[0.0, 1.0], [5.5, 7.0]]) == [(1.0, 5.5)]
    assert segments(3.0, []) == [(0.0, 3.0)]


def test_composite_is_h264_and_aac_lasting_the_recorded_time(rendered):
    assert rendered["codecs"] == {"video": "h264", "audio": "aac"}
    assert rendered["result"].path == rendered["directory"] / COMPOSITE_FILE
    recorded = END - (PAUSE[1] - PAUSE[0])
    assert abs(rendered["duration"] - recorded) < 0.05 * recorded
    assert abs(len(rendered["frames"]) / OPTIONS.fps - recorded) < 0.05 * recorded
    assert abs(rendered["audio"].size / 48000 - recorded) < 0.05 * recorded
    reported = rendered["reported"]
    assert reported == sorted(reported) and reported[-1] == 1.0 and len(reported) > 2
    hidden = [p.name for p in rendered["directory"].iterdir() if p.name.startswith(".composite")]
    assert not hidden


def test_tiles_show_who_was_there_in_join_order(rendered):
    # Output 0.5 s = timeline 0.5: Alice alone, one tile.
    (centre,) = _centres(1)
    assert _close(_yuv(_frame_at(rendered, 0.5), *centre), RED)
    # Output 2.0 s = timeline 2.0: Alice left, Bob right.
    alice, bob = _centres(2)
    frame = _frame_at(rendered, 2.0)
    assert _close(_yuv(frame, *alice), RED) and _close(_yuv(frame, *bob), BLUE)
    # Output 3.5 s = timeline 5.0: Carol (no camera) joined: grey tile, centred below.
    alice, bob, carol = _centres(3)
    frame = _frame_at(rendered, 3.5)
    assert _close(_yuv(frame, *alice), RED) and _close(_yuv(frame, *bob), BLUE)
    assert _close(_yuv(frame, *carol), (40, 128, 128))
    assert carol[0] == OPTIONS.width // 2 or abs(carol[0] - OPTIONS.width // 2) < 8


def test_name_is_drawn_on_each_tile(rendered):
    frame = _frame_at(rendered, 3.5)
    grid = best_grid(3, OPTIONS.width, OPTIONS.height)
    for x, y in tile_positions(grid, 3, OPTIONS):
        label = frame[y + grid.tile_height - 40 : y + grid.tile_height - 4, x + 4 : x + 120]
        assert label.max() > 200 and label.min() < 60  # white text on a dark box


def test_nothing_from_the_paused_window(rendered):
    points = [(x, y) for x in range(40, 1280, 80) for y in range(40, 720, 80)]
    for time, frame in rendered["frames"]:
        green = [p for p in points if _close(_yuv(frame, *p), GREEN)]
        assert not green, (time, green[:3])


def test_audio_mixes_everyone_and_cuts_the_pause(rendered):
    audio = rendered["audio"].astype(np.float64)
    level, noise = _spectrum(audio)
    for tone in (440, 1000, 1500):
        assert level(tone) > 100 * noise, tone
    assert level(3000) < level(440) / 100
    # Before Bob came (output 0 to 0.9 s): Alice only.
    level, noise = _spectrum(audio[: int(0.9 * 48000)])
    assert level(440) > 100 * noise and level(1000) < level(440) / 100


def _spectrum(audio: np.ndarray) -> tuple[Any, float]:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    freqs = np.fft.rfftfreq(audio.size, 1 / 48000)

    def level(hz: float) -> float:
        return float(spectrum[(freqs > hz - 20) & (freqs < hz + 20)].max())

    return level, float(np.median(spectrum))


def test_a_long_silence_in_a_track_costs_no_memory(tmp_path):
    path = tmp_path / "track-001-microphone.webm"
    write_audio(path, (Span(0.0, 1.0, tone=440), Span(3600.0, 3601.0, tone=440)))
    reader = AudioReader(path)
    assert np.abs(reader.read(0, 48000)).max() > 0.2
    assert np.abs(reader.read(48000 * 1800, 48000)).max() == 0  # the hour's middle
    assert sum(data.size for _, data in reader._chunks) < 48000 * 2
    assert np.abs(reader.read(48000 * 3600, 48000)).max() > 0.2
    assert np.abs(reader.read(48000 * 3601, 48000)[2000:]).max() == 0  # after the tail
    reader.close()
