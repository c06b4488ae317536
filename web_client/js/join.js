// The `join` request and the lobby wait that may follow it (docs/protocol.md,
// "join" and "Additions to join"). DOM-free; used by session.js.

import { errorText, t } from "./i18n.js";
import { PROTOCOL_VERSION, ProtocolError } from "./protocol.js";

/** @typedef {import("./protocol.js").JoinResult} JoinResult */
/** @typedef {import("./protocol.js").LobbyWait} LobbyWaitAck */
/** @typedef {(event: string, payload: object) => Promise<Record<string, any>>} Request */

/** Join errors that retrying (without the resume token, or at all) would not cure. */
export const FINAL_JOIN_ERRORS = new Set([
  "room_full",
  "media_ports_full",
  "unsupported_protocol",
  "wrong_passcode",
  "meeting_locked",
  "banned",
  "meeting_ended",
  "lobby_full",
  "unknown_checkin",
  "invalid_token",
]);

/**
 * @typedef {object} JoinFields
 * @property {string} room
 * @property {string} name
 * @property {string | null} token the resume token, if resuming
 * @property {string | null} clientId
 * @property {string | null} hostKey
 * @property {string | null} passcode
 * @property {Record<string, string>} [extra] more fields: presence (`mode`, `zone`, `checkin`), `token`
 */

/**
 * Send `join`; if the server refuses a resuming join for a reason the token may
 * be to blame for, join once more as someone new.
 * @param {Request} request
 * @param {JoinFields} fields
 * @param {() => void} onTokenDropped called before joining again without the token
 * @returns {Promise<JoinResult | LobbyWaitAck>}
 */
export async function requestJoin(request, fields, onTokenDropped) {
  /** @type {Record<string, unknown>} */
  const payload = { protocol: PROTOCOL_VERSION, room: fields.room, name: fields.name };
  if (fields.token) payload.resume_token = fields.token;
  if (fields.clientId) payload.client_id = fields.clientId;
  if (fields.hostKey) payload.host_key = fields.hostKey;
  if (fields.passcode) payload.passcode = fields.passcode;
  Object.assign(payload, fields.extra);
  try {
    return /** @type {JoinResult | LobbyWaitAck} */ (await request("join", payload));
  } catch (error) {
    const final = !(error instanceof ProtocolError) || error.transient || FINAL_JOIN_ERRORS.has(error.code);
    if (!fields.token || final) throw error;
  }
  onTokenDropped();
  delete payload.resume_token;
  return /** @type {JoinResult | LobbyWaitAck} */ (await request("join", payload));
}

/**
 * Waiting in the lobby: resolves with the full join acknowledgement that comes
 * with `lobby_admitted`, rejects on `lobby_denied` (a ProtocolError with its code)
 * or `cancel()`. An answer that arrives before `wait()` is kept for it.
 */
export class LobbyWait {
  constructor() {
    /** @type {{resolve: (result: JoinResult) => void, reject: (error: Error) => void} | null} */
    this._pending = null;
    /** @type {{event: string, payload: any} | null} */
    this._early = null;
  }

  get waiting() {
    return this._pending !== null;
  }

  /** @returns {Promise<JoinResult>} */
  wait() {
    return new Promise((resolve, reject) => {
      this._pending = { resolve, reject };
      const early = this._early;
      this._early = null;
      if (early) this.answer(early);
    });
  }

  /**
   * `lobby_admitted` or `lobby_denied` from the server.
   * @param {{event: string, payload: any}} message
   */
  answer(message) {
    const pending = this._pending;
    if (!pending) {
      this._early = message; // the `join` acknowledgement is still on its way
      return;
    }
    this._pending = null;
    const payload = message.payload ?? {};
    if (message.event === "lobby_admitted") {
      pending.resolve(payload);
    } else {
      const text = String(payload.message ?? "The host did not let you in.");
      pending.reject(new ProtocolError(String(payload.code ?? "denied"), text));
    }
  }

  /**
   * Stop waiting (we left, or the connection dropped).
   * @param {ProtocolError} error
   */
  cancel(error) {
    this._pending?.reject(error);
    this._pending = null;
    this._early = null;
  }
}

/**
 * What to tell a person whose join did not work.
 * @param {unknown} error
 */
export function joinFailureMessage(error) {
  if (error instanceof ProtocolError) {
    if (error.code === "store_unavailable" || error.code === "draining") {
      return t("join.server_trouble");
    }
    if (error.code === "media_ports_full") {
      return t("error.media_ports_full");
    }
    if (error.code === "unreachable") return t("join.unreachable");
    if (error.transient) return t("landing.unreachable");
    if (error.code === "denied") return t("join.denied");
    return t("join.failed", { reason: errorText(error.code, error.message) });
  }
  return t("join.failed", { reason: error instanceof Error ? error.message : String(error) });
}
