// Previous / next page of the gallery and where we are ("2 / 3"); shown only
// when the tiles take more than one page.

import { setAttr } from "../i18n.js";
import { h, icon } from "./dom.js";
import { NEXT, PREV } from "./icons.js";

export class PageNav {
  /** @param {(delta: number) => void} onStep called with -1 or +1 */
  constructor(onStep) {
    this.prev = /** @type {HTMLButtonElement} */ (
      h("button.page-step", { type: "button", "data-testid": "page-prev-button", "i18n-aria-label": "gallery.previous_page", "i18n-title": "gallery.previous_page" }, icon(PREV))
    );
    this.next = /** @type {HTMLButtonElement} */ (
      h("button.page-step", { type: "button", "data-testid": "page-next-button", "i18n-aria-label": "gallery.next_page", "i18n-title": "gallery.next_page" }, icon(NEXT))
    );
    this.indicator = h("span.page-indicator", { "data-testid": "page-indicator", "aria-live": "polite" });
    this.el = h("nav.page-nav", { "i18n-aria-label": "gallery.pages", hidden: true }, this.prev, this.indicator, this.next);
    /** @type {number | null} the page and page count shown */
    this._page = null;
    /** @type {number | null} */
    this._pages = null;
    this.prev.addEventListener("click", () => onStep(-1));
    this.next.addEventListener("click", () => onStep(1));
  }

  /**
   * @param {number} page 0-based
   * @param {number} pages
   */
  update(page, pages) {
    // Called at every relayout of the gallery: only a change touches the DOM.
    if (page === this._page && pages === this._pages) return;
    this._page = page;
    this._pages = pages;
    this.el.hidden = pages <= 1;
    this.indicator.textContent = `${page + 1} / ${pages}`;
    // setAttr: a language switch translates it again.
    setAttr(this.indicator, "aria-label", "gallery.page_of", { page: page + 1, pages });
    // aria-disabled, not disabled: a focused button keeps the focus at the last page.
    this.prev.setAttribute("aria-disabled", String(page <= 0));
    this.next.setAttribute("aria-disabled", String(page >= pages - 1));
  }
}
