// Calls to a recording's share links (POST/GET /api/v1/recordings/{id}/shares,
// DELETE .../shares/{share_id}; docs/rest-api.md, "Recording share links"):
// the admin page's, with the admin key it already holds (admin_api.js), and a
// host's in the meeting menu, with the signed `shares_url` of
// `recording_links`. Errors are AdminApiError, as for the rest.

import { AdminApiError } from "./admin_api.js";

/**
 * @typedef {object} RecordingShare
 * @property {string} share_id
 * @property {string} url the player page, /s/<share id>
 * @property {"active" | "expired" | "revoked"} state
 * @property {number} created_at
 * @property {"admin" | "host"} created_by
 * @property {number} expires_at
 * @property {string | null} note
 * @property {number | null} revoked_at
 */
/**
 * @typedef {object} ShareAuditEntry
 * @property {number} at
 * @property {string} event
 * @property {string} share_id
 * @property {string | null} address
 * @property {string | null} detail
 */
/** @typedef {{shares: RecordingShare[], audit: ShareAuditEntry[], audit_dropped: number}} ShareListing */

/**
 * One call of the share routes: the JSON answer, or AdminApiError.
 * @param {string} url
 * @param {string} method
 * @param {Record<string, string>} headers
 * @param {object} [body] sent as JSON
 */
async function shareCall(url, method, headers, body) {
  const sent = body === undefined ? headers : { ...headers, "Content-Type": "application/json" };
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new AdminApiError(0, "network_error", error instanceof Error ? error.message : String(error));
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new AdminApiError(response.status, answer?.error?.code ?? "http_error", answer?.error?.message ?? "");
  }
  return answer;
}

/** With the admin page's key: any recording's shares. */
export class ShareAdminApi {
  /** @param {{key: string, base: string}} api the page's AdminApi (its key and base) */
  constructor(api) {
    this.headers = { Authorization: `Bearer ${api.key}` };
    this.base = api.base;
  }

  /** @param {string} recordingId @param {string} [rest] after .../shares */
  url(recordingId, rest = "") {
    return `${this.base}/recordings/${encodeURIComponent(recordingId)}/shares${rest}`;
  }

  /** @param {string} recordingId @returns {Promise<ShareListing>} */
  list(recordingId) {
    return shareCall(this.url(recordingId), "GET", this.headers);
  }

  /**
   * @param {string} recordingId
   * @param {{password: string, expires_in: number, note?: string}} fields
   * @returns {Promise<RecordingShare>}
   */
  create(recordingId, fields) {
    return shareCall(this.url(recordingId), "POST", this.headers, fields);
  }

  /** @param {string} recordingId @param {string} shareId @returns {Promise<RecordingShare>} */
  revoke(recordingId, shareId) {
    return shareCall(this.url(recordingId, `/${encodeURIComponent(shareId)}`), "DELETE", this.headers);
  }
}

/**
 * With a host's signed `shares_url` (`recording_links`, one hour): that one
 * recording's shares. The same methods as {@link ShareAdminApi}.
 */
export class HostShareApi {
  /** @param {string} sharesUrl `/api/v1/recordings/{id}/shares?download_token=…` */
  constructor(sharesUrl) {
    const [path, query] = sharesUrl.split("?");
    this.path = path;
    this.query = query ? `?${query}` : "";
  }

  /** @returns {Promise<ShareListing>} */
  list() {
    return shareCall(this.path + this.query, "GET", {});
  }

  /**
   * @param {string} _recordingId (the signed address names it)
   * @param {{password: string, expires_in: number, note?: string}} fields
   * @returns {Promise<RecordingShare>}
   */
  create(_recordingId, fields) {
    return shareCall(this.path + this.query, "POST", {}, fields);
  }

  /** @param {string} _recordingId @param {string} shareId @returns {Promise<RecordingShare>} */
  revoke(_recordingId, shareId) {
    return shareCall(`${this.path}/${encodeURIComponent(shareId)}${this.query}`, "DELETE", {});
  }
}
