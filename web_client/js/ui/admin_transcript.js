// The transcript part of an admin page recording card: its state (with a
// progress bar while it is made, updated in place), and once it is ready a
// viewer that shows every line with its speaker's name and a search box that
// keeps only the matching lines, the matches marked.

import { t } from "../i18n.js";
import { h } from "./dom.js";
import { smallButton } from "./kit.js";
import { AdminApiError, TRANSCRIPT_WORKING, adminErrorText } from "../admin_api.js";
import { clockText, searchTranscript } from "../transcript_search.js";

/** @typedef {import("../admin_api.js").Recording} Recording */
/** @typedef {import("../admin_api.js").TranscriptStatus} TranscriptStatus */
/** @typedef {import("../transcript_search.js").TranscriptSegment} TranscriptSegment */
/** @typedef {import("../transcript_search.js").LineMatch} LineMatch */

/** @typedef {(recording: Recording) => Promise<TranscriptSegment[]>} LoadTranscript */

/** @param {string} state a transcript's state @returns {string} its label */
const stateLabel = (state) =>
  ["disabled", "pending", "transcribing", "ready", "failed"].includes(state) ? t(`admintranscript.state_${state}`) : state;

/**
 * Open viewers by recording id: a card rebuilt by a list refresh takes its
 * viewer along, so an open transcript and a half-typed search survive.
 * @type {Map<string, TranscriptViewer>}
 */
const viewers = new Map();

/**
 * What the state line says beside the state.
 * @param {TranscriptStatus} status
 */
function detailOf(status) {
  if (status.state === "failed") return status.error ? t("admintranscript.failed_because", { error: status.error }) : t("admintranscript.state_failed");
  if (status.state === "ready") {
    const lines = t("admintranscript.lines", { count: status.segments ?? 0 });
    const captions = status.captions?.state === "added" ? `; ${t("admintranscript.captions_added")}` : "";
    const broken = status.captions?.state === "failed" ? `; ${t("admintranscript.captions_failed", { error: status.captions.error ?? "" })}` : "";
    return `${lines}, ${status.language}${captions}${broken}`;
  }
  if (status.state === "disabled") return t("admintranscript.off");
  return `${status.engine}, ${status.language}`;
}

/**
 * A text with the [start, end) ranges wrapped in <mark> (text nodes only:
 * names and speech are anybody's text).
 * @param {string} text
 * @param {[number, number][]} ranges
 * @returns {Node[]}
 */
function marked(text, ranges) {
  /** @type {Node[]} */
  const nodes = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)));
    nodes.push(h("mark", { text: text.slice(start, end) }));
    at = end;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

/**
 * One transcript line: time, speaker, what was said.
 * @param {LineMatch} line
 */
function buildLine(line) {
  return h(
    "li.admin-transcript-line",
    { "data-testid": "transcript-line", "data-index": line.index },
    h("time.admin-transcript-time", { text: clockText(line.segment.start) }),
    h("span.admin-transcript-speaker", { "data-testid": "transcript-speaker" }, ...marked(line.speaker, line.inSpeaker)),
    h("span.admin-transcript-text", { "data-testid": "transcript-text" }, ...marked(line.segment.text, line.inText)),
  );
}

/** The transcript of one recording, loaded on demand, with its search box. */
class TranscriptViewer {
  /**
   * @param {Recording} recording
   * @param {LoadTranscript} load
   */
  constructor(recording, load) {
    this.recording = recording;
    this.load = load;
    /** @type {TranscriptSegment[] | null} */
    this.segments = null;
    this.busy = false;
    const searchId = `rec-${recording.id}-transcript-search`;
    this.search = /** @type {HTMLInputElement} */ (
      h("input", {
        id: searchId,
        type: "search",
        "data-testid": "transcript-search",
        "i18n-placeholder": "admintranscript.search_placeholder",
        autocomplete: "off",
      })
    );
    this.search.addEventListener("input", () => this.render());
    this.count = h("span.admin-transcript-count", { "data-testid": "transcript-match-count", "aria-live": "polite" });
    this.lines = h("ol.admin-transcript-lines", { "data-testid": "transcript-lines", "i18n-aria-label": "admintranscript.transcript" });
    this.error = h("p.admin-state-detail", { role: "alert", "data-testid": "transcript-error" });
    this.el = h(
      "div.admin-transcript",
      { "data-testid": "transcript-viewer", hidden: true },
      h(
        "div.admin-transcript-search",
        {},
        h("label", { for: searchId, i18n: "admintranscript.search_label" }),
        this.search,
        this.count,
      ),
      this.error,
      this.lines,
    );
  }

  get open() {
    return !this.el.hidden;
  }

  /** Show it (loading the transcript the first time) or hide it. */
  async toggle() {
    if (this.open) {
      this.el.hidden = true;
      return;
    }
    this.el.hidden = false;
    if (this.segments === null) await this.fetch();
    this.search.focus();
  }

  async fetch() {
    if (this.busy) return;
    this.busy = true;
    this.error.textContent = "";
    this.count.textContent = t("common.loading");
    try {
      this.segments = await this.load(this.recording);
    } catch (error) {
      // The server says why a transcript is missing (transcript_failed, …).
      const own = error instanceof AdminApiError && /transcript/.test(error.code);
      this.error.textContent = own ? error.message : adminErrorText(error);
      this.count.textContent = "";
    } finally {
      this.busy = false;
    }
    this.render();
  }

  /** The lines that match the search box, matches marked. */
  render() {
    if (this.segments === null) return;
    const query = this.search.value;
    const found = searchTranscript(this.segments, query);
    this.lines.replaceChildren(...found.map(buildLine));
    const total = this.segments.length;
    if (!total) this.count.textContent = t("admintranscript.nothing");
    else if (!query.trim()) this.count.textContent = t("admintranscript.lines", { count: total });
    else this.count.textContent = t("admintranscript.matches", { found: found.length, total });
  }
}

/**
 * The viewer of `recording`, the same one across refreshes.
 * @param {Recording} recording
 * @param {LoadTranscript} load
 */
function viewerFor(recording, load) {
  let viewer = viewers.get(recording.id);
  if (!viewer) {
    viewer = new TranscriptViewer(recording, load);
    viewers.set(recording.id, viewer);
  }
  viewer.recording = recording;
  viewer.load = load;
  return viewer;
}

/**
 * Forget the viewers of recordings that are gone.
 * @param {Set<string>} ids the recordings still listed
 */
export function keepViewers(ids) {
  for (const id of viewers.keys()) if (!ids.has(id)) viewers.delete(id);
}

/**
 * The transcript section of a card; null for a recording made before
 * transcripts existed.
 * @param {Recording} recording
 * @param {string} title the recording's title (for labels)
 * @param {LoadTranscript} load
 * @returns {HTMLElement | null}
 */
export function transcriptSection(recording, title, load) {
  const status = recording.transcript;
  if (!status) return null;
  const working = TRANSCRIPT_WORKING.has(status.state);
  const head = h(
    "div.admin-transcript-head",
    {},
    h("h4", { i18n: "admintranscript.transcript" }),
    h(`span.admin-state.transcript-${status.state}`, {
      "data-testid": "transcript-state",
      "data-state": status.state,
      text: stateLabel(status.state),
    }),
  );
  const progress = working
    ? h(
        "div.admin-progress",
        {},
        h("progress", {
          "data-testid": "transcript-progress",
          max: 1,
          value: status.progress ?? 0,
          "aria-label": t("admintranscript.of", { title }),
        }),
        h("span.admin-progress-text", { "aria-hidden": "true" }),
      )
    : null;
  let viewer = null;
  let button = null;
  if (status.state === "ready") {
    viewer = viewerFor(recording, load);
    const shown = viewer;
    button = smallButton(
      viewer.open ? t("admintranscript.hide") : t("admintranscript.show"),
      { "data-testid": "transcript-show-button", "aria-expanded": String(viewer.open) },
      async () => {
        await shown.toggle();
        if (button) {
          button.textContent = shown.open ? t("admintranscript.hide") : t("admintranscript.show");
          button.setAttribute("aria-expanded", String(shown.open));
        }
      },
    );
  }
  return h(
    "section.admin-transcript-section",
    { "data-testid": "transcript-section", "aria-label": t("admintranscript.of", { title }) },
    head,
    h("p.admin-state-detail", { "data-testid": "transcript-detail", text: detailOf(status) }),
    progress,
    button,
    viewer ? viewer.el : null,
  );
}
