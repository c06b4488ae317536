// Live captions under the gallery: the "Captions" bar button (shown once a
// host turned captions on) and the caption lines, each with the speaker's
// name. A speaker's words replace themselves while they talk (partial
// captions) and stay a little after the sentence ends.

import { t } from "../i18n.js";
import { h } from "./dom.js";
import { errorText } from "./kit.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */

/** Lines shown at once (the newest at the bottom). */
const MAX_LINES = 3;
/** How long a finished sentence stays. */
const FINAL_STAYS_MS = 6000;
/** A sentence still open but silent this long is taken away (its final was lost). */
const PARTIAL_STAYS_MS = 10000;

export class CaptionsView {
  /**
   * @param {{button: HTMLButtonElement, area: HTMLElement, interaction: MeetingInteraction,
   *   onError: (message: string) => void, onStopped: (message: string) => void}} options
   *   area: where the lines go (under the gallery)
   */
  constructor({ button, area, interaction, onError, onStopped }) {
    this.button = button;
    this.interaction = interaction;
    this.area = area;
    this._onError = onError;
    this._onStopped = onStopped;
    /** @type {Map<string, {el: HTMLElement, name: HTMLElement, text: HTMLElement, timer: number}>} by caption id */
    this._lines = new Map();
    this._busy = false;
    button.addEventListener("click", () => void this._toggle());
    interaction.addEventListener("caption", (event) => this.show(/** @type {CustomEvent} */ (event).detail));
    interaction.addEventListener("captions", (event) => {
      const { stopped } = /** @type {CustomEvent} */ (event).detail;
      if (stopped) this._onStopped(stopped);
      this.render();
    });
    this.render();
  }

  /** Show the button and the area as the interaction says. */
  render() {
    const i = this.interaction;
    this.button.hidden = !i.captionsEnabled;
    this.button.setAttribute("aria-pressed", String(i.captionsOn));
    this.button.classList.toggle("active", i.captionsOn);
    this.button.title = i.captionsOn ? t("captions.hide") : t("captions.show");
    this.area.hidden = !i.captionsOn;
    if (!i.captionsOn) this.clear();
  }

  /** After a rejoin the server may not know we want captions: say it again. */
  resend() {
    if (!this.interaction.captionsOn) return;
    this.clear(); // a new caption process numbers its lines afresh
    this.interaction.showCaptions(true).catch((error) => {
      this._onError(errorText(error));
      this.render();
    });
  }

  /**
   * One caption: a new line, or new words for a line shown.
   * @param {{id: string, participantId: string, name: string, text: string, final: boolean}} caption
   */
  show(caption) {
    let line = this._lines.get(caption.id);
    if (!line) {
      const text = h("span.caption-text", { "data-testid": "caption-text" });
      const el = h(
        "p.caption-line",
        { "data-testid": "caption-line", "data-participant-id": caption.participantId },
        h("span.caption-name", { text: caption.name || t("common.someone") }),
        text,
      );
      line = { el, name: /** @type {HTMLElement} */ (el.firstElementChild), text, timer: 0 };
      this._lines.set(caption.id, line);
      this.area.append(el);
      while (this._lines.size > MAX_LINES) this._remove(this._lines.keys().next().value ?? "");
    }
    line.name.textContent = caption.name || t("common.someone");
    line.text.textContent = caption.text;
    line.el.dataset.final = String(caption.final);
    clearTimeout(line.timer);
    line.timer = window.setTimeout(() => this._remove(caption.id), caption.final ? FINAL_STAYS_MS : PARTIAL_STAYS_MS);
  }

  clear() {
    for (const id of [...this._lines.keys()]) this._remove(id);
  }

  /**
   * @param {string} id
   * @private
   */
  _remove(id) {
    const line = this._lines.get(id);
    if (!line) return;
    clearTimeout(line.timer);
    line.el.remove();
    this._lines.delete(id);
  }

  /** @private */
  async _toggle() {
    if (this._busy) return;
    this._busy = true;
    this.button.disabled = true;
    try {
      await this.interaction.showCaptions(!this.interaction.captionsOn);
    } catch (error) {
      this._onError(errorText(error));
    } finally {
      this._busy = false;
      this.button.disabled = false;
      this.render();
    }
  }
}
