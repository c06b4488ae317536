// The Socket.IO channel to the server: requests with acknowledgements as
// promises, server events as DOM-free EventTarget events. DOM-free.

import { io } from "/vendor/socket.io.esm.min.js";
import { ACK_TIMEOUT_MS, ProtocolError } from "./protocol.js";

/** Server -> client events of protocol v1. */
export const SERVER_EVENTS = [
  "participant_joined",
  "participant_updated",
  "participant_left",
  "subscriber_offer",
  "subscriber_tracks",
  "active_speaker",
  "hands_changed",
  "hand_called",
  "chat_message",
  "reaction",
  "poll_changed",
  "poll_deleted",
  "questionnaire_changed",
  "questionnaire_deleted",
  "meeting_updated",
  "meeting_state",
  "lobby_changed",
  "lobby_admitted",
  "lobby_denied",
  "muted_by_host",
  "removed",
  "meeting_ended",
  "spotlight_changed",
  "recording_changed",
  "room_moved",
  "media_quality",
  "publish_layers",
  "caption",
  "captions_stopped",
  "decisions",
];

/**
 * One Socket.IO connection at a time; `replace()` swaps in a fresh one, and
 * `moveTo()` / `backToEntry()` one to another node of a multi-node deployment
 * (the entry is the URL given at construction, by default the page's origin).
 *
 * Events (CustomEvent detail):
 * - `connect` {}: the current socket is (re)connected
 * - `disconnect` {reason}: the current socket dropped; reasons are socket.io's
 *   ("ping timeout", "transport close", "transport error", "io server disconnect")
 * - `message` {event, payload}: a server -> client event of the current socket
 */
export class SignalingChannel extends EventTarget {
  /**
   * @param {{url?: string, path?: string}} [options] url defaults to the page's origin
   */
  constructor(options = {}) {
    super();
    /** @type {string | undefined} the entry: where the page came from */
    this._entry = options.url;
    /** @type {string | undefined} the base URL of the current socket's node */
    this._url = options.url;
    /** counts sockets created, so a caller can tell its socket was swapped meanwhile */
    this._generation = 0;
    this._path = options.path ?? "/socket.io";
    /** @type {any} a socket.io-client Socket, or null before open() */
    this._socket = null;
  }

  get connected() {
    return Boolean(this._socket?.connected);
  }

  /** True when the current socket goes to the entry, not to a node it redirected us to. */
  get atEntry() {
    return this._url === this._entry;
  }

  /** Changes whenever another socket becomes the current one. */
  get generation() {
    return this._generation;
  }

  /** Open the connection (once); socket.io reconnects it on its own afterwards. */
  open() {
    if (!this._socket) {
      this._socket = this._createSocket();
    } else if (!this._socket.connected && !this._socket.active) {
      this._socket.connect();
    }
  }

  /**
   * Resolve once the current socket is connected. A socket to a node other
   * than the entry fails at its first connection error: that node may be gone,
   * and the caller goes back to the entry instead of waiting for it.
   * @param {number} timeoutMs
   */
  waitConnected(timeoutMs) {
    this.open();
    return waitForSocket(/** @type {any} */ (this._socket), timeoutMs, !this.atEntry);
  }

  /**
   * Send a client -> server message and wait for its acknowledgement.
   * Never queues while disconnected: a message meant for this connection must
   * not reach the next one.
   * @param {string} event
   * @param {object} payload
   * @returns {Promise<Record<string, any>>} the acknowledgement without `ok`
   * @throws {ProtocolError}
   */
  async request(event, payload) {
    const socket = this._socket;
    if (!socket || !socket.connected) {
      throw new ProtocolError("disconnected", "Not connected to the server.");
    }
    let ack;
    try {
      ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      throw socket.connected
        ? new ProtocolError("timeout", `The server did not answer "${event}" in time.`)
        : new ProtocolError("disconnected", "The connection to the server was lost.");
    }
    if (!ack || typeof ack !== "object") {
      throw new ProtocolError("invalid_ack", `The server's answer to "${event}" is malformed.`);
    }
    if (ack.ok !== true) {
      const error = ack.error ?? {};
      const { code, message, ...details } = error;
      throw new ProtocolError(String(code ?? "unknown_error"), String(message ?? `"${event}" was refused.`), details);
    }
    const { ok: _ok, ...result } = ack;
    return result;
  }

  /**
   * Make a fresh connection the current one (events of the old one are
   * ignored from now on). The old one stays open until the returned function
   * is called: closing it first would make the server drop the participant
   * before it can be resumed on the new connection.
   * @returns {() => void} closes the old connection
   */
  replace() {
    const old = this._socket;
    this._socket = this._createSocket();
    return () => old?.disconnect();
  }

  /**
   * Like `replace()`, but the fresh connection goes to another node
   * (`wrong_node`, `room_moved`); every later socket goes there too.
   * @param {string | undefined} url the node's base URL (Socket.IO at `{url}/socket.io`); undefined: the entry
   * @returns {() => void} closes the old connection
   */
  moveTo(url) {
    this._url = url === undefined || sameBase(url, this._entry) ? this._entry : url;
    return this.replace();
  }

  /** `moveTo()` the entry. @returns {() => void} closes the old connection */
  backToEntry() {
    return this.moveTo(this._entry);
  }

  /** Not connected to a node other than the entry (it may be gone): go back to the entry. */
  backToEntryIfNodeDown() {
    if (!this.connected && !this.atEntry) this.backToEntry()();
  }

  /** Close for good (a clean disconnect: the server removes us at once). */
  close() {
    this._socket?.disconnect();
  }

  /** @private */
  _createSocket() {
    /** @type {Record<string, any>} */
    const options = {
      path: this._path,
      autoConnect: false,
      forceNew: true,
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      timeout: 10000,
    };
    let socket;
    if (this._url) {
      // Socket.IO reads a URL's path as a namespace: a base URL's path goes into `path`.
      const base = new URL(this._url);
      options.path = base.pathname.replace(/\/+$/, "") + this._path;
      socket = io(base.origin, options);
    } else {
      socket = io(options);
    }
    this._generation += 1;
    const current = () => socket === this._socket;
    socket.on("connect", () => {
      if (current()) this._emit("connect", {});
    });
    socket.on("disconnect", (/** @type {string} */ reason) => {
      if (current()) this._emit("disconnect", { reason });
    });
    for (const event of SERVER_EVENTS) {
      socket.on(event, (/** @type {unknown} */ payload) => {
        if (current()) this._emit("message", { event, payload });
      });
    }
    socket.connect();
    return socket;
  }

  /**
   * @param {string} type
   * @param {object} detail
   * @private
   */
  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * @param {any} socket a socket.io client Socket
 * @param {number} timeoutMs
 * @param {boolean} failFast reject at the first connection error too
 * @returns {Promise<void>}
 */
function waitForSocket(socket, timeoutMs, failFast) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (/** @type {Error | null} */ error) => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
      if (error) reject(error);
      else resolve();
    };
    const onConnect = () => done(null);
    const onError = () => done(new ProtocolError("disconnected", "Could not reach the server."));
    const timer = setTimeout(onError, timeoutMs);
    socket.on("connect", onConnect);
    if (failFast) socket.on("connect_error", onError);
  });
}

/**
 * Whether two base URLs name the same place (undefined: the page's origin).
 * @param {string} url
 * @param {string | undefined} other
 */
function sameBase(url, other) {
  try {
    const page = globalThis.location?.href;
    const normal = (/** @type {string | undefined} */ u) => new URL(u ?? "/", page).href.replace(/\/+$/, "");
    return normal(url) === normal(other);
  } catch {
    return url === other;
  }
}
