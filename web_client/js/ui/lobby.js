// The lobby as hosts and co-hosts see it: a card that shows up when someone
// starts waiting, with admit / deny per person and admit all.

import { t } from "../i18n.js";
import { h } from "./dom.js";
import { errorText, renderList, smallButton } from "./kit.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("../protocol.js").LobbyEntry} LobbyEntry */

export class LobbyView {
  /**
   * @param {{root: HTMLElement, interaction: MeetingInteraction}} options root: where the card goes
   */
  constructor({ root, interaction }) {
    this.interaction = interaction;
    /** the host put the card away; it comes back when someone new arrives */
    this.dismissed = false;
    this.title = h("h2", { id: "lobby-title" });
    this.list = h("ul.lobby-list");
    this.error = h("p.panel-error", { role: "alert", "data-testid": "lobby-error" });
    const hide = smallButton(t("lobby.later"), { "i18n-title": "lobby.later_label", "data-testid": "lobby-hide-button" }, () => {
      this.dismissed = true;
      this.render();
    });
    this.admitAll = smallButton(t("lobby.admit_all"), { "data-testid": "admit-all-button", class: "small primary" }, () => this._run(() => interaction.admit()));
    this.el = h(
      "section.lobby-card",
      { "data-testid": "lobby-panel", "aria-labelledby": "lobby-title", hidden: true },
      h("header.panel-header", {}, this.title, hide),
      this.list,
      this.error,
      h("div.panel-actions", {}, this.admitAll),
    );
    this.live = h("div.visually-hidden", { "aria-live": "assertive" });
    root.append(this.el, this.live);
  }

  /**
   * The lobby changed; `arrived` are the people who just started waiting.
   * @param {LobbyEntry[]} [arrived]
   */
  render(arrived = []) {
    const i = this.interaction;
    const lobby = i.isModerator ? i.lobby : [];
    if (arrived.length && i.isModerator) {
      this.dismissed = false;
      const names = arrived.map((entry) => entry.name).join(", ");
      this.live.textContent = t("lobby.arrived", { names, count: arrived.length });
    }
    renderList(this.list, lobby, {
      key: (entry) => entry.id,
      signature: (entry) => entry.name,
      build: (entry) => this._entry(entry),
    });
    this.title.textContent = t("lobby.title", { count: lobby.length });
    this.admitAll.hidden = lobby.length === 0;
    this.el.hidden = lobby.length === 0 || this.dismissed;
  }

  /** Show the card again (from the participants panel). */
  show() {
    this.dismissed = false;
    this.render();
    /** @type {HTMLElement | null} */ (this.el.querySelector('[data-testid="admit-button"]'))?.focus();
  }

  /**
   * @param {LobbyEntry} entry
   * @private
   */
  _entry(entry) {
    const i = this.interaction;
    return h(
      "li.lobby-entry",
      { "data-testid": "lobby-entry", "data-lobby-id": entry.id },
      h("span.lobby-name", { text: entry.name }),
      smallButton(t("lobby.admit"), { "data-testid": "admit-button", class: "small primary", "aria-label": t("lobby.admit_label", { name: entry.name }) }, () =>
        this._run(() => i.admit(entry.id)),
      ),
      smallButton(t("lobby.deny"), { "data-testid": "deny-button", "aria-label": t("a11y.action_for", { action: t("lobby.deny"), name: entry.name }), title: t("lobby.deny_label", { name: entry.name }) }, () => this._run(() => i.deny(entry.id))),
    );
  }

  /**
   * @param {() => Promise<unknown>} action
   * @private
   */
  _run(action) {
    this.error.textContent = "";
    action().catch((error) => (this.error.textContent = errorText(error)));
  }
}
