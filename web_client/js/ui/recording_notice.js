// What a person is told about a recording before anything else of the
// meeting page loads: the notice before publishing in a meeting that is being
// recorded (recording_consent.js decides when), and one sentence per change.

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
  const who = by && by !== "api" ? `${by} ` : "";
  if (!recording) return who ? `${who}stopped the recording.` : "Recording stopped.";
  if (recording.state === "paused") return who ? `${who}paused the recording.` : "Recording paused.";
  if (previous) return who ? `${who}resumed the recording.` : "Recording resumed.";
  return who ? `${who}started recording this meeting.` : "This meeting is now being recorded.";
}

/**
 * The notice before publishing: "This meeting is being recorded", Continue / Leave.
 * Modal: nothing else on the page can be used until the person chooses.
 */
export class ConsentView {
  /** @param {RecordingConsent} consent */
  constructor(consent) {
    this.consent = consent;
    const proceed = h("button.primary", { type: "button", "data-testid": "recording-consent-continue", text: "Continue" });
    const leave = h("button.secondary", { type: "button", "data-testid": "recording-consent-leave", text: "Leave" });
    this.dialog = /** @type {HTMLDialogElement} */ (
      h(
        "dialog.confirm-dialog.recording-consent",
        { "data-testid": "recording-consent", "aria-labelledby": "recording-consent-title", "aria-describedby": "recording-consent-text" },
        h("h2", { id: "recording-consent-title" }, h("span.recording-dot", { "aria-hidden": "true" }), " This meeting is being recorded"),
        h("p", {
          id: "recording-consent-text",
          text:
            "Everyone's audio and video are recorded, yours too once you continue. " +
            "Your camera and microphone are not shared until you choose Continue.",
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
