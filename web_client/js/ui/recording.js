// Recording: the indicator everyone sees, the hosts' record controls and the
// host's download links (sections of the meeting menu). Loaded once media is
// up; the notice before publishing is in recording_notice.js.

import { formatTime, t } from "../i18n.js";
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
      this.label.textContent = recording.state === "paused" ? t("recording.indicator_paused") : t("recording.indicator");
      this.el.title = recording.state === "paused" ? t("recording.indicator_paused_title") : t("recording.consent_title");
    } else {
      delete this.el.dataset.state;
    }
    if (announce) this.announcer.textContent = changeText(recording, previous, by);
  }
}

/** The server's recording errors, with a clearer text here than the general one (docs/protocol.md, "Recording"). */
const ERROR_KEYS = /** @type {Record<string, string>} */ ({
  recording_disabled: "error.recording_control_disabled",
  recording_quota_exceeded: "error.recording_control_quota_exceeded",
  recording_failed: "error.recording_control_failed",
  forbidden: "error.recording_forbidden",
});

/**
 * @param {unknown} error
 */
export function recordingErrorText(error) {
  if (error instanceof ProtocolError && ERROR_KEYS[error.code]) {
    const extra = error.code === "recording_failed" && error.message ? ` (${error.message})` : "";
    return t(ERROR_KEYS[error.code]) + extra;
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
      start: smallButton(t("recording.start"), { "data-testid": "record-start-button", class: "small danger" }, run("start")),
      pause: smallButton(t("recording.pause"), { "data-testid": "record-pause-button" }, run("pause")),
      resume: smallButton(t("recording.resume"), { "data-testid": "record-resume-button", class: "small primary" }, run("resume")),
      stop: smallButton(t("recording.stop"), { "data-testid": "record-stop-button" }, run("stop")),
    };
    this.state = h("p.field-hint", { "data-testid": "record-state" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "record-error" });
    this.busy = false;
    this.el = h(
      "div.menu-section",
      { "data-testid": "record-controls" },
      h("h3", { i18n: "recording.indicator" }),
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
        ? t("recording.state_recording")
        : state === "paused"
          ? t("recording.state_paused")
          : t("recording.state_off");
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

/** @param {string} state a recording's state @returns {string} its label */
const linkStateLabel = (state) =>
  ["recording", "processing", "ready", "incomplete", "failed"].includes(state) ? t(`recording.link_state_${state}`) : state;

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
    this.button = smallButton(t("recording.show_links"), { "data-testid": "recording-links-button" }, () => void this.load());
    this.hint = h("p.field-hint", {
      i18n: "recording.links_hint",
    });
    this.list = h("ul.recording-links", { "data-testid": "recording-links-list", "i18n-aria-label": "recording.of_this_meeting" });
    this.note = h("p.field-hint", { "aria-live": "polite", "data-testid": "recording-links-status" });
    this.error = h("p.panel-error", { role: "alert", "data-testid": "recording-links-error" });
    this.busy = false;
    /** whether the list was ever loaded (the button then says Refresh) */
    this.loaded = false;
    this.el = h(
      "div.menu-section",
      { "data-testid": "recording-links" },
      h("h3", { i18n: "recording.of_this_meeting" }),
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
    this.button.textContent = this.busy ? t("common.loading") : this.loaded ? t("recording.refresh_links") : t("recording.show_links");
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
      ? t("recording.count", { count: recordings.length })
      : t("recording.none_yet");
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
  const when = started ? formatTime(started) : null;
  const duration = recording.state === "recording" ? null : formatDuration(recording.duration);
  const facts = [linkStateLabel(recording.state), duration, when ? t("recording.started_at", { time: when }) : null];
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
                "aria-label": t("recording.download_file", { name: file.name, size: formatBytes(file.size) }),
              }),
              h("span.recording-file-size", { text: ` ${formatBytes(file.size)}` }),
            ),
          ),
        )
      : h("p.field-hint", { i18n: "recording.no_files" }),
    buildTranscriptLinks(recording),
    hostSharesSection(recording),
  );
}

/** @type {Record<string, string>} */
const TRANSCRIPT_FORMAT_KEYS = { vtt: "transcript.format_vtt", txt: "transcript.format_txt", json: "transcript.format_json" };

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
  const formats = Object.keys(TRANSCRIPT_FORMAT_KEYS).filter((format) => links[format]);
  /** @type {Record<string, string>} */
  const states = {
    disabled: t("transcript.state_disabled"),
    pending: t("transcript.state_pending"),
    transcribing: t("transcript.state_transcribing", { percent: Math.round((transcript.progress ?? 0) * 100) }),
    ready: t("transcript.state_ready"),
    failed: t("transcript.state_failed"),
  };
  return h(
    "div.recording-transcript",
    { "data-testid": "recording-transcript", "data-state": transcript.state },
    h("p.recording-link-facts", { text: t("transcript.state_line", { state: states[transcript.state] ?? transcript.state }) }),
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
                text: t(TRANSCRIPT_FORMAT_KEYS[format]),
                "aria-label": t("transcript.download", { format: t(TRANSCRIPT_FORMAT_KEYS[format]) }),
              }),
            ),
          ),
        )
      : null,
  );
}
