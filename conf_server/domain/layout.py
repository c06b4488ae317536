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

Tiles are 16:9 (``aspect``) wherever the viewport is at least that wide: a
laptop, a landscape phone, the recording's 1280x720 canvas. A narrower
viewport (a portrait phone, a square window) may take narrower tiles, down to
its own shape but never below ``portrait_aspect`` (9:16, a phone held
upright): on a phone four people fill the screen in two columns of tall tiles
instead of a strip of small 16:9 ones. The videos fill their tiles (the
client crops a camera's sides, never a screen share).

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
#: The narrowest tile shape (width / height) of a portrait viewport: a phone held upright.
DEFAULT_PORTRAIT_ASPECT = 9 / 16


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
    narrowest: float | None = None,
    min_width: float = 0,
) -> Grid:
    """The grid that gives ``count`` equal tiles the largest area inside
    ``width`` x ``height`` with ``gap`` between tiles, preferring tiles at least
    ``min_width`` wide. A tile's shape (width / height) is ``aspect``, or with
    ``narrowest`` anything from ``narrowest`` to ``aspect``: a tile fills its
    cell as far as that range allows. (With one shape the largest tile is the
    widest: the preference changes nothing then.)"""
    n = max(1, count)
    lowest = aspect if narrowest is None else min(narrowest, aspect)
    best = Grid(1, n, 0, 0)
    best_key = (False, 0, 0)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        fit_width = (width - gap * (cols - 1)) / cols
        fit_height = (height - gap * (rows - 1)) / rows
        tile_width = math.floor(max(0.0, min(fit_width, fit_height * aspect)))
        tile_height = math.floor(max(0.0, min(fit_height, tile_width / lowest)))
        key = (tile_width >= min_width, tile_width * tile_height, tile_width)
        if key > best_key:
            best, best_key = Grid(cols, rows, tile_width, tile_height), key
    return best


def narrowest_aspect(width: float, height: float, aspect: float, portrait_aspect: float) -> float:
    """The narrowest tile shape a ``width`` x ``height`` viewport takes: its own
    shape, between ``portrait_aspect`` and ``aspect`` (so ``aspect`` alone
    wherever the viewport is at least that wide)."""
    if height <= 0:
        return aspect
    return min(aspect, max(portrait_aspect, width / height))


def gallery_layout(
    tile_count: int,
    width: float,
    height: float,
    page_size: int = DEFAULT_PAGE_SIZE,
    min_tile_width: int = DEFAULT_MIN_TILE_WIDTH,
    gap: float = DEFAULT_GAP,
    aspect: float = DEFAULT_ASPECT,
    portrait_aspect: float = DEFAULT_PORTRAIT_ASPECT,
) -> GalleryLayout:
    """Pages and grid for ``tile_count`` tiles (see the module docstring)."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    narrowest = narrowest_aspect(width, height, aspect, portrait_aspect)
    per_page = max(1, min(tile_count, page_size))
    grid = best_grid(per_page, width, height, gap, aspect, narrowest, min_tile_width)
    while per_page > 1 and grid.tile_width < min_tile_width:
        per_page -= 1
        grid = best_grid(per_page, width, height, gap, aspect, narrowest, min_tile_width)
    pages = max(1, math.ceil(tile_count / per_page))
    return GalleryLayout(per_page, pages, grid)
