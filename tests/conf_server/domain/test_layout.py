"""The equal-view gallery layout (conf_server/domain/layout.py)."""

from __future__ import annotations

import math

import pytest

from conf_server.domain.layout import best_grid, gallery_layout

VIEWPORTS = {
    "laptop": (1440, 810),
    "full hd": (1920, 1080),
    "4:3 projector": (1024, 768),
    "ultrawide": (3440, 1440),
    "phone portrait": (390, 700),
    "phone landscape": (844, 340),
    "square": (800, 800),
}


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("count", range(1, 101))
def test_every_count_fits_equal_tiles_inside_the_viewport(viewport, count):
    width, height = VIEWPORTS[viewport]
    layout = gallery_layout(count, width, height)
    grid = layout.grid
    # Pages hold every tile, none empty, at most 16 each.
    assert 1 <= layout.per_page <= 16
    assert layout.pages == math.ceil(count / layout.per_page)
    assert sum(len(layout.page_slice(p, count)) for p in range(layout.pages)) == count
    assert all(len(layout.page_slice(p, count)) > 0 for p in range(layout.pages))
    # The grid has room for a full page, without a whole empty row or column.
    assert grid.rows * grid.cols >= layout.per_page
    assert (grid.rows - 1) * grid.cols < layout.per_page
    assert grid.rows * (grid.cols - 1) < layout.per_page or grid.cols == 1
    # Tiles fit, gaps included, and keep 16:9 where the viewport is at least
    # that wide; in a narrower one they are never narrower than the viewport
    # itself, nor than 9:16.
    assert grid.cols * grid.tile_width + 8 * (grid.cols - 1) <= width
    assert grid.rows * grid.tile_height + 8 * (grid.rows - 1) <= height
    shape = grid.tile_width / max(1, grid.tile_height)
    if grid.tile_height >= 40:
        narrowest = max(9 / 16, min(16 / 9, width / height))
        assert narrowest * 0.97 <= shape <= 16 / 9 * 1.03
    # Tiles are never smaller than 160 px wide unless one tile per page is all that fits.
    assert grid.tile_width >= 160 or layout.per_page == 1


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("count", range(1, 17))
def test_the_grid_is_the_best_one(viewport, count):
    width, height = VIEWPORTS[viewport]
    chosen = best_grid(count, width, height)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        fit = min((width - 8 * (cols - 1)) / cols, (height - 8 * (rows - 1)) / rows * 16 / 9)
        assert chosen.tile_width >= math.floor(max(0, fit))


def test_known_layouts_on_a_laptop():
    def shape(n):
        grid = gallery_layout(n, 1440, 810).grid
        return grid.rows, grid.cols

    assert shape(1) == (1, 1)
    assert shape(2) == (1, 2)
    assert shape(4) == (2, 2)
    assert shape(9) == (3, 3)
    assert shape(16) == (4, 4)
    layout = gallery_layout(20, 1440, 810)
    assert (layout.per_page, layout.pages) == (16, 2)
    assert list(layout.page_slice(1, 20)) == [16, 17, 18, 19]
    assert layout.page_of(17) == 1


def test_page_size_is_configurable_and_small_screens_page_earlier():
    assert gallery_layout(20, 1440, 810, page_size=9).per_page == 9
    assert gallery_layout(20, 1440, 810, page_size=9).pages == 3
    phone = gallery_layout(20, 390, 700)
    assert phone.per_page < 16 and phone.grid.tile_width >= 160
    with pytest.raises(ValueError):
        gallery_layout(3, 800, 600, page_size=0)


def test_no_tiles_and_tiny_viewports_do_not_crash():
    empty = gallery_layout(0, 1440, 810)
    assert (empty.per_page, empty.pages) == (1, 1)
    tiny = gallery_layout(50, 100, 50)
    assert tiny.per_page == 1 and tiny.pages == 50
