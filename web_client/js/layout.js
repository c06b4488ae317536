// The equal-view gallery layout: a line-by-line mirror of conf_server/domain/layout.py
// (`gallery_layout`, `best_grid`), so the live gallery and the recording
// composite lay tiles out the same way. DOM-free. Same algorithm, same
// tie-breaking (fewer columns win a tie: only a strictly better tile replaces
// the best so far), same rounding (floor). tests/conf_server/domain/test_layout_mirror.py
// runs both on the same inputs and compares the answers: change them together.

export const DEFAULT_PAGE_SIZE = 16;
export const DEFAULT_GAP = 8;
export const DEFAULT_ASPECT = 16 / 9;
export const DEFAULT_MIN_TILE_WIDTH = 160;
/** The narrowest tile shape (width / height) of a portrait viewport: a phone held upright. */
export const DEFAULT_PORTRAIT_ASPECT = 9 / 16;

/**
 * Rows x columns of equal tiles for one page.
 * @typedef {object} Grid
 * @property {number} cols
 * @property {number} rows
 * @property {number} tileWidth
 * @property {number} tileHeight
 */

/**
 * How `tileCount` tiles are shown: `perPage` tiles per page on `pages` pages,
 * each full page laid out as `grid`.
 * @typedef {object} GalleryLayout
 * @property {number} perPage
 * @property {number} pages
 * @property {Grid} grid
 */

/**
 * The grid that gives `count` equal tiles the largest area inside `width` x
 * `height` with `gap` between tiles, preferring tiles at least `minWidth`
 * wide. A tile's shape (width / height) is `aspect`, or with `narrowest`
 * anything from `narrowest` to `aspect`: a tile fills its cell as far as that
 * range allows. (With one shape the largest tile is the widest: the preference
 * changes nothing then.)
 * @param {number} count
 * @param {number} width
 * @param {number} height
 * @param {number} [gap]
 * @param {number} [aspect] width / height
 * @param {number | null} [narrowest] the narrowest shape allowed (null: `aspect` only)
 * @param {number} [minWidth]
 * @returns {Grid}
 */
export function bestGrid(count, width, height, gap = DEFAULT_GAP, aspect = DEFAULT_ASPECT, narrowest = null, minWidth = 0) {
  const n = Math.max(1, count);
  const lowest = narrowest === null ? aspect : Math.min(narrowest, aspect);
  /** @type {Grid} */
  let best = { cols: 1, rows: n, tileWidth: 0, tileHeight: 0 };
  /** @type {[boolean, number, number]} wide enough, area, width: compared in this order */
  let bestKey = [false, 0, 0];
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const fitWidth = (width - gap * (cols - 1)) / cols;
    const fitHeight = (height - gap * (rows - 1)) / rows;
    const tileWidth = Math.floor(Math.max(0, Math.min(fitWidth, fitHeight * aspect)));
    const tileHeight = Math.floor(Math.max(0, Math.min(fitHeight, tileWidth / lowest)));
    /** @type {[boolean, number, number]} */
    const key = [tileWidth >= minWidth, tileWidth * tileHeight, tileWidth];
    if (isBetter(key, bestKey)) {
      best = { cols, rows, tileWidth, tileHeight };
      bestKey = key;
    }
  }
  return best;
}

/**
 * Python's tuple comparison `key > than` for [boolean, number, number].
 * @param {[boolean, number, number]} key
 * @param {[boolean, number, number]} than
 */
function isBetter(key, than) {
  if (key[0] !== than[0]) return key[0];
  if (key[1] !== than[1]) return key[1] > than[1];
  return key[2] > than[2];
}

/**
 * The narrowest tile shape a `width` x `height` viewport takes: its own shape,
 * between `portraitAspect` and `aspect` (so `aspect` alone wherever the
 * viewport is at least that wide).
 * @param {number} width
 * @param {number} height
 * @param {number} aspect
 * @param {number} portraitAspect
 */
export function narrowestAspect(width, height, aspect, portraitAspect) {
  if (height <= 0) return aspect;
  return Math.min(aspect, Math.max(portraitAspect, width / height));
}

/**
 * Pages and grid for `tileCount` tiles: a page holds at most `pageSize` tiles,
 * and fewer if the tiles would be narrower than `minTileWidth` (a second page
 * serves people better than stamps); the grid makes the tiles of a full page
 * as large as possible. Tiles are `aspect` (16:9) wherever the viewport is at
 * least that wide; a narrower one (a portrait phone) may take narrower tiles,
 * down to its own shape but never below `portraitAspect` (9:16).
 * @param {number} tileCount
 * @param {number} width
 * @param {number} height
 * @param {{pageSize?: number, minTileWidth?: number, gap?: number, aspect?: number, portraitAspect?: number}} [options]
 * @returns {GalleryLayout}
 * @throws {RangeError} if `pageSize` is below 1
 */
export function galleryLayout(
  tileCount,
  width,
  height,
  {
    pageSize = DEFAULT_PAGE_SIZE,
    minTileWidth = DEFAULT_MIN_TILE_WIDTH,
    gap = DEFAULT_GAP,
    aspect = DEFAULT_ASPECT,
    portraitAspect = DEFAULT_PORTRAIT_ASPECT,
  } = {},
) {
  if (pageSize < 1) throw new RangeError("pageSize must be at least 1");
  const narrowest = narrowestAspect(width, height, aspect, portraitAspect);
  let perPage = Math.max(1, Math.min(tileCount, pageSize));
  let grid = bestGrid(perPage, width, height, gap, aspect, narrowest, minTileWidth);
  while (perPage > 1 && grid.tileWidth < minTileWidth) {
    perPage -= 1;
    grid = bestGrid(perPage, width, height, gap, aspect, narrowest, minTileWidth);
  }
  const pages = Math.max(1, Math.ceil(tileCount / perPage));
  return { perPage, pages, grid };
}

/**
 * The page (0-based) that shows the tile at `index` in join order.
 * @param {GalleryLayout} layout
 * @param {number} index
 */
export function pageOf(layout, index) {
  return Math.floor(index / layout.perPage);
}

/**
 * Indexes [start, end) of the tiles on `page`.
 * @param {GalleryLayout} layout
 * @param {number} page
 * @param {number} tileCount
 * @returns {[number, number]}
 */
export function pageSlice(layout, page, tileCount) {
  const start = page * layout.perPage;
  return [start, Math.min(start + layout.perPage, tileCount)];
}
