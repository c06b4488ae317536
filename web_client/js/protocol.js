// Protocol v1 constants and types (docs/protocol.md). DOM-free.

export const PROTOCOL_VERSION = 1;

/** How long a request waits for its acknowledgement. */
export const ACK_TIMEOUT_MS = 10000;

export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** @typedef {"microphone" | "camera" | "screen"} Source */
export const SOURCES = /** @type {const} */ (["microphone", "camera", "screen"]);

/**
 * @typedef {object} Participant
 * @property {string} id
 * @property {string} name
 * @property {number} joined_at
 * @property {boolean} audio_muted
 * @property {boolean} video_muted
 * @property {boolean} screen_sharing
 * @property {boolean} connected
 */

/**
 * One m-section of a subscriber offer that carries media.
 * @typedef {object} Track
 * @property {string} mid
 * @property {"audio" | "video"} kind
 * @property {string} producer_id
 * @property {string} participant_id
 * @property {Source} source
 */

/**
 * @typedef {object} JoinResult
 * @property {number} protocol
 * @property {string} room
 * @property {string} participant_id
 * @property {string} resume_token
 * @property {boolean} resumed
 * @property {Participant[]} participants
 * @property {RTCIceServer[]} ice_servers
 */

/**
 * @typedef {object} SubscriberOffer
 * @property {number} revision
 * @property {string} sdp
 * @property {Track[]} tracks
 */

/** An error acknowledgement, or a request that got no acknowledgement at all. */
export class ProtocolError extends Error {
  /**
   * @param {string} code a stable code from docs/protocol.md, or one of the
   *   client-side codes `timeout` and `disconnected`
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
  }

  /** True when the server never answered (no verdict on the request itself). */
  get transient() {
    return this.code === "timeout" || this.code === "disconnected";
  }
}

/** @param {string} room */
export function isValidRoom(room) {
  return ROOM_PATTERN.test(room);
}

/** Unicode "C" characters, except the joiners that build emoji such as 👩‍💻. */
const FORBIDDEN_IN_NAMES = /(?![\u200c\u200d])\p{C}/u;

/**
 * The display name as the server will see it (trimmed, runs of white space
 * collapsed), or null if it breaks the rules: 1-64 characters, no Unicode
 * "C" category characters except the zero-width (non-)joiners of emoji.
 * @param {string} name
 * @returns {string | null}
 */
export function cleanName(name) {
  const cleaned = String(name ?? "").trim().split(/\s+/u).join(" ");
  const length = [...cleaned].length; // code points, as the server counts them
  if (length < 1 || length > 64 || FORBIDDEN_IN_NAMES.test(cleaned)) {
    return null;
  }
  return cleaned;
}
