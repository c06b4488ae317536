// Where each gallery tile goes, and which videos the client needs: pages of
// equal tiles (layout.js decides how many fit), or a "stage" of large tiles
// (the spotlighted person, the viewer's pinned tile) beside a strip of the
// others, still equal-size and paged. DOM-free, so it can be checked alone.

import { galleryLayout, pageSlice } from "./layout.js";

/** @typedef {import("./layout.js").Grid} Grid */

/**
 * A tile's place inside the gallery's content box, in CSS pixels.
 * @typedef {object} Box
 * @property {number} x
 * @property {number} y
 * @property {number} w
 * @property {number} h
 */

/**
 * @typedef {object} Arrangement
 * @property {number} page the page shown (0-based, kept inside the pages there are)
 * @property {number} pages
 * @property {Map<string, Box>} boxes the tiles on screen, by key; the others are off this page
 * @property {string[]} stage the keys shown large (empty: a plain gallery)
 */

/** Room kept below the tiles for the page controls when there are several pages. */
export const NAV_HEIGHT = 52;

/** The key of a participant's screen-share tile (a camera tile's key is the participant id). */
export const screenKey = (/** @type {string} */ participantId) => `screen:${participantId}`;

/**
 * The participant a tile key belongs to.
 * @param {string} key
 */
export function participantOfKey(key) {
  return key.startsWith("screen:") ? key.slice("screen:".length) : key;
}

/**
 * Lay out `keys` (tiles in their stable order: screen shares, then people in
 * join order) inside `width` x `height`.
 * @param {{keys: string[], stage?: string[], width: number, height: number,
 *   page?: number, pageSize?: number, gap?: number, navHeight?: number}} input
 *   stage: keys to show large (spotlight, pin); unknown keys are ignored
 * @returns {Arrangement}
 */
export function arrangeGallery({ keys, stage = [], width, height, page = 0, pageSize = 16, gap = 8, navHeight = NAV_HEIGHT }) {
  const known = new Set(keys);
  const large = [...new Set(stage)].filter((key) => known.has(key));
  const rest = keys.filter((key) => !large.includes(key));
  const arrange = (/** @type {number} */ h) =>
    large.length && rest.length
      ? withStage(large, rest, { x: 0, y: 0, w: width, h }, page, pageSize, gap)
      : paged(keys, { x: 0, y: 0, w: width, h }, page, pageSize, gap);
  let result = arrange(height);
  if (result.pages > 1 && height - navHeight > 0) result = arrange(height - navHeight);
  return { ...result, stage: large.length && rest.length ? large : [] };
}

/** How many newcomers a view says it has room for, at most (`set_view`'s `later`). */
export const MAX_LATER = 4;

/**
 * How many people who join later the page shown would take at once (their
 * tiles go after `keys`: people are in join order), at most `limit`: what
 * `set_view`'s `later` tells the server, so that it forwards their video
 * before this page has put them in its view.
 * @param {Parameters<typeof arrangeGallery>[0]} input what the page is arranged from
 * @param {number} [limit]
 * @returns {number}
 */
export function roomForLater(input, limit = MAX_LATER) {
  const shown = arrangeGallery(input).page;
  const extra = [];
  for (let n = 1; n <= limit; n++) {
    extra.push(`later:${n}`);
    const result = arrangeGallery({ ...input, keys: [...input.keys, ...extra] });
    if (result.page !== shown || !result.boxes.has(`later:${n}`)) return n - 1;
  }
  return limit;
}

/**
 * Equal tiles, one page of them.
 * @param {string[]} keys
 * @param {Box} area
 * @param {number} page
 * @param {number} pageSize
 * @param {number} gap
 * @returns {{page: number, pages: number, boxes: Map<string, Box>}}
 */
function paged(keys, area, page, pageSize, gap) {
  const layout = galleryLayout(keys.length, area.w, area.h, { pageSize, gap });
  const shown = Math.min(Math.max(0, Math.floor(page)), layout.pages - 1);
  const [start, end] = pageSlice(layout, shown, keys.length);
  const boxes = new Map();
  placeRows(keys.slice(start, end), layout.grid, area, gap, boxes);
  return { page: shown, pages: layout.pages, boxes };
}

/**
 * Large tiles on a stage, the rest in a paged strip beside it (below it on a
 * portrait screen). The stage gets what its tiles can use; the strip at least
 * about a fifth of the space, and everything the stage leaves.
 * @param {string[]} large
 * @param {string[]} rest
 * @param {Box} area
 * @param {number} page
 * @param {number} pageSize
 * @param {number} gap
 */
function withStage(large, rest, area, page, pageSize, gap) {
  const landscape = area.w >= area.h;
  const stageOptions = { pageSize: large.length, minTileWidth: 0, gap };
  /** @type {Box} */
  let stageBox;
  /** @type {Box} */
  let stripBox;
  if (landscape) {
    const minStrip = Math.min(Math.max(176, Math.round(area.w * 0.22)), Math.floor(area.w / 2));
    const grid = galleryLayout(large.length, area.w - minStrip - gap, area.h, stageOptions).grid;
    const stageW = grid.cols * grid.tileWidth + (grid.cols - 1) * gap;
    stageBox = { x: area.x, y: area.y, w: stageW, h: area.h };
    stripBox = { x: area.x + stageW + gap, y: area.y, w: area.w - stageW - gap, h: area.h };
  } else {
    const minStrip = Math.min(Math.max(104, Math.round(area.h * 0.28)), Math.floor(area.h / 2));
    const grid = galleryLayout(large.length, area.w, area.h - minStrip - gap, stageOptions).grid;
    const stageH = grid.rows * grid.tileHeight + (grid.rows - 1) * gap;
    stageBox = { x: area.x, y: area.y, w: area.w, h: stageH };
    stripBox = { x: area.x, y: area.y + stageH + gap, w: area.w, h: area.h - stageH - gap };
  }
  const strip = paged(rest, stripBox, page, pageSize, gap);
  const stageGrid = galleryLayout(large.length, stageBox.w, stageBox.h, stageOptions).grid;
  placeRows(large, stageGrid, stageBox, gap, strip.boxes);
  return strip;
}

/**
 * Put `keys` row by row on `grid`, the block and every row centred in `area`.
 * @param {string[]} keys
 * @param {Grid} grid
 * @param {Box} area
 * @param {number} gap
 * @param {Map<string, Box>} boxes filled in
 */
function placeRows(keys, grid, area, gap, boxes) {
  const { cols, tileWidth: w, tileHeight: h } = grid;
  const rows = Math.ceil(keys.length / cols);
  const blockHeight = rows * h + (rows - 1) * gap;
  const top = area.y + Math.max(0, Math.floor((area.h - blockHeight) / 2));
  for (let row = 0; row < rows; row++) {
    const line = keys.slice(row * cols, (row + 1) * cols);
    const rowWidth = line.length * w + (line.length - 1) * gap;
    const left = area.x + Math.max(0, Math.floor((area.w - rowWidth) / 2));
    line.forEach((key, i) => boxes.set(key, { x: left + i * (w + gap), y: top + row * (h + gap), w, h }));
  }
}
