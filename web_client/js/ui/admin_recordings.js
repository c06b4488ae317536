// The admin page's recordings list: one card per recording (phone-friendly),
// newest first, with its files to download, its transcript
// (ui/admin_transcript.js), a delete button and, while the composite is
// rendered or the transcript made, progress bars that are updated in place
// (so a focused button survives a refresh).

import { h } from "./dom.js";
import { renderList, smallButton } from "./kit.js";
import { formatBytes, formatDuration } from "../admin_api.js";
import { keepViewers, transcriptSection } from "./admin_transcript.js";
import { sharesSection } from "./share_links.js";

/** @typedef {import("../admin_api.js").Recording} Recording */
/** @typedef {import("../admin_api.js").RecordingFile} RecordingFile */

/** Files above this size get a note: the browser holds them in memory first. */
export const LARGE_FILE_BYTES = 500_000_000;

/** @type {Record<Recording["state"], string>} */
const STATE_LABELS = {
  recording: "Recording",
  processing: "Processing",
  ready: "Ready",
  incomplete: "Incomplete",
  failed: "Failed",
};

/**
 * @typedef {object} RowActions
 * @property {(recording: Recording, file: RecordingFile, button: HTMLButtonElement) => void} download
 * @property {(recording: Recording, button: HTMLButtonElement) => void} remove
 * @property {import("./admin_transcript.js").LoadTranscript} transcript
 * @property {import("../share_admin_api.js").ShareAdminApi | null} shares the share links (null: none)
 */

/**
 * The name a person knows the recording by.
 * @param {Recording} recording
 */
export function recordingTitle(recording) {
  return recording.title || recording.room || recording.meeting_id || "Untitled meeting";
}

/**
 * @param {number | null} seconds since the epoch
 * @returns {HTMLElement}
 */
function timeElement(seconds) {
  if (seconds === null || seconds === undefined) return h("span", { text: "–" });
  const date = new Date(seconds * 1000);
  const text = date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  return h("time", { datetime: date.toISOString(), text });
}

/**
 * What the state badge explains beside the state.
 * @param {Recording} recording
 */
function stateDetail(recording) {
  const composite = recording.composite;
  if (recording.state === "processing") {
    return composite?.state === "pending" ? "Composite video waiting to be rendered" : "Rendering the composite video";
  }
  if (recording.state === "recording") return "Being recorded now";
  if (recording.state === "incomplete") return "The server stopped while recording; the files play up to about their last second";
  if (recording.state === "failed") {
    return composite?.error ? `Composite failed: ${composite.error}` : "Nothing could be recorded";
  }
  return "";
}

/**
 * @param {string} label
 * @param {Node | string} value
 */
function fact(label, value) {
  return h("div.admin-fact", {}, h("dt", { text: label }), h("dd", {}, value));
}

/**
 * One recording's card.
 * @param {Recording} recording
 * @param {RowActions} actions
 * @returns {HTMLElement}
 */
function buildRow(recording, actions) {
  const titleId = `rec-${recording.id}-title`;
  const title = recordingTitle(recording);
  const names = recording.participants.map((p) => p.name);
  const live = recording.state === "recording";

  const progressRow =
    recording.state === "processing"
      ? h(
          "div.admin-progress",
          {},
          h("progress", {
            "data-testid": "recording-progress",
            max: 1,
            value: recording.composite?.progress ?? 0,
            "aria-label": `Composite video of ${title}`,
          }),
          h("span.admin-progress-text", { "aria-hidden": "true" }),
        )
      : null;

  const files = h(
    "ul.admin-files",
    { "aria-label": `Files of ${title}` },
    ...recording.files.map((file) => {
      const button = smallButton(
        "Download",
        {
          "data-testid": "recording-download-link",
          "data-file": file.name,
          "aria-label": `Download ${file.name} (${formatBytes(file.size)})`,
        },
        () => actions.download(recording, file, button),
      );
      return h(
        "li.admin-file",
        {},
        h("span.admin-file-name", { text: file.name }),
        h("span.admin-file-size", { text: formatBytes(file.size) }),
        button,
      );
    }),
  );
  const large = recording.files.some((file) => file.size > LARGE_FILE_BYTES);

  const remove = smallButton(
    "Delete",
    {
      "data-testid": "recording-delete-button",
      class: "small danger",
      "aria-label": `Delete the recording ${title}`,
      disabled: live,
      title: live ? "Stop the recording before deleting it" : undefined,
    },
    () => actions.remove(recording, remove),
  );

  const detail = stateDetail(recording);
  return h(
    "li.admin-recording",
    {
      "data-testid": "recording-row",
      "data-recording-id": recording.id,
      "data-state": recording.state,
      "aria-labelledby": titleId,
    },
    h(
      "div.admin-recording-head",
      {},
      h("h3", { id: titleId, text: title }),
      h(`span.admin-state.state-${recording.state}`, { text: STATE_LABELS[recording.state] ?? recording.state }),
    ),
    detail ? h("p.admin-state-detail", { text: detail }) : null,
    progressRow,
    h(
      "dl.admin-facts",
      {},
      recording.room && recording.room !== title ? fact("Room", recording.room) : null,
      fact("Started", timeElement(recording.started_at)),
      fact("Duration", live ? "still recording" : formatDuration(recording.duration)),
      fact("Size", formatBytes(recording.size)),
      fact(
        `Participants (${names.length})`,
        names.length ? names.join(", ") : "nobody",
      ),
    ),
    transcriptSection(recording, title, actions.transcript),
    sharesSection(recording, title, actions.shares),
    recording.files.length ? files : h("p.admin-state-detail", { text: "No files yet." }),
    large
      ? h("p.admin-note", {
          text:
            "Large files are read into the browser's memory before they are saved. " +
            "For very large files use a command line instead: " +
            `curl -H "Authorization: Bearer $KEY" -o FILE ${location.origin}/api/v1/recordings/${recording.id}/files/FILE`,
        })
      : null,
    h("div.admin-actions", {}, remove),
  );
}

/**
 * Set a progress bar's value (0..1) and its percentage text.
 * @param {HTMLElement} row
 * @param {string} testid the bar's data-testid
 * @param {number | undefined} progress
 */
function updateProgress(row, testid, progress) {
  const bar = /** @type {HTMLProgressElement | null} */ (row.querySelector(`[data-testid="${testid}"]`));
  if (!bar) return;
  const value = Math.min(1, Math.max(0, Number(progress ?? 0)));
  const rounded = Math.round(value * 1000) / 1000;
  if (bar.getAttribute("value") !== String(rounded)) bar.setAttribute("value", String(rounded));
  const percent = `${Math.round(value * 100)} %`;
  bar.setAttribute("aria-valuetext", percent);
  const text = bar.parentElement?.querySelector(".admin-progress-text");
  if (text) text.textContent = percent;
}

/**
 * Show `recordings` (newest first, as the server sends them) in `container`.
 * A card is rebuilt only when something but a progress changed.
 * @param {HTMLElement} container
 * @param {Recording[]} recordings
 * @param {RowActions} actions
 */
export function renderRecordings(container, recordings, actions) {
  /** @type {Map<string, Recording>} */
  const byId = new Map(recordings.map((r) => [r.id, r]));
  renderList(container, recordings, {
    key: (r) => r.id,
    signature: (r) =>
      JSON.stringify({
        ...r,
        composite: r.composite ? { ...r.composite, progress: null } : null,
        transcript: r.transcript ? { ...r.transcript, progress: null } : null,
      }),
    build: (r) => buildRow(r, actions),
  });
  for (const row of /** @type {NodeListOf<HTMLElement>} */ (container.querySelectorAll('[data-testid="recording-row"]'))) {
    const recording = byId.get(row.dataset.recordingId ?? "");
    if (!recording) continue;
    updateProgress(row, "recording-progress", recording.composite?.progress);
    updateProgress(row, "transcript-progress", recording.transcript?.progress);
  }
  keepViewers(new Set(byId.keys()));
}
