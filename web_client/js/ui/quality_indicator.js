// What the connection-quality measurements look like on the page: a
// three-bar indicator on every tile (ours: our own connection), a notice on a
// tile whose video the server paused for us, and a page-level notice while any
// is paused. The level is in the bars' count and in words (title, aria-label),
// never in colour alone.

import { t } from "../i18n.js";
import { h } from "./dom.js";

/** @typedef {import("../connection_quality.js").Quality} Quality */
/** @typedef {import("../connection_quality.js").Level} Level */
/** @typedef {import("../session.js").MeetingSession} MeetingSession */
/** @typedef {import("./gallery.js").Gallery} Gallery */
/** @typedef {import("./status.js").StatusArea} StatusArea */

/** What a paused tile says instead of showing a frozen frame. */
export const TILE_PAUSED_KEY = "quality.tile_paused";
/** The page-level notice while any video is paused for us. */
export const PAGE_PAUSED_KEY = "quality.page_paused";

/** @type {Record<Level, number>} bars lit per level */
const BARS = { good: 3, fair: 2, poor: 1 };

/**
 * Show `quality` on a tile (null: nothing known, no indicator).
 * @param {HTMLElement} tileEl
 * @param {Quality | null} quality
 */
export function showQuality(tileEl, quality) {
  let indicator = /** @type {HTMLElement | null} */ (tileEl.querySelector('[data-testid="quality-indicator"]'));
  if (!quality) {
    indicator?.remove();
    return;
  }
  if (!indicator) {
    indicator = h("span.quality-indicator", { "data-testid": "quality-indicator", role: "img" }, h("i"), h("i"), h("i"));
    const label = tileEl.querySelector(".tile-label");
    if (label) label.prepend(indicator);
    else tileEl.append(indicator);
  }
  const text = describe(quality, tileEl.dataset.self === "true" ? null : (tileEl.dataset.name ?? ""));
  indicator.dataset.level = quality.level;
  indicator.dataset.bars = String(BARS[quality.level]);
  indicator.title = text;
  indicator.setAttribute("aria-label", text);
}

/**
 * Say on a tile that its video is paused for us (or take the notice away).
 * @param {HTMLElement} tileEl
 * @param {boolean} paused
 */
export function showPaused(tileEl, paused) {
  tileEl.dataset.videoPaused = String(paused);
  let notice = tileEl.querySelector('[data-testid="video-paused"]');
  if (!paused) {
    notice?.remove();
    return;
  }
  if (!notice) {
    notice = h("div.tile-paused", { "data-testid": "video-paused", role: "status", i18n: TILE_PAUSED_KEY });
    tileEl.append(notice);
  }
}

/**
 * A sentence for the indicator: whose connection, its level, and why.
 * @param {Quality} quality
 * @param {string | null} name the participant, or null for ourselves
 */
export function describe(quality, name) {
  const whose = name === null ? t("quality.yours") : t("quality.theirs", { name: name || t("quality.this_participant") });
  const why = quality.reasons.length ? ` (${quality.reasons.join("; ")})` : "";
  return `${whose}: ${t(`quality.level_${quality.level}`)}${why}`;
}

/**
 * Show the session's connection quality on the gallery and the status area,
 * from now on.
 * @param {MeetingSession} session
 * @param {Gallery} gallery
 * @param {StatusArea} status
 */
export function wireConnectionQuality(session, gallery, status) {
  const quality = session.quality;
  const showPageNotice = () => {
    const present = new Set(session.participants.map((p) => p.id));
    if (quality.paused.some((id) => present.has(id))) status.show("video_paused", "warning", t(PAGE_PAUSED_KEY));
    else status.clear("video_paused");
  };
  const onPaused = () => {
    gallery.setPaused(quality.paused);
    showPageNotice();
  };
  quality.addEventListener("paused", onPaused);
  quality.addEventListener("quality", (event) => {
    const { self, participants } = /** @type {CustomEvent} */ (event).detail;
    for (const participant of session.participants) {
      const own = participant.id === session.participantId;
      gallery.setQuality(participant.id, own ? self : (participants.get(participant.id) ?? null));
    }
  });
  session.addEventListener("state", (event) => {
    const { state } = /** @type {CustomEvent} */ (event).detail;
    if (state === "joined" || state === "reconnecting") {
      quality.start();
    } else {
      quality.stop();
      quality.reset();
    }
  });
  // A (re)join: new connections, and the server judges them afresh.
  session.addEventListener("participants", () => {
    quality.reset();
    onPaused();
  });
  session.addEventListener("participantleft", showPageNotice);
}
