// The admin page's calls to a recording's share links
// (POST/GET /api/v1/recordings/{id}/shares, DELETE .../shares/{share_id};
// docs/rest-api.md, "Recording share links"), with the admin key the page
// already holds (admin_api.js). Errors are AdminApiError, as for the rest.

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

export class ShareAdminApi {
  /** @param {{key: string, base: string}} api the page's AdminApi (its key and base) */
  constructor(api) {
    this.key = api.key;
    this.base = api.base;
  }

  /**
   * @param {string} method
   * @param {string} recordingId
   * @param {string} [rest] after .../shares
   * @param {object} [body] sent as JSON
   */
  async call(method, recordingId, rest = "", body = undefined) {
    /** @type {Record<string, string>} */
    const headers = { Authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(`${this.base}/recordings/${encodeURIComponent(recordingId)}/shares${rest}`, {
        method,
        headers,
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

  /** @param {string} recordingId @returns {Promise<ShareListing>} */
  list(recordingId) {
    return this.call("GET", recordingId);
  }

  /**
   * @param {string} recordingId
   * @param {{password: string, expires_in: number, note?: string}} fields
   * @returns {Promise<RecordingShare>}
   */
  create(recordingId, fields) {
    return this.call("POST", recordingId, "", fields);
  }

  /** @param {string} recordingId @param {string} shareId @returns {Promise<RecordingShare>} */
  revoke(recordingId, shareId) {
    return this.call("DELETE", recordingId, `/${encodeURIComponent(shareId)}`);
  }
}
