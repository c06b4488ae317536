// Previous / next page of the gallery and where we are ("2 / 3"); shown only
// when the tiles take more than one page.

import { h, icon } from "./dom.js";
import { NEXT, PREV } from "./icons.js";

export class PageNav {
  /** @param {(delta: number) => void} onStep called with -1 or +1 */
  constructor(onStep) {
    this.prev = /** @type {HTMLButtonElement} */ (
      h("button.page-step", { type: "button", "data-testid": "page-prev-button", "aria-label": "Previous page", title: "Previous page" }, icon(PREV))
    );
    this.next = /** @type {HTMLButtonElement} */ (
      h("button.page-step", { type: "button", "data-testid": "page-next-button", "aria-label": "Next page", title: "Next page" }, icon(NEXT))
    );
    this.indicator = h("span.page-indicator", { "data-testid": "page-indicator", "aria-live": "polite" });
    this.el = h("nav.page-nav", { "aria-label": "Gallery pages", hidden: true }, this.prev, this.indicator, this.next);
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
    this.indicator.setAttribute("aria-label", `Page ${page + 1} of ${pages}`);
    // aria-disabled, not disabled: a focused button keeps the focus at the last page.
    this.prev.setAttribute("aria-disabled", String(page <= 0));
    this.next.setAttribute("aria-disabled", String(page >= pages - 1));
  }
}
