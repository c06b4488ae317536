"""The pre-encoded benchmark media is kept between runs (conf_bench/media.py):
a kept file is read back, and a damaged one is made anew."""

from __future__ import annotations

from pathlib import Path

from conf_bench.media import _cached


def test_a_kept_file_is_read_back_and_a_damaged_one_is_made_anew(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "thing.pickle"
    made: list[int] = []

    def make() -> dict[str, int]:
        made.append(1)
        return {"frames": 300}

    assert _cached(path, make) == {"frames": 300} and len(made) == 1
    assert _cached(path, make) == {"frames": 300} and len(made) == 1  # read back
    path.write_bytes(path.read_bytes()[:5])  # cut short, as by a full disk
    assert _cached(path, make) == {"frames": 300} and len(made) == 2
    assert _cached(path, make) == {"frames": 300} and len(made) == 2
    assert [p.name for p in path.parent.iterdir()] == ["thing.pickle"]  # no leftovers
