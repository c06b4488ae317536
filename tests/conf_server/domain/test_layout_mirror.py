"""The web client's gallery layout (web_client/js/layout.js) is a mirror of
conf_server/domain/layout.py: node runs the JavaScript on a grid of inputs and every
answer must equal the Python one exactly (pages, rows, columns, tile size)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from node_script import node_output

from conf_server.domain.layout import gallery_layout

LAYOUT_JS = Path(__file__).resolve().parents[3] / "web_client" / "js" / "layout.js"

VIEWPORTS = [
    (1440, 810),  # laptop
    (1920, 1080),  # full hd
    (1024, 768),  # 4:3 projector
    (3440, 1440),  # ultrawide
    (390, 700),  # phone portrait
    (374, 672),  # a 390x844 phone's gallery (portrait tiles)
    (344, 560),  # a 360x640 phone's gallery
    (828, 310),  # an 844x390 phone's gallery, held sideways
    (700, 900),  # a tall window: tiles between its own shape and 16:9
    (844, 340),  # phone landscape
    (800, 800),  # square
    (1264, 628),  # a 1280x720 browser window minus control bar and padding
    (333.5, 187.25),  # fractional sizes (CSS pixels need not be whole)
    (100, 50),  # tiny
]
COUNTS = range(1, 101)
PAGE_SIZES = [9, 16]

RUNNER = """
import { readFileSync } from "node:fs";
const { galleryLayout } = await import(process.argv[2]);
const cases = JSON.parse(readFileSync(process.argv[3], "utf8"));
const out = cases.map(([count, width, height, options]) => {
  const layout = galleryLayout(count, width, height, options);
  const g = layout.grid;
  return [layout.perPage, layout.pages, g.cols, g.rows, g.tileWidth, g.tileHeight];
});
console.log(JSON.stringify(out));
"""


def run_node(
    tmp_path: Path, cases: list[list[object]], module: Path = LAYOUT_JS, runner: str = RUNNER
) -> Any:
    """``runner`` (an ES module) in node on ``cases``, given ``module``'s URL
    and the cases' file; its printed JSON."""
    script = tmp_path / "runner.mjs"
    script.write_text(runner)
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(cases))
    return node_output([str(script), module.as_uri(), str(data)])


def python_answer(count: int, width: float, height: float, options: dict[str, float]) -> list[int]:
    layout = gallery_layout(
        count,
        width,
        height,
        page_size=int(options.get("pageSize", 16)),
        min_tile_width=int(options.get("minTileWidth", 160)),
        gap=options.get("gap", 8),
        aspect=options.get("aspect", 16 / 9),
        portrait_aspect=options.get("portraitAspect", 9 / 16),
    )
    g = layout.grid
    return [layout.per_page, layout.pages, g.cols, g.rows, g.tile_width, g.tile_height]


def test_javascript_layout_equals_python_layout(tmp_path):
    cases: list[list[object]] = []
    for width, height in VIEWPORTS:
        for count in COUNTS:
            for page_size in PAGE_SIZES:
                cases.append([count, width, height, {"pageSize": page_size}])
            # The defaults (page size 16) when no options are given.
            cases.append([count, width, height, {}])
    # Other gaps, aspects and minimum widths go through the same code.
    for count in (1, 2, 3, 5, 7, 12, 16, 25, 49):
        cases.append([count, 1280, 720, {"gap": 0, "aspect": 4 / 3}])
        cases.append([count, 1280, 720, {"gap": 12, "minTileWidth": 240, "pageSize": 25}])
        cases.append([count, 300, 600, {"minTileWidth": 0, "pageSize": 49}])
        cases.append([count, 360, 720, {"portraitAspect": 3 / 4, "minTileWidth": 120}])
        cases.append([count, 360, 720, {"portraitAspect": 16 / 9}])  # 16:9 everywhere
    answers = run_node(tmp_path, cases)
    assert len(answers) == len(cases)
    mismatches = [
        (case, got, python_answer(*case))  # type: ignore[arg-type]
        for case, got in zip(cases, answers, strict=True)
        if got != python_answer(*case)  # type: ignore[arg-type]
    ]
    assert not mismatches, f"{len(mismatches)} differ, e.g. (case, js, python): {mismatches[:5]}"


def test_no_tiles_and_a_bad_page_size_behave_alike(tmp_path):
    assert run_node(tmp_path, [[0, 1440, 810, {}]]) == [python_answer(0, 1440, 810, {})]
    script = tmp_path / "bad.mjs"
    script.write_text(
        "const { galleryLayout } = await import(process.argv[2]);\n"
        "try { galleryLayout(3, 800, 600, { pageSize: 0 }); console.log('\"accepted\"'); }\n"
        "catch (error) { console.log(JSON.stringify(error.name)); }\n"
    )
    assert node_output([str(script), LAYOUT_JS.as_uri()]) == "RangeError"
    with pytest.raises(ValueError):
        gallery_layout(3, 800, 600, page_size=0)
