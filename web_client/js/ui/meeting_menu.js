// The meeting menu of hosts and co-hosts: mute everyone, lock the meeting,
// lobby, passcode, host link, end the meeting for all; further sections (recording) first.

import { LANGUAGE_CHANGED, events, language as pageLanguage, locale, t } from "../i18n.js";
import { h } from "./dom.js";
import { Popover, confirmDialog, errorText, smallButton } from "./kit.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */

export class MeetingMenu {
  /**
   * @param {{button: HTMLButtonElement, interaction: MeetingInteraction, room: string, sections?: HTMLElement[]}} options
   *   sections: further menu sections (recording), shown first
   */
  constructor({ button, interaction, room, sections = [] }) {
    this.button = button;
    this.interaction = interaction;
    this.room = room;
    const i = interaction;
    this.lockAll = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", "data-testid": "mute-all-lock-checkbox" }));
    this.lockMeeting = switchInput("lock-meeting-toggle");
    this.lobby = switchInput("lobby-toggle");
    this.captions = switchInput("captions-enable-toggle");
    this.captionsHint = h("p.field-hint", { "data-testid": "captions-hint" });
    this.passcode = /** @type {HTMLInputElement} */ (
      h("input", { type: "text", "data-testid": "passcode-setting-input", maxlength: 64, autocomplete: "off", "aria-label": t("prejoin.passcode_label"), placeholder: t("menu.no_passcode_placeholder") })
    );
    this.passcodeNow = h("p.field-hint", { "data-testid": "current-passcode" });
    this.copyLink = smallButton(t("menu.copy_host_link"), { "data-testid": "copy-host-link-button" }, () => void this._copyHostLink());
    this.linkOut = /** @type {HTMLInputElement} */ (
      h("input.link-output", { type: "text", readonly: true, "data-testid": "host-link-output", "aria-label": t("menu.host_link"), hidden: true })
    );
    this.message = h("p.panel-note", { "aria-live": "polite", "data-testid": "meeting-menu-status" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "meeting-menu-error" });
    const passcodeForm = h(
      "form.passcode-form",
      {},
      this.passcode,
      h("button.small", { type: "submit", "data-testid": "passcode-save-button", i18n: "common.save" }),
    );
    passcodeForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = this.passcode.value.trim();
      this._run(() => i.configureMeeting({ passcode: value ? value : null }), value ? t("menu.passcode_saved") : t("menu.passcode_removed"));
    });
    this.hostOnly = h("div.menu-section", {}, h("h3", { i18n: "menu.host_link" }), h("p.field-hint", { i18n: "menu.host_link_hint" }), this.copyLink, this.linkOut);
    const el = h(
      "div.meeting-menu",
      { "data-testid": "meeting-menu", role: "dialog", "aria-label": t("menu.label") },
      ...sections,
      h(
        "div.menu-section",
        {},
        h("h3", { i18n: "menu.microphones" }),
        smallButton(t("menu.mute_all"), { "data-testid": "mute-all-button", class: "small primary" }, () =>
          this._run(() => i.muteAll(this.lockAll.checked), this.lockAll.checked ? t("menu.muted_locked") : t("menu.muted")),
        ),
        h("label.check", {}, this.lockAll, h("span", { i18n: "menu.and_lock" })),
        smallButton(t("menu.unlock_all"), { "data-testid": "unlock-all-button" }, () =>
          this._run(() => i.unlockMicrophone(), t("menu.unlocked")),
        ),
      ),
      h(
        "div.menu-section",
        {},
        h("h3", { i18n: "menu.access" }),
        h("label.check", {}, this.lockMeeting, h("span", { i18n: "menu.lock_meeting" })),
        h("label.check", {}, this.lobby, h("span", { i18n: "menu.lobby" })),
        h("label.field", {}, h("span", { i18n: "menu.passcode" }), passcodeForm),
        this.passcodeNow,
      ),
      h(
        "div.menu-section",
        {},
        h("h3", { i18n: "captions.region_label" }),
        h("label.check", {}, this.captions, h("span", { i18n: "menu.offer_captions" })),
        this.captionsHint,
      ),
      this.hostOnly,
      h(
        "div.menu-section",
        {},
        smallButton(t("menu.end_for_all"), { "data-testid": "end-meeting-button", class: "small danger" }, () => void this._end()),
      ),
      this.message,
      this.error,
    );
    this.lockMeeting.addEventListener("change", () => {
      const locked = this.lockMeeting.checked;
      this._run(() => i.lockMeeting(locked), locked ? t("menu.locked") : t("menu.unlocked_meeting"));
    });
    this.lobby.addEventListener("change", () => {
      const on = this.lobby.checked;
      this._run(() => i.configureMeeting({ lobby_enabled: on }), on ? t("menu.lobby_on") : t("menu.lobby_off"));
    });
    this.captions.addEventListener("change", () => {
      const on = this.captions.checked;
      this._run(() => i.setCaptionsEnabled(on), on ? t("menu.captions_on") : t("menu.captions_off"));
    });
    this.popover = new Popover(button, el);
    events.addEventListener(LANGUAGE_CHANGED, () => this.render());
    this.render();
  }

  /** Show the meeting's settings as the server last said. */
  render() {
    const i = this.interaction;
    this.button.hidden = !i.isModerator;
    if (!i.isModerator) this.popover.close();
    this.lockMeeting.checked = i.locked;
    this.lobby.checked = i.lobbyEnabled;
    this.captions.checked = i.captionsEnabled;
    const language = i.language ? ` ${t("menu.spoken_language", { language: languageName(i.language) })}` : "";
    this.captionsHint.textContent = `${t("menu.captions_hint")}${language}`;
    if (document.activeElement !== this.passcode) this.passcode.value = i.passcode ?? "";
    this.passcodeNow.textContent = i.hasPasscode
      ? i.passcode ? t("menu.current_passcode", { passcode: i.passcode }) : t("menu.has_passcode")
      : t("menu.no_passcode");
    this.hostOnly.hidden = !i.hostKey;
  }

  /** The host link, or null if we are no host. */
  hostLink() {
    const key = this.interaction.hostKey;
    if (!key) return null;
    return `${location.origin}/r/${encodeURIComponent(this.room)}?${new URLSearchParams({ host_key: key })}`;
  }

  /** @private */
  async _copyHostLink() {
    const link = this.hostLink();
    if (!link) return;
    this.linkOut.value = link;
    this.linkOut.hidden = false;
    try {
      await navigator.clipboard.writeText(link);
      this.message.textContent = t("menu.link_copied");
    } catch {
      this.linkOut.select();
      this.message.textContent = t("menu.copy_link_manually");
    }
  }

  /** @private */
  async _end() {
    const sure = await confirmDialog({
      title: t("menu.end_confirm_title"),
      message: t("menu.end_confirm_text"),
      confirmLabel: t("menu.end_confirm"),
      danger: true,
    });
    if (sure) this._run(() => this.interaction.endMeeting(), "");
  }

  /**
   * @param {() => Promise<unknown>} action
   * @param {string} done what to say when it worked
   * @private
   */
  _run(action, done) {
    this.error.textContent = "";
    this.message.textContent = "";
    action().then(
      () => {
        this.message.textContent = done;
        this.render();
      },
      (error) => {
        this.error.textContent = errorText(error);
        this.render(); // back to what the server has
      },
    );
  }
}

/**
 * "English (United States)" for "en-US" where the browser knows the name.
 * @param {string} tag
 */
function languageName(tag) {
  try {
    return new Intl.DisplayNames([locale(), pageLanguage()], { type: "language" }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/**
 * A check box shown as a switch.
 * @param {string} testid
 * @returns {HTMLInputElement}
 */
function switchInput(testid) {
  return /** @type {HTMLInputElement} */ (h("input.switch", { type: "checkbox", role: "switch", "data-testid": testid }));
}
