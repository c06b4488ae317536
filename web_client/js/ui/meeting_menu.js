// The meeting menu of hosts and co-hosts: mute everyone, lock the meeting,
// lobby, passcode, host link, end the meeting for all; further sections (recording) first.

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
      h("input", { type: "text", "data-testid": "passcode-setting-input", maxlength: 64, autocomplete: "off", "aria-label": "Meeting passcode", placeholder: "No passcode" })
    );
    this.passcodeNow = h("p.field-hint", { "data-testid": "current-passcode" });
    this.copyLink = smallButton("Copy host link", { "data-testid": "copy-host-link-button" }, () => void this._copyHostLink());
    this.linkOut = /** @type {HTMLInputElement} */ (
      h("input.link-output", { type: "text", readonly: true, "data-testid": "host-link-output", "aria-label": "Host link", hidden: true })
    );
    this.message = h("p.panel-note", { "aria-live": "polite", "data-testid": "meeting-menu-status" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "meeting-menu-error" });
    const passcodeForm = h(
      "form.passcode-form",
      {},
      this.passcode,
      h("button.small", { type: "submit", "data-testid": "passcode-save-button", text: "Save" }),
    );
    passcodeForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = this.passcode.value.trim();
      this._run(() => i.configureMeeting({ passcode: value ? value : null }), value ? "Passcode saved." : "Passcode removed.");
    });
    this.hostOnly = h("div.menu-section", {}, h("h3", { text: "Host link" }), h("p.field-hint", { text: "Whoever opens it joins as a host." }), this.copyLink, this.linkOut);
    const el = h(
      "div.meeting-menu",
      { "data-testid": "meeting-menu", role: "dialog", "aria-label": "Meeting settings" },
      ...sections,
      h(
        "div.menu-section",
        {},
        h("h3", { text: "Microphones" }),
        smallButton("Mute everyone", { "data-testid": "mute-all-button", class: "small primary" }, () =>
          this._run(() => i.muteAll(this.lockAll.checked), this.lockAll.checked ? "Everyone is muted and locked." : "Everyone is muted."),
        ),
        h("label.check", {}, this.lockAll, h("span", { text: "and lock their microphones" })),
        smallButton("Unlock all microphones", { "data-testid": "unlock-all-button" }, () =>
          this._run(() => i.unlockMicrophone(), "Everyone may unmute again."),
        ),
      ),
      h(
        "div.menu-section",
        {},
        h("h3", { text: "Access" }),
        h("label.check", {}, this.lockMeeting, h("span", { text: "Lock the meeting (nobody new may join)" })),
        h("label.check", {}, this.lobby, h("span", { text: "Lobby: new people wait until admitted" })),
        h("label.field", {}, h("span", { text: "Passcode" }), passcodeForm),
        this.passcodeNow,
      ),
      h(
        "div.menu-section",
        {},
        h("h3", { text: "Live captions" }),
        h("label.check", {}, this.captions, h("span", { text: "Offer live captions of what people say" })),
        this.captionsHint,
      ),
      this.hostOnly,
      h(
        "div.menu-section",
        {},
        smallButton("End meeting for all", { "data-testid": "end-meeting-button", class: "small danger" }, () => void this._end()),
      ),
      this.message,
      this.error,
    );
    this.lockMeeting.addEventListener("change", () => {
      const locked = this.lockMeeting.checked;
      this._run(() => i.lockMeeting(locked), locked ? "The meeting is locked." : "The meeting is open again.");
    });
    this.lobby.addEventListener("change", () => {
      const on = this.lobby.checked;
      this._run(() => i.configureMeeting({ lobby_enabled: on }), on ? "New people wait in the lobby." : "The lobby is off.");
    });
    this.captions.addEventListener("change", () => {
      const on = this.captions.checked;
      this._run(() => i.setCaptionsEnabled(on), on ? "Live captions are on: everyone may show them." : "Live captions are off.");
    });
    this.popover = new Popover(button, el);
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
    const language = i.language ? ` Spoken language: ${languageName(i.language)}.` : "";
    this.captionsHint.textContent = `Recognized on this server; everyone chooses whether to show them.${language}`;
    if (document.activeElement !== this.passcode) this.passcode.value = i.passcode ?? "";
    this.passcodeNow.textContent = i.hasPasscode
      ? i.passcode ? `Current passcode: ${i.passcode}` : "The meeting has a passcode."
      : "No passcode: anyone with the link may join.";
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
      this.message.textContent = "Host link copied. Share it only with people who should be hosts.";
    } catch {
      this.linkOut.select();
      this.message.textContent = "Copy the host link above (Ctrl+C). Share it only with people who should be hosts.";
    }
  }

  /** @private */
  async _end() {
    const sure = await confirmDialog({
      title: "End the meeting for everyone?",
      message: "Everyone is disconnected and nobody can join this meeting again.",
      confirmLabel: "End meeting",
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
    return new Intl.DisplayNames([navigator.language || "en"], { type: "language" }).of(tag) ?? tag;
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
