// What a person is told about a recording before anything else of the
// meeting page loads: the notice before publishing in a meeting that is being
// recorded (recording_consent.js decides when), and one sentence per change.

import { t } from "../i18n.js";
import { h } from "./dom.js";

/** @typedef {import("../protocol.js").RecordingStatus} RecordingStatus */
/** @typedef {import("../recording_consent.js").RecordingConsent} RecordingConsent */

/**
 * What changed, in one sentence.
 * @param {RecordingStatus | null} recording
 * @param {RecordingStatus | null} previous
 * @param {string | null} by
 */
export function changeText(recording, previous, by) {
  const who = by && by !== "api" ? by : "";
  const change = !recording ? "stopped" : recording.state === "paused" ? "paused" : previous ? "resumed" : "started";
  return who ? t(`recording.${change}_by`, { by: who }) : t(`recording.${change}`);
}

/**
 * The notice before publishing: "This meeting is being recorded", Continue / Leave.
 * Modal: nothing else on the page can be used until the person chooses.
 */
export class ConsentView {
  /** @param {RecordingConsent} consent */
  constructor(consent) {
    this.consent = consent;
    const proceed = h("button.primary", { type: "button", "data-testid": "recording-consent-continue", i18n: "recording.consent_continue" });
    const leave = h("button.secondary", { type: "button", "data-testid": "recording-consent-leave", i18n: "controls.leave" });
    this.dialog = /** @type {HTMLDialogElement} */ (
      h(
        "dialog.confirm-dialog.recording-consent",
        { "data-testid": "recording-consent", "aria-labelledby": "recording-consent-title", "aria-describedby": "recording-consent-text" },
        h("h2", { id: "recording-consent-title" }, h("span.recording-dot", { "aria-hidden": "true" }), " ", h("span", { i18n: "recording.consent_title" })),
        h("p", {
          id: "recording-consent-text",
          i18n: "recording.consent_text",
        }),
        h("div.dialog-buttons", {}, leave, proceed),
      )
    );
    this.dialog.addEventListener("cancel", (event) => event.preventDefault()); // Escape is no answer
    proceed.addEventListener("click", () => consent.accept());
    leave.addEventListener("click", () => consent.decline());
    consent.addEventListener("ask", () => {
      if (!this.dialog.isConnected) document.body.append(this.dialog);
      if (!this.dialog.open) this.dialog.showModal();
      proceed.focus();
    });
    consent.addEventListener("settled", () => {
      if (this.dialog.open) this.dialog.close();
      this.dialog.remove();
    });
  }
}
