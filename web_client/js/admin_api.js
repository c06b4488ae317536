// The admin page's side of the REST API (docs/rest-api.md, "Recordings"):
// list, download and delete recordings and read their transcripts with an
// admin API key, and the texts a person reads when that fails. DOM-free.

import { errorText, formatNumber, t } from "./i18n.js";

/** The key lives in this tab only (sessionStorage), never in the address. */
export const KEY_STORAGE = "conf.admin-key";

/**
 * @typedef {object} RecordingFile
 * @property {string} name
 * @property {number} size bytes
 */

/**
 * @typedef {object} Composite
 * @property {"pending" | "rendering" | "ready" | "failed"} state
 * @property {number} progress 0..1
 * @property {string | null} file
 * @property {string | null} error
 * @property {number} [render_seconds]
 */

/**
 * @typedef {object} Captions the transcript as the composite's subtitle track
 * @property {"added" | "failed"} state
 * @property {number} cues
 * @property {string | null} error
 */

/**
 * @typedef {object} TranscriptStatus
 * @property {"disabled" | "pending" | "transcribing" | "ready" | "failed"} state
 * @property {number} progress 0..1
 * @property {string} engine
 * @property {string} language
 * @property {string[]} files
 * @property {number | null} segments
 * @property {string | null} error
 * @property {string | null} [error_code]
 * @property {Captions | null} [captions]
 * @property {string} [url] the route that serves it
 */

/** @typedef {import("./transcript_search.js").TranscriptSegment} TranscriptSegment */

/**
 * @typedef {object} Recording
 * @property {string} id
 * @property {"recording" | "processing" | "ready" | "incomplete" | "failed"} state
 * @property {string | null} meeting_id
 * @property {string | null} room
 * @property {string | null} title
 * @property {number | null} started_at seconds since the epoch
 * @property {number | null} ended_at
 * @property {number | null} duration seconds without pauses
 * @property {number} size bytes
 * @property {{id: string, name: string}[]} participants
 * @property {RecordingFile[]} files
 * @property {[number, number][]} pauses
 * @property {Composite | null} composite
 * @property {TranscriptStatus | null} [transcript] null: made before transcripts existed
 */

/** States that change by themselves: the list is polled while one is shown. */
export const LIVE_STATES = new Set(["recording", "processing"]);

/** Transcript states that change by themselves. */
export const TRANSCRIPT_WORKING = new Set(["pending", "transcribing"]);

/**
 * Will this recording change by itself (recorded, rendered, transcribed)?
 * @param {Recording} recording
 */
export function isChanging(recording) {
  const transcript = recording.transcript?.state;
  return LIVE_STATES.has(recording.state) || (transcript !== undefined && TRANSCRIPT_WORKING.has(transcript));
}

/** A failed request: `status` 0 when the server could not be reached. */
export class AdminApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 for a network error
   * @param {string} code the API's error code ("unauthorized", …), or "network_error"
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.name = "AdminApiError";
    this.status = status;
    this.code = code;
  }

  /** The key itself is the problem (wrong, revoked, or not an admin key). */
  get badKey() {
    return this.status === 401 || this.status === 403;
  }
}

/**
 * What to tell the admin about a failed request.
 * @param {unknown} error
 * @returns {string}
 */
export function adminErrorText(error) {
  if (!(error instanceof AdminApiError)) {
    return error instanceof Error ? error.message : String(error);
  }
  if (error.status === 0) {
    return t("admin.error_network");
  }
  if (error.status === 401) {
    return t("admin.error_unauthorized");
  }
  if (error.status === 403) {
    return t("admin.error_forbidden");
  }
  if (error.status === 404) return t("admin.error_gone");
  return t("admin.error_refused", { reason: errorText(error.code, error.message), status: String(error.status) });
}

/** Calls the recordings routes with `Authorization: Bearer <key>`. */
export class AdminApi {
  /**
   * @param {string} key an admin API key
   * @param {string} [base]
   */
  constructor(key, base = "/api/v1") {
    this.key = key;
    this.base = base;
  }

  /**
   * @param {string} method
   * @param {string} path under the API base
   * @returns {Promise<Response>} only 2xx answers; anything else throws AdminApiError
   */
  async request(method, path) {
    let response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.key}` },
        cache: "no-store",
      });
    } catch (error) {
      throw new AdminApiError(0, "network_error", error instanceof Error ? error.message : String(error));
    }
    if (response.ok) return response;
    let code = "http_error";
    let message = response.statusText || "request failed";
    try {
      const body = await response.json();
      if (body && typeof body.error === "object" && body.error) {
        code = String(body.error.code ?? code);
        message = String(body.error.message ?? message);
      }
    } catch {
      // not JSON: keep the status text
    }
    throw new AdminApiError(response.status, code, message);
  }

  /** Every recording, newest first. @returns {Promise<Recording[]>} */
  async list() {
    const response = await this.request("GET", "/recordings");
    const body = await response.json();
    return Array.isArray(body.recordings) ? body.recordings : [];
  }

  /**
   * A recording's transcript, its lines in order.
   * @param {string} id
   * @returns {Promise<TranscriptSegment[]>}
   */
  async transcript(id) {
    const response = await this.request("GET", `/recordings/${encodeURIComponent(id)}/transcript?format=json`);
    const body = await response.json();
    return Array.isArray(body?.segments) ? body.segments : [];
  }

  /** @param {string} id */
  async remove(id) {
    await this.request("DELETE", `/recordings/${encodeURIComponent(id)}`);
  }

  /**
   * One file of a recording, read into memory (the browser cannot send the
   * Authorization header on a plain link).
   * @param {string} id
   * @param {string} name
   * @param {(received: number, total: number | null) => void} [onProgress]
   * @returns {Promise<Blob>}
   */
  async download(id, name, onProgress) {
    const response = await this.request(
      "GET",
      `/recordings/${encodeURIComponent(id)}/files/${encodeURIComponent(name)}`,
    );
    const type = response.headers.get("Content-Type") ?? "application/octet-stream";
    const length = Number(response.headers.get("Content-Length"));
    const total = Number.isFinite(length) && length > 0 ? length : null;
    if (!response.body || !onProgress) return response.blob();
    const reader = response.body.getReader();
    /** @type {BlobPart[]} */
    const parts = [];
    let received = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        received += value.byteLength;
        onProgress(received, total);
      }
    } catch (error) {
      throw new AdminApiError(0, "network_error", error instanceof Error ? error.message : String(error));
    }
    return new Blob(parts, { type });
  }
}

/**
 * A size for people: "812 B", "4.2 MB", "1.35 GB" (powers of 1000).
 * @param {number} bytes
 */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 1000) return `${formatNumber(Math.max(0, Math.round(bytes || 0)))} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = "B";
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0;
  return `${formatNumber(value, { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}`;
}

/**
 * A duration as "1:05:09" or "4:07".
 * @param {number | null | undefined} seconds
 */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
