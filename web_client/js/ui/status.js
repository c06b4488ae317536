// The status/messages area (data-testid="status"): one line per topic.

import { h } from "./dom.js";

/**
 * @typedef {object} StatusAction
 * @property {string} label
 * @property {() => void} run
 * @property {string} [testid]
 */

export class StatusArea {
  /** @param {HTMLElement} el */
  constructor(el) {
    this.el = el;
    /** @type {Map<string, {row: HTMLElement, timer?: ReturnType<typeof setTimeout>}>} */
    this._rows = new Map();
  }

  /**
   * Show (or replace) the message for one topic.
   * @param {string} key the topic, e.g. "connection" or "camera"
   * @param {"info" | "warning" | "error"} level
   * @param {string} message
   * @param {{actions?: StatusAction[], dismissible?: boolean, timeoutMs?: number}} [options]
   */
  show(key, level, message, options = {}) {
    this.clear(key);
    const buttons = (options.actions ?? []).map((action) => {
      const button = h("button.status-action", { type: "button", "data-testid": action.testid, text: action.label });
      button.addEventListener("click", () => action.run());
      return button;
    });
    if (options.dismissible) {
      const close = h("button.status-dismiss", { type: "button", "i18n-aria-label": "common.dismiss", "i18n-title": "common.dismiss", text: "×" });
      close.addEventListener("click", () => this.clear(key));
      buttons.push(close);
    }
    const row = h(
      "div.status-item",
      { "data-key": key, "data-level": level, role: level === "error" ? "alert" : "status" },
      h("span.status-text", { text: message }),
      ...buttons,
    );
    this.el.append(row);
    const entry = { row, timer: /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined) };
    if (options.timeoutMs) entry.timer = setTimeout(() => this.clear(key), options.timeoutMs);
    this._rows.set(key, entry);
  }

  /** @param {string} key */
  clear(key) {
    const entry = this._rows.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.row.remove();
    this._rows.delete(key);
  }

  /** @param {string} key */
  has(key) {
    return this._rows.has(key);
  }
}
