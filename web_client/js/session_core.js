// What the parts of a meeting session share: its state, the facts of the
// current join, and the events the UI listens to. The parts (membership.js,
// reconnect.js, session_media.js, roster.js) get a SessionCore instead of the
// session itself, so none of them imports session.js. Imports nothing; DOM-free.

/**
 * `waiting`: in the lobby; `removed` / `ended`: a host removed us or ended the meeting (final).
 * @typedef {"prejoin" | "joining" | "waiting" | "joined" | "reconnecting" | "left" | "failed" | "removed" | "ended"} State
 */

/** Give up reconnecting after this long and show "Connection lost". */
export const RECONNECT_GIVE_UP_MS = 30000;
/** How long to wait for the socket to connect before a `join`. */
export const CONNECT_WAIT_MS = 15000;
/** Pause between two join attempts when the server names none (`retry_after`). */
export const RETRY_PAUSE_MS = 1000;

/** The shared state of one MeetingSession; its events are dispatched on the session. */
export class SessionCore {
  /** @param {EventTarget} target where the events go (the MeetingSession) */
  constructor(target) {
    this._target = target;
    /** @type {State} */
    this.state = "prejoin";
    /** true while the server has us in the room on the current connection */
    this.inRoom = false;
    /** @type {string | null} */
    this.participantId = null;
    /** @type {string | null} */
    this.resumeToken = null;
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    /** @type {import("./publisher.js").SimulcastLayer[]} the camera layers the server asks for (empty: one) */
    this.simulcast = [];
  }

  /**
   * @param {State} state
   * @param {string} [message]
   * @param {string} [code] the error code, if a `join` was refused
   */
  setState(state, message, code) {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    console.info(`meeting: ${previous} -> ${state}${message ? ` (${message})` : ""}`);
    this.emit("state", { state, previous, message, code });
  }

  /**
   * @param {"info" | "warning" | "error"} level
   * @param {string} code
   * @param {string} message
   */
  notice(level, code, message) {
    this.emit("notice", { level, code, message });
  }

  /**
   * @param {string} type
   * @param {object} detail
   */
  emit(type, detail) {
    this._target.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** @param {number} ms */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
