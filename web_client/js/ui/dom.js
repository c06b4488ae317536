// Tiny DOM helpers for the UI modules.

import { t } from "../i18n.js";

/**
 * Create an element.
 * @param {string} tag e.g. "div" or "button.control" (classes after dots)
 * @param {Record<string, string | boolean | number | null | undefined>} [attrs]
 *   attributes; `text` sets the text content; `i18n` sets it to that catalog
 *   message and keeps the key (`data-i18n`), so a language switch translates
 *   it again (i18n.js); `i18n-aria-label` (`-title`, `-placeholder`, `-alt`)
 *   likewise for that attribute; false/null/undefined are skipped
 * @param {(Node | string | null | undefined | false)[]} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "i18n") {
      el.dataset.i18n = String(value);
      el.textContent = t(String(value));
    } else if (key.startsWith("i18n-")) {
      // "i18n-aria-label": "chat.input_label" -> aria-label from the catalog, kept for a switch
      el.setAttribute(`data-${key}`, String(value));
      el.setAttribute(key.slice("i18n-".length), t(String(value)));
    }
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** @type {Map<string, Element>} each icon's markup parsed once (see {@link icon}) */
const parsedIcons = new Map();

/**
 * An inline SVG icon from a static template (see icons.js): a copy of the
 * icon parsed the first time (the control bar redraws its icons often).
 * @param {string} svg
 * @returns {Element}
 */
export function icon(svg) {
  let parsed = parsedIcons.get(svg);
  if (!parsed) {
    const template = document.createElement("template");
    template.innerHTML = svg.trim();
    parsed = /** @type {Element} */ (template.content.firstElementChild);
    parsedIcons.set(svg, parsed);
  }
  return /** @type {Element} */ (parsed.cloneNode(true));
}

/**
 * Up to two initials of a display name ("Ada Lovelace" -> "AL").
 * @param {string} name
 */
export function initials(name) {
  const words = String(name).trim().split(/\s+/u).filter(Boolean);
  const letters = words.slice(0, 2).map((word) => [...word][0] ?? "");
  return letters.join("").toUpperCase() || "?";
}

/**
 * A stable hue (0-359) for a string, to tell avatars apart.
 * @param {string} text
 */
export function hueOf(text) {
  let hash = 0;
  for (const ch of String(text)) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}

/**
 * Play a media element; report autoplay refusals instead of throwing.
 * @param {HTMLMediaElement} el
 * @param {(el: HTMLMediaElement) => void} [onBlocked]
 */
export function play(el, onBlocked) {
  const result = el.play();
  if (result && typeof result.catch === "function") {
    result.catch((/** @type {Error} */ error) => {
      if (error?.name === "NotAllowedError") onBlocked?.(el);
    });
  }
}

/** The id of the control bar's "More" menu (bar_fit.js), which its button `aria-controls`. */
export const MORE_MENU_ID = "more-menu";

/**
 * Where a control is on screen: itself, or, while it sits in the control bar's
 * closed "More" menu (bar_fit.js), the More button, to put the focus back on
 * or to open a popover from.
 * @param {HTMLElement} control
 * @returns {HTMLElement}
 */
export function shownControl(control) {
  const menu = control.closest(`#${MORE_MENU_ID}`);
  if (!(menu instanceof HTMLElement) || !menu.hidden) return control;
  return /** @type {HTMLElement | null} */ (document.querySelector(`[aria-controls="${MORE_MENU_ID}"]`)) ?? control;
}
