"""The equal-view gallery layout: one pure function for the live gallery and the
recording composite.

Every tile has the same size and aspect ratio (16:9 by default), whoever is in
it: in-room or remote, speaking or not. For a viewport of ``width`` x
``height`` pixels and ``tile_count`` tiles, :func:`gallery_layout` picks

1. how many tiles a page holds: at most ``page_size`` (16 on a laptop), and
   fewer if the tiles would be narrower than ``min_tile_width``: people are
   better served by a second page than by stamps;
2. for the tiles on one page, the rows x columns that make the tiles largest
   (ties go to fewer columns, then the first found), with ``gap`` pixels between
   tiles.

The web client mirrors this function in ``web_client/js/layout.js``; a test
runs both on the same inputs and compares the answers, so they cannot drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_PAGE_SIZE = 16
DEFAULT_GAP = 8
DEFAULT_ASPECT = 16 / 9
DEFAULT_MIN_TILE_WIDTH = 160


@dataclass(frozen=True)
class Grid:
    """Rows x columns of equal tiles for one page."""

    cols: int
    rows: int
    tile_width: int
    tile_height: int


@dataclass(frozen=True)
class GalleryLayout:
    """How ``tile_count`` tiles are shown: ``per_page`` tiles per page on
    ``pages`` pages, each full page laid out as ``grid``."""

    per_page: int
    pages: int
    grid: Grid

    def page_of(self, index: int) -> int:
        """The page (0-based) that shows the tile at ``index`` in join order."""
        return index // self.per_page

    def page_slice(self, page: int, tile_count: int) -> range:
        """Indexes of the tiles on ``page``."""
        start = page * self.per_page
        return range(start, min(start + self.per_page, tile_count))


def best_grid(
    count: int,
    width: float,
    height: float,
    gap: float = DEFAULT_GAP,
    aspect: float = DEFAULT_ASPECT,
) -> Grid:
    """The grid that gives ``count`` equal tiles of ``aspect`` the largest size
    inside ``width`` x ``height`` with ``gap`` between tiles."""
    n = max(1, count)
    best = Grid(1, n, 0, 0)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        fit_width = (width - gap * (cols - 1)) / cols
        fit_height = (height - gap * (rows - 1)) / rows
        tile_width = math.floor(max(0.0, min(fit_width, fit_height * aspect)))
        if tile_width > best.tile_width:
            best = Grid(cols, rows, tile_width, math.floor(tile_width / aspect))
    return best


def gallery_layout(
    tile_count: int,
    width: float,
    height: float,
    page_size: int = DEFAULT_PAGE_SIZE,
    min_tile_width: int = DEFAULT_MIN_TILE_WIDTH,
    gap: float = DEFAULT_GAP,
    aspect: float = DEFAULT_ASPECT,
) -> GalleryLayout:
    """Pages and grid for ``tile_count`` tiles (see the module docstring)."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    per_page = max(1, min(tile_count, page_size))
    grid = best_grid(per_page, width, height, gap, aspect)
    while per_page > 1 and grid.tile_width < min_tile_width:
        per_page -= 1
        grid = best_grid(per_page, width, height, gap, aspect)
    pages = max(1, math.ceil(tile_count / per_page))
    return GalleryLayout(per_page, pages, grid)
