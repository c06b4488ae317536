// Recording: the indicator everyone sees, the hosts' record controls (a section
// of the meeting menu) and the notice shown before publishing in a meeting
// that is being recorded (recording_consent.js decides when).

import { h } from "./dom.js";
import { errorText, smallButton } from "./kit.js";
import { ProtocolError } from "../protocol.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("../protocol.js").RecordingStatus} RecordingStatus */
/** @typedef {import("../recording_consent.js").RecordingConsent} RecordingConsent */

/**
 * A red dot and "Recording" ("Recording paused") over the gallery; hidden when
 * the meeting is not recorded. Changes are announced to screen readers.
 */
export class RecordingIndicator {
  /** @param {HTMLElement} root where the indicator goes */
  constructor(root) {
    this.label = h("span.recording-label");
    this.el = h(
      "div.recording-indicator",
      { "data-testid": "recording-indicator", hidden: true },
      h("span.recording-dot", { "aria-hidden": "true" }),
      this.label,
    );
    // A live region that is always there: a region that just appeared is often not read.
    this.announcer = h("div.visually-hidden", { "aria-live": "polite", "data-testid": "recording-announcer" });
    root.append(this.el, this.announcer);
  }

  /**
   * @param {RecordingStatus | null} recording
   * @param {{announce?: boolean, by?: string | null, previous?: RecordingStatus | null}} [change]
   */
  render(recording, { announce = false, by = null, previous = null } = {}) {
    this.el.hidden = !recording;
    if (recording) {
      this.el.dataset.state = recording.state;
      this.label.textContent = recording.state === "paused" ? "Recording paused" : "Recording";
      this.el.title = recording.state === "paused" ? "Recording is paused: nothing is recorded" : "This meeting is being recorded";
    } else {
      delete this.el.dataset.state;
    }
    if (announce) this.announcer.textContent = changeText(recording, previous, by);
  }
}

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

/** Clear texts for the server's recording errors (docs/protocol.md, "Recording"). */
const ERROR_TEXTS = /** @type {Record<string, string>} */ ({
  recording_disabled: "Recording is turned off on this server. Ask its administrator.",
  recording_quota_exceeded: "The recordings storage is full. An administrator must delete old recordings before a new one can start.",
  recording_failed: "The server could not write the recording.",
  forbidden: "Only hosts and co-hosts may control the recording.",
});

/**
 * @param {unknown} error
 */
export function recordingErrorText(error) {
  if (error instanceof ProtocolError && ERROR_TEXTS[error.code]) {
    const extra = error.code === "recording_failed" && error.message ? ` (${error.message})` : "";
    return ERROR_TEXTS[error.code] + extra;
  }
  return errorText(error);
}

/** Start / Pause / Resume / Stop for hosts and co-hosts, as a section of the meeting menu. */
export class RecordControls {
  /** @param {MeetingInteraction} interaction */
  constructor(interaction) {
    this.interaction = interaction;
    const run = (/** @type {"start" | "pause" | "resume" | "stop"} */ action) => () => void this._run(action);
    this.buttons = {
      start: smallButton("Start recording", { "data-testid": "record-start-button", class: "small danger" }, run("start")),
      pause: smallButton("Pause", { "data-testid": "record-pause-button" }, run("pause")),
      resume: smallButton("Resume", { "data-testid": "record-resume-button", class: "small primary" }, run("resume")),
      stop: smallButton("Stop recording", { "data-testid": "record-stop-button" }, run("stop")),
    };
    this.state = h("p.field-hint", { "data-testid": "record-state" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "record-error" });
    this.busy = false;
    this.el = h(
      "div.menu-section",
      { "data-testid": "record-controls" },
      h("h3", { text: "Recording" }),
      this.state,
      h("div.record-buttons", {}, this.buttons.start, this.buttons.pause, this.buttons.resume, this.buttons.stop),
      this.error,
    );
    this.render();
  }

  /** Show the buttons that fit the recording's state as the server last said. */
  render() {
    const recording = this.interaction.recording;
    const state = recording?.state ?? null;
    this.buttons.start.hidden = state !== null;
    this.buttons.pause.hidden = state !== "recording";
    this.buttons.resume.hidden = state !== "paused";
    this.buttons.stop.hidden = state === null;
    for (const button of Object.values(this.buttons)) button.disabled = this.busy;
    this.state.textContent =
      state === "recording"
        ? "Recording: everyone's audio and video are recorded."
        : state === "paused"
          ? "Paused: nothing is recorded until you resume."
          : "Not recording. Everyone is told when recording starts.";
  }

  /**
   * @param {"start" | "pause" | "resume" | "stop"} action
   * @private
   */
  async _run(action) {
    this.error.textContent = "";
    this.busy = true;
    this.render();
    try {
      await this.interaction.recordingAction(action);
    } catch (error) {
      this.error.textContent = recordingErrorText(error);
    } finally {
      this.busy = false;
      this.render();
    }
  }
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
