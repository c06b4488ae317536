// Staying in the meeting through outages: a socket that drops, a peer
// connection that fails, a room that moves to another node (`room_moved`).
// Closes the peer connections, shows "Reconnecting…", joins again with the
// resume token until media flows, gives up after RECONNECT_GIVE_UP_MS.
// DOM-free; used by session.js (the join itself is membership.js's, passed in).

import { t } from "./i18n.js";
import { joinFailureMessage } from "./join.js";
import { retryPauseMs } from "./node_redirect.js";
import { ProtocolError } from "./protocol.js";
import { CONNECT_WAIT_MS, RECONNECT_GIVE_UP_MS, RETRY_PAUSE_MS, sleep } from "./session_core.js";

/** @typedef {import("./join.js").LobbyWait} LobbyWait */
/** @typedef {import("./session_core.js").SessionCore} SessionCore */
/** @typedef {import("./signaling.js").SignalingChannel} SignalingChannel */

/**
 * @typedef {object} ReconnectorOptions
 * @property {SessionCore} core
 * @property {SignalingChannel} signaling
 * @property {LobbyWait} lobby a wait in the lobby ends when the socket drops
 * @property {() => void} closePeers
 * @property {(token: string | null) => Promise<void>} enter sends `join` (resuming) and starts media
 * @property {(message: string, code?: string) => void} fail
 */

export class Reconnector {
  /** @param {ReconnectorOptions} options */
  constructor({ core, signaling, lobby, closePeers, enter, fail }) {
    this._core = core;
    this._signaling = signaling;
    this._lobby = lobby;
    this._closePeers = closePeers;
    this._enter = enter;
    this._fail = fail;
    /** @type {number | null} when the current outage started; null once media flows again */
    this._outageSince = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._giveUpTimer = undefined;
    this._resuming = false;
    /** @type {(() => void)[]} closes connections replaced during a resume */
    this._staleSockets = [];
  }

  /** True from a connection loss until media flows again. */
  get inOutage() {
    return this._outageSince !== null;
  }

  /** A fresh start (join, lobby): no outage is going on. */
  forgetOutage() {
    this._outageSince = null;
  }

  /**
   * @param {string} reason socket.io's disconnect reason
   */
  onSocketDown(reason) {
    this._core.inRoom = false;
    this._lobby.cancel(new ProtocolError("disconnected", "The connection to the server was lost while waiting."));
    if (this._core.state !== "joined" && this._core.state !== "reconnecting") return; // a pending join fails by itself
    if (!this._signaling.atEntry) {
      // Not retrying a node that may be gone: the entry knows where the room is now (`wrong_node`).
      this._signaling.backToEntry()();
    } else if (reason === "io server disconnect") {
      this._signaling.open(); // socket.io does not retry this one
    }
    this._start(false);
  }

  /**
   * `room_moved`: our node is draining; resume at `url` as after a network loss.
   * The old socket stays open until the resume worked, like after `replace()`;
   * the old node closing it later does nothing (it is no longer current).
   * @param {string | null} url
   */
  onRoomMoved(url) {
    if (!url) return;
    if (this._core.state === "waiting") {
      // In the lobby: the pending join follows it like a `wrong_node` (node_redirect.js).
      this._lobby.cancel(new ProtocolError("wrong_node", "The meeting moved to another server.", { url }));
    } else if (this._core.state === "joined" || this._core.state === "reconnecting") {
      this._core.inRoom = false;
      this._staleSockets.push(this._signaling.moveTo(url));
      this._start(false);
    }
  }

  /** @param {string} why */
  onPeerFailed(why) {
    if (!this._core.inRoom) return;
    console.warn("peer connection lost:", why);
    // The socket may still be up: resume on a fresh one, so the server
    // re-creates both peer connections.
    this._start(this._signaling.connected);
  }

  /** Media flows (or there is none to wait for): an outage is over. */
  onMediaUp() {
    this._outageSince = null;
    if (this._core.state === "reconnecting" && this._core.inRoom) {
      this.stop();
      this._core.setState("joined");
    }
  }

  /** No more give-up timer (joined, left, failed). */
  stop() {
    clearTimeout(this._giveUpTimer);
    this._giveUpTimer = undefined;
  }

  /** Close the connections a resume replaced (it worked, or we are leaving). */
  closeStaleSockets() {
    for (const close of this._staleSockets.splice(0)) close();
  }

  /**
   * @param {boolean} freshSocket
   * @private
   */
  _start(freshSocket) {
    this._closePeers();
    if (this._core.state === "joined" || this._giveUpTimer === undefined) {
      this._outageSince ??= Date.now();
      this._core.setState("reconnecting");
      const left = this._outageSince + RECONNECT_GIVE_UP_MS - Date.now();
      clearTimeout(this._giveUpTimer);
      this._giveUpTimer = setTimeout(() => this._giveUp(), Math.max(0, left));
    }
    if (freshSocket && this._signaling.connected) {
      this._core.inRoom = false;
      this._staleSockets.push(this._signaling.replace());
    }
    void this._resume();
  }

  /** Join again with the resume token until it works or time runs out. @private */
  async _resume() {
    if (this._resuming) return;
    this._resuming = true;
    try {
      while (this._core.state === "reconnecting" && !this._core.inRoom) {
        try {
          await this._signaling.waitConnected(CONNECT_WAIT_MS);
          if (this._core.state !== "reconnecting") return;
          await this._enter(this._core.resumeToken);
        } catch (error) {
          if (error instanceof ProtocolError && !error.transient) {
            this._fail(joinFailureMessage(error), error.code);
            return;
          }
          // A node we were sent to (`room_moved`) that cannot be reached may be gone: ask the entry again.
          this._signaling.backToEntryIfNodeDown();
          await sleep(retryPauseMs(error, RETRY_PAUSE_MS));
        }
      }
    } finally {
      this._resuming = false;
    }
  }

  /** @private */
  _giveUp() {
    this._giveUpTimer = undefined;
    if (this._core.state === "reconnecting") this._fail(t("room.connection_lost"));
  }
}
