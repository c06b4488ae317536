// Keeps the control bar on one line whatever the language and the screen:
// German labels ("Stummschaltung aufheben", "Bildschirm teilen") are much
// wider than English ones, and a phone has room for six or seven buttons.
// When the bar overflows, labels of two words go on two lines (class
// "wrap"); if it still overflows, the side-panel buttons drop their labels
// ("compact"), and then every button does ("compact-all"): their icons,
// aria-labels and titles stay. If that is not enough (a phone), the room's
// name, the count and the language switch move into the "More" menu, and
// then the buttons that fit least well, one by one (OVERFLOW); microphone,
// camera and Leave always stay in the bar. A control in the menu is the same
// element (same handlers, test id and state), moved back when there is room.

import { LANGUAGE_CHANGED, events, setAttr, t } from "../i18n.js";
import { MORE_MENU_ID, h, shownControl } from "./dom.js";
import { MENU } from "./icons.js";
import { Popover } from "./kit.js";
import { barButton, setBadge } from "./side_panel.js";

/** What is tried, in order, until the bar fits: labels on two lines, then without panel labels, then icons only. */
const STEPS = ["wrap", "compact", "compact-all"];
/** Never moved into the menu: what a meeting needs at once. */
const KEEP = new Set(["mic-button", "camera-button", "leave-button", "more-button"]);
/** Into the menu in this order (a control not named here goes first): the least used first. */
const OVERFLOW = [
  "shortcuts-button",
  "devices-button",
  "leaderboard-button",
  "decisions-button",
  "captions-button",
  "polls-button",
  "hands-button",
  "meeting-menu-button",
  "screen-button",
  "speaker-button",
  "reactions-button",
  "participants-button",
  "raise-hand-button",
  "chat-button",
];

/**
 * Watch `bar` (the control bar) and fit it as its width or its labels change.
 * @param {HTMLElement} bar
 * @param {HTMLElement} info the room name, count and language switch at its start, which must stay readable
 * @returns {MoreMenu}
 */
export function fitControlBar(bar, info) {
  const more = new MoreMenu(bar, info);
  let scheduled = false;
  const fit = () => {
    scheduled = false;
    // Not while the person uses the menu: its items would jump. Again when it closes.
    if (more.popover.isOpen) return;
    const focused = document.activeElement;
    more.restore();
    bar.classList.remove(...STEPS);
    let fits = !overflows(bar, info);
    for (const step of STEPS) {
      if (fits) break;
      bar.classList.add(step);
      fits = !overflows(bar, info);
    }
    if (!fits) {
      more.take(info);
      for (const control of overflowOrder(bar)) {
        if (!overflows(bar, info)) break;
        more.take(control);
      }
    }
    more.settle();
    watcher.takeRecords(); // our own moves are no reason to fit again
    // A control that moved lost the focus: back to it, or to More if it went into the menu.
    if (focused instanceof HTMLElement && focused !== document.activeElement && (bar.contains(focused) || more.el.contains(focused))) {
      shownControl(focused).focus();
    }
  };
  // Once per frame at most: a label change and a resize often come together.
  const later = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(fit);
  };
  new ResizeObserver(later).observe(bar);
  // Labels change with the state (Mute / Unmute) and buttons come and go, in the bar or in the menu.
  const watcher = new MutationObserver(later);
  const watching = { childList: true, subtree: true, characterData: true, attributeFilter: ["hidden"] };
  watcher.observe(bar, watching);
  watcher.observe(more.items, watching);
  events.addEventListener(LANGUAGE_CHANGED, later);
  more.onClose = later;
  later();
  return more;
}

/**
 * Does anything stick out of the bar, or sit on the room's name?
 * @param {HTMLElement} bar
 * @param {HTMLElement} info
 */
function overflows(bar, info) {
  if (bar.scrollWidth > bar.clientWidth + 1) return true;
  const box = bar.getBoundingClientRect();
  const shown = [...bar.querySelectorAll("button.control")].filter((b) => b.getClientRects().length > 0);
  for (const control of shown) {
    const r = control.getBoundingClientRect();
    if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) return true;
  }
  if (!bar.contains(info)) return false;
  if (info.scrollWidth > info.clientWidth + 1) return true;
  const first = shown.find((b) => !info.contains(b));
  return first !== undefined && info.getBoundingClientRect().right > first.getBoundingClientRect().left + 1;
}

/**
 * The bar's controls that may move into the menu, the first to go first.
 * @param {HTMLElement} bar
 * @returns {HTMLElement[]}
 */
function overflowOrder(bar) {
  const rank = (/** @type {HTMLElement} */ b) => {
    const at = OVERFLOW.indexOf(b.dataset.testid ?? "");
    return at === -1 ? -1 : at;
  };
  return [...bar.querySelectorAll("button.control")]
    .map((b) => /** @type {HTMLElement} */ (b))
    .filter((b) => !b.hidden && !KEEP.has(b.dataset.testid ?? ""))
    .sort((a, b) => rank(a) - rank(b));
}

/**
 * The "More" button at the bar's end and its menu: the controls that did not
 * fit, then the room's name, the count and the language switch.
 */
export class MoreMenu {
  /**
   * @param {HTMLElement} bar
   * @param {HTMLElement} info
   */
  constructor(bar, info) {
    this.bar = bar;
    this.info = info;
    this.button = barButton("more-button", MENU, { key: "controls.more" });
    this.button.classList.add("more-button");
    this.button.hidden = true;
    this.button.setAttribute("aria-controls", MORE_MENU_ID);
    this.items = h("div.more-items");
    this.place = h("div.more-info");
    this.el = h("div.more-menu", { id: MORE_MENU_ID, role: "dialog", "data-testid": "more-menu" }, this.items, this.place);
    setAttr(this.el, "aria-label", "controls.more_label");
    bar.append(this.button);
    this.popover = new Popover(this.button, this.el);
    /** @type {() => void} */
    this.onClose = () => {};
    const close = this.popover.close.bind(this.popover);
    this.popover.close = () => {
      const was = this.popover.isOpen;
      close();
      if (was) this.onClose();
    };
    /** @type {Map<HTMLElement, Comment>} each moved element and the mark of its place in the bar */
    this._moved = new Map();
    // A control used from the menu closes it first (a popover it opens is then
    // placed at the More button); the focus comes back to More unless the
    // control sent it on (the chat's input).
    this.items.addEventListener(
      "click",
      (event) => {
        if (!(event.target instanceof Element) || !event.target.closest("button")) return;
        this.popover.close();
        setTimeout(() => {
          const now = document.activeElement;
          if (!now || now === document.body || this.el.contains(now)) this.button.focus();
        });
      },
      { capture: true },
    );
  }

  /**
   * Move a control (or the info block) into the menu.
   * @param {HTMLElement} el
   */
  take(el) {
    if (this._moved.has(el)) return;
    const mark = document.createComment(el.dataset.testid ?? "info");
    el.replaceWith(mark);
    this._moved.set(el, mark);
    if (el === this.info) this.place.append(el);
    else this.items.append(el);
    this.button.hidden = false;
  }

  /** Everything back in its place in the bar; the More button hides. */
  restore() {
    for (const [el, mark] of this._moved) mark.replaceWith(el);
    this._moved.clear();
    this.button.hidden = true;
  }

  /** After a fit: the menu lists its controls in the bar's order; More shows the count of what is new in it. */
  settle() {
    const marks = [...this._moved].filter(([el]) => el !== this.info);
    marks.sort(([, a], [, b]) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    for (const [el] of marks) this.items.append(el);
    this.updateBadge();
  }

  /** The More button's badge: the sum of the badges (unread messages, people waiting) of the controls in the menu. */
  updateBadge() {
    let count = 0;
    for (const badge of this.items.querySelectorAll(".control-badge")) {
      const button = badge.closest("button");
      if (!badge.hidden && button && !button.hidden) count += Number.parseInt(badge.textContent ?? "", 10) || 0;
    }
    setBadge(this.button, count, t("controls.more_new"));
  }
}
