// Raised hands: the raise/lower button, the hands panel (the server's queue, in
// its order) and, for hosts and co-hosts, lower / lower all / call on the next.

import { setText, t } from "../i18n.js";
import { h } from "./dom.js";
import { errorText, renderList, smallButton } from "./kit.js";
import { withKey } from "./shortcuts.js";
import { setBadge } from "./side_panel.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("../protocol.js").Hand} Hand */

export class HandsView {
  /**
   * @param {{raiseButton: HTMLButtonElement, panelButton: HTMLButtonElement, body: HTMLElement,
   *   interaction: MeetingInteraction, nameOf: (id: string) => string, onError: (message: string) => void}} options
   *   onError: also shown when the panel is closed
   */
  constructor({ raiseButton, panelButton, body, interaction, nameOf, onError }) {
    this.onError = onError;
    this.raiseButton = raiseButton;
    this.panelButton = panelButton;
    this.interaction = interaction;
    this.nameOf = nameOf;
    this.list = h("ol.hand-list", { "i18n-aria-label": "hands.list_label" });
    this.empty = h("p.panel-empty", { i18n: "hands.empty" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "hands-error" });
    this.next = smallButton(t("hands.call_next"), { "data-testid": "next-hand-button", class: "small primary" }, () =>
      this._run(() => interaction.nextHand()),
    );
    this.lowerAll = smallButton(t("hands.lower_all"), { "data-testid": "lower-all-hands-button" }, () =>
      this._run(() => interaction.lowerAllHands()),
    );
    this.hostActions = h("div.panel-actions", {}, this.next, this.lowerAll);
    body.append(this.empty, this.list, this.error, this.hostActions);
    raiseButton.addEventListener("click", () => this._toggleOwnHand());
    this.render();
  }

  /** Show the queue again (hands, names or our role changed). */
  render() {
    const { hands, isModerator } = this.interaction;
    renderList(this.list, hands, {
      key: (hand) => hand.participant_id,
      signature: (hand) => `${hand.position}|${this.nameOf(hand.participant_id)}|${isModerator}`,
      build: (hand) => this._item(hand),
    });
    this.empty.hidden = hands.length > 0;
    this.hostActions.hidden = !isModerator;
    this.next.disabled = hands.length === 0;
    this.lowerAll.disabled = hands.length === 0;
    setBadge(this.panelButton, hands.length, t("hands.raised"));

    const mine = this.interaction.myHandPosition;
    const up = mine !== null;
    this.raiseButton.setAttribute("aria-pressed", String(up));
    this.raiseButton.classList.toggle("active", up);
    setText(/** @type {HTMLElement} */ (this.raiseButton.querySelector(".control-label")), up ? "hands.lower" : "hands.raise");
    // a11y: the name starts with the visible caption (WCAG 2.5.3, label in name).
    this.raiseButton.setAttribute("aria-label", up ? t("a11y.lower_hand", { position: mine }) : t("hands.raise"));
    this.raiseButton.title = withKey(up ? t("hands.lower_title", { position: mine }) : t("hands.raise_label"), "H");
  }

  /**
   * @param {Hand} hand
   * @private
   */
  _item(hand) {
    const self = hand.participant_id === this.interaction.selfId;
    const name = this.nameOf(hand.participant_id);
    const canLower = self || this.interaction.isModerator;
    return h(
      "li.hand-item",
      { "data-testid": "hand-item", "data-participant-id": hand.participant_id, "data-position": hand.position },
      h("span.hand-position", { text: String(hand.position), "aria-label": t("hands.number", { position: hand.position }) }),
      h("span.hand-name", { text: self ? t("common.you_suffix", { name }) : name }),
      canLower &&
        smallButton(t("hands.lower_one"), { "data-testid": "lower-hand-button", "aria-label": self ? t("hands.lower_yours") : t("hands.lower_theirs", { name }) }, () =>
          this._run(() => this.interaction.lowerHand(self ? undefined : hand.participant_id)),
        ),
    );
  }

  /** @private */
  _toggleOwnHand() {
    const up = this.interaction.myHandPosition !== null;
    this._run(() => (up ? this.interaction.lowerHand() : this.interaction.raiseHand()));
  }

  /**
   * @param {() => Promise<unknown>} action
   * @private
   */
  _run(action) {
    this.error.textContent = "";
    action().catch((error) => {
      this.error.textContent = errorText(error);
      this.onError(errorText(error));
    });
  }
}
