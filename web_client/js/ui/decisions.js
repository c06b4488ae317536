// Decisions (docs/protocol.md, "Decisions"): the list of what the meeting
// decided, for everyone, in its own side panel; hosts and co-hosts get a
// "Mark decision" field above it and a remove button on each entry. The list
// is the server's (the `decisions` event carries it whole); nothing is
// decided here. The meeting's summary webhook carries the same list to the
// chat the meeting came from.

import { formatTime, t } from "../i18n.js";
import { CHAT_MAX_LENGTH } from "../protocol.js";
import { h } from "./dom.js";
import { errorText, renderList, smallButton } from "./kit.js";
import { setBadge } from "./side_panel.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {{id: number, text: string, by_id: string, by_name: string, at: number}} Decision */

export class DecisionsView {
  /**
   * @param {{button: HTMLButtonElement, body: HTMLElement, interaction: MeetingInteraction}} options
   */
  constructor({ button, body, interaction }) {
    this.button = button;
    this.interaction = interaction;
    this.list = h("ol.decision-list", { "data-testid": "decision-list", "i18n-aria-label": "decisions.list_label" });
    this.empty = h("p.panel-empty", { i18n: "decisions.empty" });
    this.input = /** @type {HTMLTextAreaElement} */ (
      h("textarea.chat-input", {
        "data-testid": "decision-input",
        rows: 2,
        maxlength: CHAT_MAX_LENGTH, // the chat's limit (docs/protocol.md, "Decisions")
        "i18n-placeholder": "decisions.placeholder",
        "i18n-aria-label": "decisions.input_label",
      })
    );
    this.mark = /** @type {HTMLButtonElement} */ (
      h("button.small.primary", { type: "submit", "data-testid": "mark-decision-button", i18n: "decisions.mark" })
    );
    this.error = h("p.panel-error", { role: "alert", "data-testid": "decision-error" });
    this.form = h("form.chat-form", {}, this.input, h("div.chat-form-row", {}, this.mark));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this._mark();
    });
    body.append(this.form, this.error, this.empty, this.list);
    this.render();
  }

  /** Show the list again (decisions, our role or the language changed). */
  render() {
    const decisions = /** @type {Decision[]} */ (this.interaction.decisions ?? []);
    const moderator = this.interaction.isModerator;
    renderList(this.list, decisions, {
      key: (decision) => String(decision.id),
      signature: (decision) => `${decision.text}|${moderator}`,
      build: (decision) => this._item(decision, moderator),
    });
    this.empty.hidden = decisions.length > 0;
    this.form.hidden = !moderator;
    setBadge(this.button, decisions.length);
  }

  /**
   * @param {Decision} decision
   * @param {boolean} moderator
   * @private
   */
  _item(decision, moderator) {
    const by = t("decisions.by", { name: decision.by_name, time: formatTime(decision.at * 1000) });
    return h(
      "li.decision-item",
      { "data-testid": "decision-item", "data-decision-id": decision.id },
      h("p.decision-text", { text: decision.text }),
      h("span.decision-by", { text: by }),
      moderator &&
        smallButton(t("decisions.remove"), { "data-testid": "remove-decision-button", "aria-label": t("decisions.remove_label", { text: decision.text }) }, () =>
          this._run(() => this.interaction.removeDecision(decision.id)),
        ),
    );
  }

  /** @private */
  async _mark() {
    const text = this.input.value;
    if (!text.trim()) return;
    const done = await this._run(() => this.interaction.markDecision(text));
    if (done) this.input.value = "";
  }

  /**
   * @param {() => Promise<unknown>} action
   * @returns {Promise<boolean>} whether the server took it
   * @private
   */
  async _run(action) {
    this.error.textContent = "";
    try {
      await action();
      return true;
    } catch (error) {
      this.error.textContent = errorText(error);
      return false;
    }
  }
}
