// The side panel beside the gallery (on a phone a sheet over the whole screen,
// closed by its header's button): chat, participants, raised hands, polls; one
// at a time, each opened by a button of the control bar.

import { h, icon, shownControl } from "./dom.js";
import { CLOSE } from "./icons.js";
import { setAttr, setText, t } from "../i18n.js";

/**
 * A label: plain text, or a catalog key (`{key: "panel.chat"}`) that a
 * language switch translates again (i18n.js).
 * @typedef {string | {key: string}} Label
 */

/** @param {Label} label @returns {string} the text it shows now */
const textOf = (label) => (typeof label === "string" ? label : t(label.key));

/**
 * A control-bar button with an icon, a label and a small count badge.
 * @param {string} testid
 * @param {string} svg
 * @param {Label} label
 * @returns {HTMLButtonElement}
 */
export function barButton(testid, svg, label) {
  const text = textOf(label);
  const caption = h("span.control-label", { text });
  const button = /** @type {HTMLButtonElement} */ (
    h(
      "button.control",
      { type: "button", "data-testid": testid, "aria-label": text, title: text },
      icon(svg),
      caption,
      " ", // a11y: the caption and the badge read as two words ("Chat 2"), as the name has them
      h("span.control-badge", { hidden: true, "aria-hidden": "true" }),
    )
  );
  if (typeof label !== "string") {
    setText(caption, label.key);
    setAttr(setAttr(button, "aria-label", label.key), "title", label.key);
  }
  return button;
}

/**
 * Show a number on a bar button (0: no badge); the accessible name says it too.
 * @param {HTMLButtonElement} button
 * @param {number} count
 * @param {string} [what] e.g. "unread"
 */
export function setBadge(button, count, what = "") {
  const badge = /** @type {HTMLElement} */ (button.querySelector(".control-badge"));
  badge.hidden = count <= 0;
  badge.textContent = count > 99 ? "99+" : String(count);
  const label = button.querySelector(".control-label")?.textContent ?? "";
  // a11y: the name holds the visible caption and number in order (WCAG 2.5.3, label in name).
  button.setAttribute("aria-label", count > 0 ? t("a11y.badge", { label, count: badge.textContent, what }).trim() : label);
}

/**
 * @typedef {object} Panel
 * @property {HTMLElement} section
 * @property {HTMLButtonElement} button
 */

export class SidePanel {
  /** @param {HTMLElement} root the `<aside>` beside the gallery */
  constructor(root) {
    this.root = root;
    /** @type {Map<string, Panel>} */
    this._panels = new Map();
    /** @type {string | null} */
    this.current = null;
    /** @type {((name: string | null) => void)[]} */
    this._listeners = [];
    root.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !this.current) return;
      const button = this._panels.get(this.current)?.button;
      this.close();
      if (button) shownControl(button).focus();
    });
  }

  /**
   * Add a panel; its button toggles it.
   * @param {string} name
   * @param {Label} title
   * @param {string} testid
   * @param {HTMLButtonElement} button
   * @returns {HTMLElement} the panel's body, for the view to fill
   */
  add(name, title, testid, button) {
    const body = h("div.panel-body");
    const close = h("button.icon-button", { type: "button" }, icon(CLOSE));
    const heading = h("h2", { id: `panel-title-${name}`, text: textOf(title) });
    if (typeof title === "string") {
      close.setAttribute("aria-label", t("panel.close_named", { title }));
    } else {
      setText(heading, title.key);
      setAttr(close, "aria-label", "panel.close_named", { title: t(title.key) });
    }
    setAttr(close, "title", "common.close");
    const headingId = `panel-title-${name}`;
    const section = h(
      "section.panel",
      { "data-testid": testid, "data-panel": name, "aria-labelledby": headingId, hidden: true },
      h("header.panel-header", {}, heading, close),
      body,
    );
    close.addEventListener("click", () => {
      this.close();
      shownControl(button).focus();
    });
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", `panel-${name}`);
    section.id = `panel-${name}`;
    button.addEventListener("click", () => this.toggle(name));
    this.root.append(section);
    this._panels.set(name, { section, button });
    return body;
  }

  /** @param {string} name */
  isOpen(name) {
    return this.current === name;
  }

  /** @param {string} name */
  toggle(name) {
    if (this.current === name) this.close();
    else this.open(name);
  }

  /** @param {string} name */
  open(name) {
    if (!this._panels.has(name)) return;
    this.current = name;
    this._show();
  }

  close() {
    this.current = null;
    this._show();
  }

  /** @param {(name: string | null) => void} listener called when a panel opens or closes */
  onChange(listener) {
    this._listeners.push(listener);
  }

  /** @private */
  _show() {
    for (const [name, panel] of this._panels) {
      const open = name === this.current;
      panel.section.hidden = !open;
      panel.button.setAttribute("aria-expanded", String(open));
      panel.button.classList.toggle("active", open);
    }
    this.root.hidden = this.current === null;
    if (this.current) document.body.dataset.panel = this.current;
    else delete document.body.dataset.panel;
    for (const listener of this._listeners) listener(this.current);
  }
}
