// The room device's check-in card: the code and link people in the meeting
// room use to join from their own phone or laptop, big enough to read from
// across the room.

import { t } from "../i18n.js";
import { h } from "./dom.js";

export class CheckinBanner {
  /** @param {HTMLElement} root the banner's (empty) element in room.html */
  constructor(root) {
    this.root = root;
    this.zone = h("strong");
    this.link = /** @type {HTMLAnchorElement} */ (h("a.checkin-link", { "data-testid": "checkin-link", target: "_blank", rel: "noopener" }));
    this.code = h("span.checkin-code", { "data-testid": "checkin-code" });
    root.append(
      h(
        "div.checkin-text",
        {},
        h("p.checkin-title", {}, h("span", { i18n: "checkin.in" }), " ", this.zone, h("span", { i18n: "checkin.join_on_phone" })),
        this.link,
      ),
      h("div.checkin-code-box", {}, h("span.checkin-label", { i18n: "checkin.room_code" }), this.code),
    );
    root.hidden = true;
  }

  /**
   * @param {{zone: string, code: string, link: string} | null} checkin null hides the card
   */
  show(checkin) {
    this.root.hidden = checkin === null;
    if (!checkin) return;
    this.zone.textContent = checkin.zone || t("checkin.this_room");
    this.code.textContent = checkin.code;
    this.code.setAttribute("aria-label", t("checkin.room_code_label", { code: [...checkin.code].join(" ") }));
    this.link.href = checkin.link;
    this.link.textContent = checkin.link;
  }
}
