// Keyboard shortcuts of the meeting page (M, V, H, C, Shift+L) and the help
// overlay that lists them (?). A shortcut clicks the control bar's button, so
// it does exactly what the button does, respects its disabled state, and does
// nothing while the lazily loaded buttons (hand, chat) are not there yet.

import { t } from "../i18n.js";
import { h } from "./dom.js";

/**
 * @typedef {object} Shortcut
 * @property {string} key what `aria-keyshortcuts` and the overlay say ("M", "Shift+L", "?")
 * @property {string} what the catalog key of what it does, for the overlay (i18n.js)
 * @property {string} [testid] the button it clicks
 * @property {string} [watch] the button's attribute that shows the new state
 * @property {(button: HTMLElement) => string} [said] the new state, for screen readers
 */

/** @type {Shortcut[]} */
export const SHORTCUTS = [
  {
    key: "M",
    what: "shortcuts.mic",
    testid: "mic-button",
    watch: "data-muted",
    said: (b) => t(b.dataset.muted === "true" ? "shortcuts.mic_off" : "shortcuts.mic_on"),
  },
  {
    key: "V",
    what: "shortcuts.camera",
    testid: "camera-button",
    watch: "data-enabled",
    said: (b) => t(b.dataset.enabled === "true" ? "shortcuts.camera_on" : "shortcuts.camera_off"),
  },
  {
    key: "H",
    what: "shortcuts.hand",
    testid: "raise-hand-button",
    watch: "aria-pressed",
    said: (b) => t(b.getAttribute("aria-pressed") === "true" ? "shortcuts.hand_raised" : "shortcuts.hand_lowered"),
  },
  {
    key: "C",
    what: "shortcuts.chat",
    testid: "chat-button",
    watch: "aria-expanded",
    said: (b) => t(b.getAttribute("aria-expanded") === "true" ? "shortcuts.chat_open" : "shortcuts.chat_closed"),
  },
  { key: "Shift+L", what: "shortcuts.leave", testid: "leave-button" },
  { key: "?", what: "shortcuts.help" },
];

/** Page states in which the meeting's controls are there to be used. */
const IN_MEETING = new Set(["joined", "reconnecting"]);
/** How long to wait for a button to show its new state before announcing it anyway. */
const ANNOUNCE_WITHIN_MS = 3000;

/**
 * `title` text naming a shortcut: "Mute your microphone (M)".
 * @param {string} text
 * @param {string} key
 */
export function withKey(text, key) {
  return `${text} (${key})`;
}

export class Shortcuts {
  /** @param {Document} doc */
  constructor(doc = document) {
    this.doc = doc;
    this.live = h("div.visually-hidden", { "aria-live": "polite", "data-testid": "shortcut-announcer" });
    this.help = this._buildHelp();
    /** @type {HTMLElement | null} where the focus was before the overlay opened */
    this._returnTo = null;
    doc.body.append(this.live, this.help);
    doc.addEventListener("keydown", (event) => this._onKey(event));
  }

  openHelp() {
    if (this.help.open) return;
    const active = this.doc.activeElement;
    this._returnTo = active instanceof HTMLElement && active !== this.doc.body ? active : null;
    this.help.showModal();
    /** @type {HTMLElement} */ (this.help.querySelector("button")).focus();
  }

  closeHelp() {
    if (this.help.open) this.help.close();
  }

  /**
   * @private
   * @param {KeyboardEvent} event
   */
  _onKey(event) {
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.altKey || event.metaKey) return;
    if (isTyping(event.target)) return;
    if (event.key === "?") {
      event.preventDefault();
      if (this.help.open) this.closeHelp();
      else if (!this.doc.querySelector("dialog[open]")) this.openHelp();
      return;
    }
    // Another dialog (or this overlay) is modal: its own keys only.
    if (this.doc.querySelector("dialog[open]") || event.repeat) return;
    if (!IN_MEETING.has(this.doc.body.dataset.state ?? "")) return;
    const shortcut = matching(event);
    if (!shortcut?.testid) return;
    event.preventDefault();
    const button = /** @type {HTMLButtonElement | null} */ (this.doc.querySelector(`[data-testid="${shortcut.testid}"]`));
    if (!button || button.disabled || button.hidden) {
      this.announce(t("shortcuts.unavailable", { what: t(shortcut.what) }));
      return;
    }
    if (shortcut.watch && shortcut.said) this._announceChange(button, shortcut.watch, shortcut.said);
    button.click();
  }

  /**
   * Tell screen readers `text` (the live region is visually hidden).
   * @param {string} text
   */
  announce(text) {
    // The same text twice is still read twice: empty the region first.
    this.live.textContent = "";
    setTimeout(() => {
      this.live.textContent = text;
    }, 50);
  }

  /**
   * Announce the button's state once it changes (a device may take a moment).
   * @private
   * @param {HTMLElement} button
   * @param {string} attribute
   * @param {(button: HTMLElement) => string} said
   */
  _announceChange(button, attribute, said) {
    const before = button.getAttribute(attribute);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      observer.disconnect();
      clearTimeout(timer);
      this.announce(said(button));
    };
    const observer = new MutationObserver(() => {
      if (button.getAttribute(attribute) !== before) finish();
    });
    observer.observe(button, { attributes: true, attributeFilter: [attribute] });
    const timer = setTimeout(finish, ANNOUNCE_WITHIN_MS);
  }

  /**
   * @private
   * @returns {HTMLDialogElement}
   */
  _buildHelp() {
    const close = h("button.secondary", { type: "button", "data-testid": "shortcuts-close-button", i18n: "common.close" });
    const list = h(
      "dl.shortcut-list",
      {},
      ...SHORTCUTS.flatMap((s) => [
        h("dt", {}, h("kbd", { text: s.key })),
        h("dd", { i18n: s.what }),
      ]),
    );
    const dialog = /** @type {HTMLDialogElement} */ (
      h(
        "dialog.confirm-dialog.shortcuts-dialog",
        { role: "dialog", "aria-modal": "true", "aria-labelledby": "shortcuts-title", "data-testid": "shortcuts-dialog" },
        h("h2", { id: "shortcuts-title", i18n: "shortcuts.label" }),
        h("p", { i18n: "shortcuts.intro" }),
        list,
        h("div.dialog-buttons", {}, close),
      )
    );
    close.addEventListener("click", () => dialog.close());
    // Escape closes a modal <dialog> by itself; either way the focus goes back.
    dialog.addEventListener("close", () => {
      const back = this._returnTo;
      this._returnTo = null;
      if (back?.isConnected) back.focus();
    });
    return dialog;
  }
}

/**
 * The shortcut a key press means, if any (letters also by their physical key,
 * for keyboard layouts without Latin letters).
 * @param {KeyboardEvent} event
 * @returns {Shortcut | undefined}
 */
function matching(event) {
  // Chrome's autofill sends keydown events without a key.
  const pressed = event.key ?? "";
  let letter = pressed.length === 1 ? pressed.toUpperCase() : "";
  if (!/^[A-Z]$/.test(letter)) letter = /^Key([A-Z])$/.exec(event.code ?? "")?.[1] ?? "";
  if (!letter) return undefined;
  const key = event.shiftKey ? `Shift+${letter}` : letter;
  return SHORTCUTS.find((s) => s.key === key);
}

/**
 * Is the person typing (a text field, a select, an editable element)?
 * @param {EventTarget | null} target
 */
function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["button", "checkbox", "radio", "range", "submit", "reset", "color", "file"].includes(target.type);
  }
  return false;
}
