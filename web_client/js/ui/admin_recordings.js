// The admin page's recordings list: one card per recording (phone-friendly),
// newest first, with its files to download, its transcript
// (ui/admin_transcript.js), a delete button and, while the composite is
// rendered or the transcript made, progress bars that are updated in place
// (so a focused button survives a refresh).

import { formatDateTime, formatNumber, t } from "../i18n.js";
import { h } from "./dom.js";
import { renderList, smallButton } from "./kit.js";
import { formatBytes, formatDuration } from "../admin_api.js";
import { keepViewers, transcriptSection } from "./admin_transcript.js";
import { sharesSection } from "./share_links.js";

/** @typedef {import("../admin_api.js").Recording} Recording */
/** @typedef {import("../admin_api.js").RecordingFile} RecordingFile */

/** Files above this size get a note: the browser holds them in memory first. */
export const LARGE_FILE_BYTES = 500_000_000;

/** @param {string} state @returns {string} the state's label */
const stateLabel = (state) =>
  ["recording", "processing", "ready", "incomplete", "failed"].includes(state) ? t(`admin.state_${state}`) : state;

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
  return recording.title || recording.room || recording.meeting_id || t("admin.untitled");
}

/**
 * @param {number | null} seconds since the epoch
 * @returns {HTMLElement}
 */
function timeElement(seconds) {
  if (seconds === null || seconds === undefined) return h("span", { text: "–" });
  const date = new Date(seconds * 1000);
  const text = formatDateTime(date);
  return h("time", { datetime: date.toISOString(), text });
}

/**
 * What the state badge explains beside the state.
 * @param {Recording} recording
 */
function stateDetail(recording) {
  const composite = recording.composite;
  if (recording.state === "processing") {
    return composite?.state === "pending" ? t("admin.detail_pending") : t("admin.detail_rendering");
  }
  if (recording.state === "recording") return t("admin.detail_recording");
  if (recording.state === "incomplete") return t("admin.detail_incomplete");
  if (recording.state === "failed") {
    return composite?.error ? t("admin.detail_composite_failed", { error: composite.error }) : t("admin.detail_failed");
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
            "aria-label": t("admin.composite_of", { title }),
          }),
          h("span.admin-progress-text", { "aria-hidden": "true" }),
        )
      : null;

  const files = h(
    "ul.admin-files",
    { "aria-label": t("admin.files_of", { title }) },
    ...recording.files.map((file) => {
      const button = smallButton(
        t("admin.download"),
        {
          "data-testid": "recording-download-link",
          "data-file": file.name,
          "aria-label": t("recording.download_file", { name: file.name, size: formatBytes(file.size) }),
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
    t("common.delete"),
    {
      "data-testid": "recording-delete-button",
      class: "small danger",
      "aria-label": t("admin.delete_label", { title }),
      disabled: live,
      title: live ? t("admin.stop_before_delete") : undefined,
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
      h(`span.admin-state.state-${recording.state}`, { text: stateLabel(recording.state) }),
    ),
    detail ? h("p.admin-state-detail", { text: detail }) : null,
    progressRow,
    h(
      "dl.admin-facts",
      {},
      recording.room && recording.room !== title ? fact(t("admin.room"), recording.room) : null,
      fact(t("admin.started"), timeElement(recording.started_at)),
      fact(t("admin.duration"), live ? t("admin.still_recording") : formatDuration(recording.duration)),
      fact(t("admin.size"), formatBytes(recording.size)),
      fact(
        t("admin.participants", { count: names.length }),
        names.length ? names.join(", ") : t("admin.nobody"),
      ),
    ),
    transcriptSection(recording, title, actions.transcript),
    sharesSection(recording, title, actions.shares),
    recording.files.length ? files : h("p.admin-state-detail", { text: t("recording.no_files") }),
    large
      ? h("p.admin-note", {
          text: `${t("admin.large_files")} curl -H "Authorization: Bearer $KEY" -o FILE ${location.origin}/api/v1/recordings/${recording.id}/files/FILE`,
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
  const percent = formatNumber(Math.round(value * 100) / 100, { style: "percent" });
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
