"""The equal-view layout on phones (issue 19, point 5): in a portrait viewport
(390x844, 360x640 and their galleries under the control bar) 1 to 9 tiles are
on one page, fit, do not overlap and fill most of the screen with tall tiles;
held sideways (844x390) the tiles stay 16:9. Checked for the server's function
and for the web client's placement (web_client/js/gallery_view.js, run in node),
which is what a phone shows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from test_layout_mirror import run_node

from conf_server.domain.layout import Grid, gallery_layout

GALLERY_VIEW_JS = Path(__file__).resolve().parents[3] / "web_client" / "js" / "gallery_view.js"

#: Whole phone screens, and the gallery's content box on them (the screen less
#: the phone's 64 px control bar and the gallery's 8 px padding all round).
PORTRAIT = {
    "390x844": (390, 844),
    "360x640": (360, 640),
    "390x844 gallery": (374, 764),
    "360x640 gallery": (344, 560),
}
LANDSCAPE = {"844x390": (844, 390), "844x390 gallery": (828, 310)}
COUNTS = range(1, 10)
GAP = 8
#: "Well used": the tiles cover at least this share of a portrait viewport.
WELL_USED = 0.75


def boxes(grid: Grid, count: int, width: float, height: float) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of each tile, rows centred as the client places them."""
    w, h = grid.tile_width, grid.tile_height
    rows = math.ceil(count / grid.cols)
    top = max(0, math.floor((height - (rows * h + (rows - 1) * GAP)) / 2))
    out = []
    for row in range(rows):
        in_row = min(grid.cols, count - row * grid.cols)
        left = max(0, math.floor((width - (in_row * w + (in_row - 1) * GAP)) / 2))
        out += [(left + i * (w + GAP), top + row * (h + GAP), w, h) for i in range(in_row)]
    return out


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def check_placement(placed: list[tuple[float, ...]], width: float, height: float) -> None:
    for x, y, w, h in placed:
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height, (x, y, w, h)
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            assert not overlap(a, b), (a, b)


@pytest.mark.parametrize("viewport", PORTRAIT)
@pytest.mark.parametrize("count", COUNTS)
def test_a_portrait_phone_shows_up_to_nine_on_one_page_filling_the_screen(viewport, count):
    width, height = PORTRAIT[viewport]
    layout = gallery_layout(count, width, height)
    grid = layout.grid
    assert layout.pages == 1, f"{count} tiles need {layout.pages} pages"
    assert grid.tile_width >= 160  # no stamps: two columns at most on a phone
    placed = boxes(grid, count, width, height)
    assert len(placed) == count
    check_placement(placed, width, height)
    used = count * grid.tile_width * grid.tile_height / (width * height)
    assert used >= WELL_USED, f"{count} tiles cover {used:.0%} of {viewport}: {grid}"
    # Never narrower than 9:16, never wider than 16:9.
    assert 9 / 16 * 0.97 <= grid.tile_width / grid.tile_height <= 16 / 9 * 1.01


@pytest.mark.parametrize("viewport", PORTRAIT)
def test_portrait_tiles_are_taken_where_they_fill_more_than_16_9(viewport):
    width, height = PORTRAIT[viewport]
    one = gallery_layout(1, width, height).grid
    assert one.tile_width == width and one.tile_height > 1.5 * one.tile_width
    gained = []
    for count in COUNTS:
        tall = gallery_layout(count, width, height).grid
        flat = gallery_layout(count, width, height, portrait_aspect=16 / 9).grid
        assert flat.tile_width / flat.tile_height > 1.7
        area, flat_area = tall.tile_width * tall.tile_height, flat.tile_width * flat.tile_height
        assert area >= flat_area
        gained.append(area / flat_area)
    # 16:9 alone leaves most of a phone empty with few people.
    assert gained[0] > 1.8 and max(gained) == gained[0]


@pytest.mark.parametrize("viewport", LANDSCAPE)
@pytest.mark.parametrize("count", COUNTS)
def test_a_phone_held_sideways_keeps_16_9_tiles(viewport, count):
    width, height = LANDSCAPE[viewport]
    layout = gallery_layout(count, width, height)
    grid = layout.grid
    assert layout.pages == 1
    assert abs(grid.tile_width / grid.tile_height - 16 / 9) < 0.03
    check_placement(boxes(grid, count, width, height), width, height)


RUNNER = """
import { readFileSync } from "node:fs";
const { arrangeGallery } = await import(process.argv[2]);
const cases = JSON.parse(readFileSync(process.argv[3], "utf8"));
const out = cases.map(([count, width, height, stage]) => {
  const keys = Array.from({ length: count }, (_, i) => `p${i}`);
  const result = arrangeGallery({ keys, stage, width, height });
  const boxes = [...result.boxes.values()].map((b) => [b.x, b.y, b.w, b.h]);
  return { pages: result.pages, boxes };
});
console.log(JSON.stringify(out));
"""


def test_the_web_client_places_phone_galleries_inside_without_overlap(tmp_path):
    sizes = [PORTRAIT["390x844 gallery"], PORTRAIT["360x640 gallery"], LANDSCAPE["844x390 gallery"]]
    cases: list[list[object]] = []
    for width, height in sizes:
        for count in COUNTS:
            cases.append([count, width, height, []])
            if count > 1:
                cases.append([count, width, height, ["p0"]])  # one pinned: a stage and a strip
    answers = run_node(tmp_path, cases, GALLERY_VIEW_JS, RUNNER)
    for (count, width, height, stage), answer in zip(cases, answers, strict=True):
        placed = [tuple(box) for box in answer["boxes"]]  # type: ignore[attr-defined]
        context = f"{count} tiles in {width}x{height}, stage {stage}"
        check_placement(placed, width, height)  # type: ignore[arg-type]
        if not stage:
            assert answer["pages"] == 1 and len(placed) == count, context
            assert len({(w, h) for _, _, w, h in placed}) == 1, context  # equal tiles
            used = sum(w * h for _, _, w, h in placed) / (width * height)  # type: ignore[operator]
            floor = WELL_USED if width < height else 0.45
            assert used >= floor, f"{context}: {used:.0%}"
