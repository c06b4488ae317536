// Previous / next page of the gallery and where we are ("2 / 3"); shown only
// when the tiles take more than one page.

import { t } from "../i18n.js";
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
    this.prev.addEventListener("click", () => onStep(-1));
    this.next.addEventListener("click", () => onStep(1));
  }

  /**
   * @param {number} page 0-based
   * @param {number} pages
   */
  update(page, pages) {
    this.el.hidden = pages <= 1;
    this.indicator.textContent = `${page + 1} / ${pages}`;
    this.indicator.setAttribute("aria-label", t("gallery.page_of", { page: page + 1, pages }));
    // aria-disabled, not disabled: a focused button keeps the focus at the last page.
    this.prev.setAttribute("aria-disabled", String(page <= 0));
    this.next.setAttribute("aria-disabled", String(page >= pages - 1));
  }
}
