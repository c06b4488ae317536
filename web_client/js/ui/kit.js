// Shared bits of the meeting-interaction views: keyed lists that keep focus,
// error text, downloads, popovers and the confirmation dialog.

import { h, shownControl } from "./dom.js";
import { errorText as codeText, language, t } from "../i18n.js";
import { ProtocolError } from "../protocol.js";

/**
 * @template T
 * @typedef {object} ListSpec
 * @property {(item: T) => string} key
 * @property {(item: T) => string} signature the element is rebuilt only when this changes
 * @property {(item: T) => HTMLElement} build
 */

/** @type {WeakMap<HTMLElement, Map<string, {el: HTMLElement, sig: string}>>} */
const listState = new WeakMap();

/**
 * Show `items` in `container` in this order, rebuilding only what changed (so
 * a focused button or a half-filled field survives an update elsewhere).
 * @template T
 * @param {HTMLElement} container
 * @param {T[]} items
 * @param {ListSpec<T>} spec
 */
export function renderList(container, items, spec) {
  const known = listState.get(container) ?? new Map();
  /** @type {Map<string, {el: HTMLElement, sig: string}>} */
  const next = new Map();
  items.forEach((item, index) => {
    const key = spec.key(item);
    // The language is part of every signature: a switch rebuilds the rows in it.
    const sig = `${language()}\0${spec.signature(item)}`;
    let entry = known.get(key);
    if (!entry || entry.sig !== sig) {
      const el = spec.build(item);
      if (entry) entry.el.replaceWith(el);
      entry = { el, sig };
    }
    next.set(key, entry);
    const at = container.children[index];
    if (at !== entry.el) container.insertBefore(entry.el, at ?? null);
  });
  for (const [key, entry] of known) {
    if (!next.has(key)) entry.el.remove();
  }
  listState.set(container, next);
}

/**
 * What to tell a person whose request the server refused.
 * @param {unknown} error
 */
export function errorText(error) {
  if (error instanceof ProtocolError) {
    const wait = error.retryAfter;
    if (error.code === "rate_limited" && wait !== null) {
      return codeText("rate_limited_wait", error.message, { seconds: Math.max(1, Math.ceil(wait)) });
    }
    return codeText(error.code, error.message);
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Save text as a file (a Blob download).
 * @param {string} filename
 * @param {string} contentType
 * @param {string} content
 */
export function download(filename, contentType, content) {
  const url = URL.createObjectURL(new Blob([content], { type: contentType }));
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * A small button.
 * @param {string} label
 * @param {Record<string, string | boolean | undefined>} attrs
 * @param {() => void} onClick
 * @returns {HTMLButtonElement}
 */
export function smallButton(label, attrs, onClick) {
  const button = /** @type {HTMLButtonElement} */ (h("button.small", { type: "button", text: label, ...attrs }));
  button.addEventListener("click", onClick);
  return button;
}

/**
 * A panel opened from a button of the control bar, floating above it (the
 * reactions picker, the meeting menu). Escape or a click elsewhere closes it.
 */
export class Popover {
  /**
   * @param {HTMLElement} anchor the button that opens it
   * @param {HTMLElement} el the popover's content element
   */
  constructor(anchor, el) {
    this.anchor = anchor;
    this.el = el;
    el.classList.add("popover");
    el.hidden = true;
    anchor.setAttribute("aria-expanded", "false");
    anchor.setAttribute("aria-haspopup", "true");
    document.body.append(el);
    anchor.addEventListener("click", () => this.toggle());
    el.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        this.close();
        shownControl(anchor).focus();
      }
    });
    document.addEventListener("pointerdown", (event) => {
      const target = /** @type {Node} */ (event.target);
      if (!this.el.hidden && !el.contains(target) && !anchor.contains(target)) this.close();
    });
  }

  get isOpen() {
    return !this.el.hidden;
  }

  toggle() {
    if (this.isOpen) this.close();
    else this.open();
  }

  open() {
    this.el.hidden = false;
    this.anchor.setAttribute("aria-expanded", "true");
    // An anchor in the control bar's closed "More" menu: from the More button.
    const box = shownControl(this.anchor).getBoundingClientRect();
    const width = this.el.offsetWidth;
    const left = Math.min(Math.max(8, box.left + box.width / 2 - width / 2), innerWidth - width - 8);
    this.el.style.left = `${Math.max(8, left)}px`;
    this.el.style.bottom = `${Math.max(8, innerHeight - box.top + 8)}px`;
    const first = [...this.el.querySelectorAll("button, input, select")].find((el) => el.getClientRects().length > 0);
    /** @type {HTMLElement | undefined} */ (first)?.focus();
  }

  close() {
    this.el.hidden = true;
    this.anchor.setAttribute("aria-expanded", "false");
  }
}

/**
 * Ask before doing something that cannot be undone (never window.confirm:
 * tests cannot see it, and it blocks the page).
 * @param {{title: string, message: string, confirmLabel: string, danger?: boolean, testid?: string}} options
 *   testid: the dialog's data-testid (default `confirm-dialog`)
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, message, confirmLabel, danger = false, testid = "confirm-dialog" }) {
  return new Promise((resolve) => {
    const confirm = h(`button.${danger ? "danger" : "primary"}`, {
      type: "button",
      "data-testid": "confirm-button",
      text: confirmLabel,
    });
    const cancel = h("button.secondary", { type: "button", "data-testid": "cancel-button", text: t("common.cancel") });
    const dialog = /** @type {HTMLDialogElement} */ (
      h(
        "dialog.confirm-dialog",
        { "aria-labelledby": "confirm-title", "aria-describedby": "confirm-text", "data-testid": testid },
        h("h2", { id: "confirm-title", text: title }),
        h("p", { id: "confirm-text", text: message }),
        h("div.dialog-buttons", {}, cancel, confirm),
      )
    );
    let answered = false;
    const finish = (/** @type {boolean} */ yes) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(yes);
    };
    confirm.addEventListener("click", () => finish(true));
    cancel.addEventListener("click", () => finish(false));
    dialog.addEventListener("close", () => finish(false)); // Escape
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
