// Recording: the indicator everyone sees, the hosts' record controls and the
// host's download links (sections of the meeting menu). Loaded once media is
// up; the notice before publishing is in recording_notice.js.

import { h } from "./dom.js";
import { errorText, renderList, smallButton } from "./kit.js";
import { changeText } from "./recording_notice.js";
import { ProtocolError } from "../protocol.js";
import { formatBytes, formatDuration } from "../admin_api.js";
import { hostSharesSection } from "./share_links.js";

/** @typedef {import("../meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("../protocol.js").RecordingStatus} RecordingStatus */
/** @typedef {import("../meeting.js").HostRecording} HostRecording */

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

/** @type {Record<HostRecording["state"], string>} */
const LINK_STATE_LABELS = {
  recording: "Being recorded",
  processing: "Processing: the composite video is being rendered",
  ready: "Ready",
  incomplete: "Incomplete: the server stopped while recording",
  failed: "Failed",
};

/** The composite video first (the file most people want), then the rest in the server's order. */
const FIRST_FILE = "composite.mp4";

/**
 * The files of a recording in the order they are offered.
 * @param {HostRecording["files"]} files
 */
export function orderedFiles(files) {
  return [...files.filter((f) => f.name === FIRST_FILE), ...files.filter((f) => f.name !== FIRST_FILE)];
}

/**
 * The server's message as a sentence ("on this server …" -> "On this server ….").
 * @param {string} text
 */
function sentence(text) {
  const trimmed = text.trim();
  if (!trimmed) return trimmed;
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * "Recordings of this meeting" for the meeting's hosts (not co-hosts): on
 * demand, asks the server for the recordings with signed download links
 * (`recording_links`, valid one hour) and lists one link per file. Where the
 * deployment lets only administrators download, shows the server's refusal.
 */
export class RecordingLinks {
  /** @param {MeetingInteraction} interaction */
  constructor(interaction) {
    this.interaction = interaction;
    this.button = smallButton("Show recordings", { "data-testid": "recording-links-button" }, () => void this.load());
    this.hint = h("p.field-hint", {
      text: "Download links work for one hour, without an API key. Show the recordings again for fresh links.",
    });
    this.list = h("ul.recording-links", { "data-testid": "recording-links-list", "aria-label": "Recordings of this meeting" });
    this.note = h("p.field-hint", { "aria-live": "polite", "data-testid": "recording-links-status" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "recording-links-error" });
    this.busy = false;
    /** whether the list was ever loaded (the button then says Refresh) */
    this.loaded = false;
    this.el = h(
      "div.menu-section",
      { "data-testid": "recording-links" },
      h("h3", { text: "Recordings of this meeting" }),
      this.hint,
      this.button,
      this.note,
      this.list,
      this.error,
    );
    this.render();
  }

  /** Shown to hosts only; forgets the links when we are no host any more. */
  render() {
    const host = this.interaction.isHost;
    this.el.hidden = !host;
    if (!host && this.loaded) this._clear();
    this.button.disabled = this.busy;
    this.button.textContent = this.busy ? "Loading…" : this.loaded ? "Refresh recordings" : "Show recordings";
  }

  /** Ask the server for the recordings and their links, and show them. */
  async load() {
    if (this.busy) return;
    this.busy = true;
    this.error.textContent = "";
    this.note.textContent = "";
    this.render();
    try {
      const recordings = await this.interaction.recordingLinks();
      this.loaded = true;
      this._show(recordings);
    } catch (error) {
      this._clear();
      this.error.textContent = error instanceof ProtocolError ? sentence(error.message) || errorText(error) : errorText(error);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  /** @private */
  _clear() {
    this.loaded = false;
    renderList(this.list, [], { key: () => "", signature: () => "", build: () => h("li") });
    this.note.textContent = "";
  }

  /**
   * @param {HostRecording[]} recordings
   * @private
   */
  _show(recordings) {
    this.note.textContent = recordings.length
      ? `${recordings.length === 1 ? "1 recording" : `${recordings.length} recordings`}.`
      : "No recordings of this meeting yet.";
    renderList(this.list, recordings, {
      key: (r) => r.id,
      // The links are new on every load: rebuild each time.
      signature: (r) => JSON.stringify([r.state, r.duration, r.files, r.transcript]),
      build: (r) => buildLinkItem(r),
    });
  }
}

/**
 * One recording: state, duration and a download link per file.
 * @param {HostRecording} recording
 * @returns {HTMLElement}
 */
function buildLinkItem(recording) {
  const started = recording.started_at ? new Date(recording.started_at * 1000) : null;
  const when = started ? started.toLocaleTimeString(undefined, { timeStyle: "short" }) : null;
  const duration = recording.state === "recording" ? null : formatDuration(recording.duration);
  const facts = [LINK_STATE_LABELS[recording.state] ?? recording.state, duration, when ? `started ${when}` : null];
  const files = orderedFiles(recording.files);
  return h(
    "li.recording-link-item",
    { "data-testid": "recording-link-item", "data-recording-id": recording.id, "data-state": recording.state },
    h("p.recording-link-facts", { "data-testid": "recording-link-facts", text: facts.filter(Boolean).join(" · ") }),
    files.length
      ? h(
          "ul.recording-files",
          {},
          ...files.map((file) =>
            h(
              "li",
              {},
              h("a", {
                href: file.url,
                download: file.name,
                "data-testid": "recording-file-link",
                "data-file": file.name,
                text: file.name,
                "aria-label": `Download ${file.name} (${formatBytes(file.size)})`,
              }),
              h("span.recording-file-size", { text: ` ${formatBytes(file.size)}` }),
            ),
          ),
        )
      : h("p.field-hint", { text: "No files yet." }),
    buildTranscriptLinks(recording),
    hostSharesSection(recording),
  );
}

/** @type {Record<string, string>} */
const TRANSCRIPT_FORMAT_LABELS = { vtt: "Subtitles (WebVTT)", txt: "Text", json: "JSON" };

/**
 * The recording's transcript: its state, and once it is ready a signed link
 * per format (valid as long as the file links). Null for a recording made
 * before transcripts existed.
 * @param {HostRecording} recording
 * @returns {HTMLElement | null}
 */
function buildTranscriptLinks(recording) {
  const transcript = recording.transcript;
  if (!transcript) return null;
  const links = transcript.links ?? {};
  const formats = Object.keys(TRANSCRIPT_FORMAT_LABELS).filter((format) => links[format]);
  /** @type {Record<string, string>} */
  const states = {
    disabled: "turned off",
    pending: "waiting to be made",
    transcribing: `being made (${Math.round((transcript.progress ?? 0) * 100)} %)`,
    ready: "ready",
    failed: "could not be made",
  };
  return h(
    "div.recording-transcript",
    { "data-testid": "recording-transcript", "data-state": transcript.state },
    h("p.recording-link-facts", { text: `Transcript: ${states[transcript.state] ?? transcript.state}` }),
    formats.length
      ? h(
          "ul.recording-files",
          {},
          ...formats.map((format) =>
            h(
              "li",
              {},
              h("a", {
                href: links[format],
                download: `transcript.${format}`,
                "data-testid": "recording-transcript-link",
                "data-format": format,
                text: TRANSCRIPT_FORMAT_LABELS[format],
                "aria-label": `Download the transcript: ${TRANSCRIPT_FORMAT_LABELS[format]}`,
              }),
            ),
          ),
        )
      : null,
  );
}
