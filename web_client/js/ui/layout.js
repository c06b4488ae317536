// Equal-size gallery geometry. DOM-free, so it can be checked in isolation.

/**
 * @typedef {object} Grid
 * @property {number} cols
 * @property {number} rows
 * @property {number} tileWidth
 * @property {number} tileHeight
 */

/**
 * The column count that gives `count` equal tiles of the given aspect ratio
 * the largest size inside a `width` x `height` box with `gap` between tiles.
 * @param {number} count
 * @param {number} width
 * @param {number} height
 * @param {number} [gap]
 * @param {number} [aspect] width / height
 * @returns {Grid}
 */
export function bestGrid(count, width, height, gap = 8, aspect = 16 / 9) {
  const n = Math.max(1, count);
  /** @type {Grid} */
  let best = { cols: 1, rows: n, tileWidth: 0, tileHeight: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const fitWidth = (width - gap * (cols - 1)) / cols;
    const fitHeight = (height - gap * (rows - 1)) / rows;
    const tileWidth = Math.floor(Math.max(0, Math.min(fitWidth, fitHeight * aspect)));
    if (tileWidth > best.tileWidth) {
      best = { cols, rows, tileWidth, tileHeight: Math.floor(tileWidth / aspect) };
    }
  }
  return best;
}
