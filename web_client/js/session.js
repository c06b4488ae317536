// The meeting session: join, publish, subscribe, mute, screen share, leave and
// reconnect, over protocol v1 (docs/protocol.md). DOM-free: the UI listens to
// its events and calls its methods.

import { LobbyWait, joinFailureMessage, requestJoin } from "./join.js";
import { LocalMedia } from "./local_media.js";
import { toDeviceError } from "./media.js";
import { MeetingInteraction } from "./meeting.js";
import { followRedirects, nodeUrl, passingTrouble, retryPauseMs } from "./node_redirect.js";
import { PeerPair } from "./peer_pair.js";
import { ProtocolError } from "./protocol.js";
import { receiveStats } from "./receive_stats.js";
import { SignalingChannel } from "./signaling.js";

/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./protocol.js").JoinResult} JoinResult */
/** @typedef {import("./protocol.js").Source} Source */
/** @typedef {import("./media.js").DeviceError} DeviceError */
/**
 * `waiting`: in the lobby; `removed` / `ended`: a host removed us or ended the meeting (final).
 * @typedef {"prejoin" | "joining" | "waiting" | "joined" | "reconnecting" | "left" | "failed" | "removed" | "ended"} State
 */

/** Give up reconnecting after this long and show "Connection lost". */
export const RECONNECT_GIVE_UP_MS = 30000;
const CONNECT_WAIT_MS = 15000;
const RETRY_PAUSE_MS = 1000;

/**
 * Events (CustomEvent, detail in braces):
 * - `state` {state, previous, message?, code?} (code: why joining failed, e.g. `wrong_passcode`)
 * - `participants` {participants}: the whole roster changed (join, resume, leave)
 * - `participantjoined` / `participantupdated` {participant}
 * - `participantleft` {participantId, reason}
 * - `trackadded` / `trackended` {RemoteTrack} (see subscriber.js)
 * - `localtrack` {source, track}: a local track started (track) or stopped (null)
 * - `localstate` {micMuted, cameraOn, sharing}
 * - `activespeaker` {participantId}
 * - `notice` {level: "info" | "warning" | "error", code, message}
 *
 * Hands, chat, polls, the lobby and host controls live in `interaction`
 * (a MeetingInteraction, see meeting.js). Tests may read `participantId`,
 * `participants` and `interaction`.
 */
export class MeetingSession extends EventTarget {
  /**
   * @param {{room: string, name?: string, audio?: boolean, signaling?: SignalingChannel,
   *   clientId?: string | null, hostKey?: string | null, passcode?: string | null}} options
   *   audio: false never opens the microphone; clientId, hostKey, passcode: sent with `join`
   */
  constructor({ room, name = "", audio = true, signaling, clientId = null, hostKey = null, passcode = null }) {
    super();
    this.room = room;
    this.name = name;
    this.clientId = clientId;
    this.hostKey = hostKey;
    /** @type {Record<string, string>} further `join` fields (presence.js: mode, zone, checkin; token) */
    this.joinFields = {};
    /** @type {string | null} the passcode to send with the next `join` */
    this.passcode = passcode;
    /** @type {State} */
    this.state = "prejoin";
    /** @type {string | null} */
    this.participantId = null;
    /** @type {string | null} */
    this.resumeToken = null;
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    /** @type {string | null} */
    this.activeSpeakerId = null;
    this.media = new LocalMedia({ audio });
    this.media.addEventListener("localtrack", (e) => this._emit("localtrack", /** @type {CustomEvent} */ (e).detail));
    this.media.addEventListener("deviceended", (e) => this._onDeviceEnded(/** @type {CustomEvent} */ (e).detail.source));
    /** @type {Map<string, Participant>} */
    this._participants = new Map();
    this._signaling = signaling ?? new SignalingChannel();
    this._signaling.addEventListener("message", (e) => this._onMessage(/** @type {CustomEvent} */ (e).detail));
    this._signaling.addEventListener("disconnect", (e) => this._onSocketDown(/** @type {CustomEvent} */ (e).detail.reason));
    this.interaction = new MeetingInteraction((event, payload) => this._signaling.request(event, payload));
    this.interaction.addEventListener("mutedbyhost", (e) => this._onMutedByHost(/** @type {CustomEvent} */ (e).detail.source));
    this.interaction.addEventListener("ended", (e) => this._endedByHost(/** @type {CustomEvent} */ (e).detail));
    this._lobby = new LobbyWait();
    /** true while the server has us in the room on the current connection */
    this._inRoom = false;
    /** @type {PeerPair | null} the peer connections of the current join */
    this._peers = null;
    /** @type {{event: string, payload: any}[] | null} server events held back until a join is acknowledged */
    this._held = null;
    /** @type {number | null} when the current outage started; null once media flows again */
    this._outageSince = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._giveUpTimer = undefined;
    this._resuming = false;
    /** @type {(() => void)[]} closes connections replaced during a resume */
    this._staleSockets = [];
    /** @type {Promise<unknown>} local device operations, one at a time */
    this._deviceOps = Promise.resolve();
    /** @type {(() => Promise<boolean>) | null} asked after each join before publishing (recording_consent.js) */
    this.publishGate = null;
  }

  /** Everyone in the room, this client included, in join order. */
  get participants() {
    return [...this._participants.values()].sort((a, b) => a.joined_at - b.joined_at);
  }

  /** The local tracks: {microphone, camera, screen}, each a MediaStreamTrack or null. */
  get local() {
    return this.media.tracks;
  }

  get micMuted() {
    return this.media.micMuted;
  }

  get cameraOn() {
    return this.media.cameraOn;
  }

  get sharing() {
    return this.media.tracks.screen !== null;
  }

  get audioAllowed() {
    return this.media.audioAllowed;
  }

  /** What we receive, per track, with its inbound RTP counters (diagnostics, tests). */
  receiveStats() {
    return receiveStats(this._peers?.subscriber ?? null);
  }

  // -- local devices ------------------------------------------------------------

  /**
   * Open camera and microphone before joining (the pre-join preview).
   * @param {{microphone?: boolean, camera?: boolean}} [wanted]
   * @returns {Promise<DeviceError[]>} what could not be opened
   */
  openDevices(wanted) {
    return this._deviceOp(async () => {
      const errors = await this.media.open(wanted);
      this._emitLocalState();
      return errors;
    });
  }

  /**
   * Mute or unmute the microphone (opens it first if it never was).
   * @param {boolean} muted
   * @returns {Promise<boolean>} false if the microphone could not be opened
   */
  setMicrophoneMuted(muted) {
    return this._deviceOp(async () => {
      if (!muted && !this.media.audioAllowed) return false;
      if (!muted && this.interaction.micLocked) {
        this._notice("warning", "mic_locked", "A host locked your microphone: you cannot unmute until they unlock it.");
        return false;
      }
      let opened;
      try {
        opened = await this.media.setMicMuted(muted);
      } catch (error) {
        this._notice("warning", "microphone", toDeviceError("microphone", error).message);
        return false;
      }
      if (opened && this._inRoom) await this._peers?.send("microphone", opened);
      this._emitLocalState();
      await this._reportMute("microphone", muted);
      return true;
    });
  }

  /**
   * Turn the camera on (a fresh capture) or off (capture stopped: light off,
   * the camera's m-section sends nothing).
   * @param {boolean} on
   * @returns {Promise<boolean>} false if the camera could not be opened
   */
  setCameraEnabled(on) {
    return this._deviceOp(async () => {
      let track;
      try {
        track = await this.media.setCameraOn(on);
      } catch (error) {
        this._notice("warning", "camera", toDeviceError("camera", error).message);
        return false;
      }
      if (this._inRoom) await this._peers?.send("camera", track);
      this._emitLocalState();
      await this._reportMute("camera", !on);
      return true;
    });
  }

  /** Share a screen, window or tab (the browser asks which). */
  startScreenShare() {
    return this._deviceOp(async () => {
      if (this.sharing || !["joined", "reconnecting"].includes(this.state)) return false;
      let track;
      try {
        track = await this.media.startScreen();
      } catch (error) {
        const problem = toDeviceError("screen", error);
        if (problem.problem !== "cancelled") this._notice("warning", "screen", problem.message);
        return false;
      }
      this._emitLocalState();
      if (this._inRoom) await this._peers?.send("screen", track);
      return true;
    });
  }

  stopScreenShare() {
    return this._deviceOp(async () => {
      if (!this.media.stopScreen()) return;
      this._emitLocalState();
      await this._peers?.unpublish("screen");
    });
  }

  /**
   * A capture ended by itself: treat it as switched off.
   * @param {Source} source
   * @private
   */
  _onDeviceEnded(source) {
    if (source === "screen") {
      void this.stopScreenShare();
    } else if (source === "camera") {
      this._notice("warning", "camera", "Your camera stopped (was it unplugged?). Turn it on again to retry.");
      void this.setCameraEnabled(false);
    } else {
      this._notice("warning", "microphone", "Your microphone stopped (was it unplugged?). Unmute to retry.");
      void this._deviceOp(async () => {
        this.media.dropMicrophone();
        this._emitLocalState();
        await this._reportMute("microphone", true);
      });
    }
  }

  // -- joining and leaving ------------------------------------------------------

  /**
   * Join the room with the local devices opened so far.
   * @param {string} [name]
   */
  async join(name) {
    if (!["prejoin", "left", "failed"].includes(this.state)) return;
    if (name !== undefined) this.name = name;
    this._outageSince = null;
    this._setState("joining");
    const since = Date.now();
    while (this.state === "joining") {
      // A fresh join starts at the entry unless a node's socket is still up: that node may be gone.
      this._signaling.backToEntryIfNodeDown();
      try {
        await this._signaling.waitConnected(CONNECT_WAIT_MS);
        await this._enter(this.resumeToken);
        return;
      } catch (error) {
        if (["left", "removed", "ended"].includes(this.state)) return;
        if (this.state !== "joining" || !passingTrouble(error) || Date.now() - since >= RECONNECT_GIVE_UP_MS) {
          this._fail(joinFailureMessage(error), error instanceof ProtocolError ? error.code : undefined);
          return;
        }
        this._notice("info", "server_busy", "The server is having trouble; retrying…");
        await sleep(retryPauseMs(error, RETRY_PAUSE_MS));
      }
    }
  }

  /**
   * Join again after "Connection lost" or after leaving (which released the devices).
   * @returns {Promise<DeviceError[]>} devices that could not be reopened
   */
  async rejoin() {
    /** @type {DeviceError[]} */
    let errors = [];
    if (this.state === "left") {
      errors = await this.openDevices({ microphone: !this.micMuted, camera: this.cameraOn });
    }
    await this.join();
    return errors;
  }

  /** Leave the meeting; the camera and microphone are released. */
  async leave() {
    if (["left", "removed", "ended"].includes(this.state)) return;
    const inRoom = this._inRoom || this.state === "waiting"; // leaving the lobby is a `leave` too
    this._setState("left");
    this._tearDown();
    if (inRoom) await this._signaling.request("leave", {}).catch(() => {});
  }

  /** The page is going away: drop the connection at once (the server removes us). */
  leaveNow() {
    this._inRoom = false;
    this._stopReconnecting();
    this._closeStaleSockets();
    this._closePeers();
    this._signaling.close();
  }

  // -- the join handshake -------------------------------------------------------

  /**
   * Send `join` (resuming if a token is given), then start media.
   * @param {string | null} token
   * @private
   */
  async _enter(token) {
    let result;
    try {
      const { room, name, clientId, hostKey, passcode, joinFields: extra } = this;
      const fields = { room, name, token, clientId, hostKey, passcode, extra };
      const dropToken = () => void (fields.token = this.resumeToken = null);
      // The same join, again on each node a `wrong_node` sends us to.
      result = await followRedirects(this._signaling, async () => {
        this._held = []; // nothing of another node's socket is kept
        const ack = await requestJoin((e, p) => this._signaling.request(e, p), fields, dropToken);
        return "waiting" in ack ? await this._waitInLobby() : ack;
      }, CONNECT_WAIT_MS);
    } catch (error) {
      this._held = null;
      throw error;
    }
    if (!["joining", "reconnecting", "waiting"].includes(this.state)) {
      // Left or gave up while the join was on its way.
      this._held = null;
      await this._signaling.request("leave", {}).catch(() => {});
      return;
    }
    this._applyJoin(result);
    this._closeStaleSockets(); // resumed: the replaced connection may go now
    this._startMedia();
    const held = this._held ?? [];
    this._held = null;
    for (const message of held) this._onMessage(message);
    const me = this._participants.get(result.participant_id);
    if (this.interaction.micLocked && !this.micMuted) await this.setMicrophoneMuted(true);
    else if (me?.audio_muted !== this.micMuted) await this._reportMute("microphone", this.micMuted);
    if (me?.video_muted !== !this.cameraOn) await this._reportMute("camera", !this.cameraOn);
  }

  /**
   * @param {JoinResult} result
   * @private
   */
  _applyJoin(result) {
    if (result.participant_id !== this.participantId) this.activeSpeakerId = null;
    this.participantId = result.participant_id;
    this.resumeToken = result.resume_token;
    this.iceServers = Array.isArray(result.ice_servers) ? result.ice_servers : [];
    this._participants = new Map((result.participants ?? []).map((p) => [p.id, p]));
    this._inRoom = true;
    this.interaction.applyMeeting(result.meeting, result.participant_id);
    // After an outage we stay "reconnecting" until media flows again.
    if (this._outageSince === null) {
      this._stopReconnecting();
      this._setState("joined");
    }
    this._emit("participants", { participants: this.participants });
  }

  // -- media --------------------------------------------------------------------

  /** Fresh peer connections, and publish what we have. @private */
  _startMedia() {
    this._closePeers();
    const peers = new PeerPair({
      iceServers: this.iceServers,
      request: (event, payload) => this._signaling.request(event, payload),
    });
    this._peers = peers;
    const on = (/** @type {string} */ type, /** @type {(detail: any) => void} */ handler) =>
      peers.addEventListener(type, (e) => handler(/** @type {CustomEvent} */ (e).detail));
    on("trackadded", (track) => this._emit("trackadded", track));
    on("trackended", (track) => this._emit("trackended", track));
    on("connected", () => this._onMediaUp());
    on("failed", ({ why }) => this._onPeerFailed(why));
    on("error", ({ side, error }) => {
      const what = side === "publish" ? "Could not send your audio/video" : "Could not receive the others' audio/video";
      this._notice("error", `${side}_failed`, `${what}: ${error instanceof Error ? error.message : String(error)}`);
    });
    void peers.publishAll(this.media, this.publishGate?.()).then((published) => {
      if (!published && peers === this._peers) this._onMediaUp(); // receive-only: nothing to wait for
    });
  }

  /** Media flows (or there is none to wait for): an outage is over. @private */
  _onMediaUp() {
    this._outageSince = null;
    if (this.state === "reconnecting" && this._inRoom) {
      this._stopReconnecting();
      this._setState("joined");
    }
  }

  /** @private */
  _closePeers() {
    this._peers?.close(); // every remote track ends
    this._peers = null;
  }

  // -- server events --------------------------------------------------------------

  /**
   * @param {{event: string, payload: any}} message
   * @private
   */
  _onMessage(message) {
    if (message.event === "room_moved") {
      this._onRoomMoved(nodeUrl(message.payload?.url));
      return;
    }
    if (message.event === "lobby_admitted" || message.event === "lobby_denied") {
      this._lobby.answer(message);
      return;
    }
    if (this._held) {
      this._held.push(message);
      return;
    }
    const { event, payload } = message;
    if (!payload || typeof payload !== "object") return;
    if (event === "participant_joined" || event === "participant_updated") {
      const participant = payload.participant;
      if (!participant?.id) return;
      const known = this._participants.has(participant.id);
      this._participants.set(participant.id, participant);
      this._emit(known ? "participantupdated" : "participantjoined", { participant });
    } else if (event === "participant_left") {
      const id = payload.participant_id;
      if (!this._participants.delete(id)) return;
      if (this.activeSpeakerId === id) this.activeSpeakerId = null;
      this._emit("participantleft", { participantId: id, reason: payload.reason });
    } else if (event === "subscriber_offer") {
      if (this._inRoom) this._peers?.handleOffer(payload);
    } else if (event === "active_speaker") {
      this.activeSpeakerId = payload.participant_id ?? null;
      this._emit("activespeaker", { participantId: this.activeSpeakerId });
    }
    if (this._inRoom || event === "removed" || event === "meeting_ended") this.interaction.handle(event, payload);
  }

  // -- lobby and host moderation ----------------------------------------------------

  /**
   * Wait in the lobby until a host lets us in or turns us away.
   * @returns {Promise<JoinResult>} the full join acknowledgement
   * @private
   */
  _waitInLobby() {
    this._stopReconnecting();
    this._outageSince = null;
    this._setState("waiting");
    return this._lobby.wait();
  }

  /**
   * A host muted us, stopped our camera or ended our screen share.
   * @param {Source} source
   * @private
   */
  _onMutedByHost(source) {
    if (source === "microphone") void this.setMicrophoneMuted(true);
    else if (source === "camera") void this.setCameraEnabled(false);
    else if (source === "screen") void this.stopScreenShare();
  }

  /**
   * A host removed us or ended the meeting: stop everything, never reconnect.
   * @param {{reason: "removed" | "ended", message: string}} detail
   * @private
   */
  _endedByHost({ reason, message }) {
    this._setState(reason, message);
    this._tearDown();
    this._signaling.close();
  }

  /** Close the connections, release the devices, forget the roster. @private */
  _tearDown() {
    this._inRoom = false;
    this._lobby.cancel(new ProtocolError("left", "You left the meeting."));
    this._stopReconnecting();
    this._closeStaleSockets();
    this._closePeers();
    this.media.releaseAll();
    this._emitLocalState();
    this._participants.clear();
    this.activeSpeakerId = null;
    this.interaction.reset();
    this._emit("participants", { participants: [] });
  }

  // -- reconnecting ---------------------------------------------------------------

  /**
   * @param {string} reason socket.io's disconnect reason
   * @private
   */
  _onSocketDown(reason) {
    this._inRoom = false;
    this._lobby.cancel(new ProtocolError("disconnected", "The connection to the server was lost while waiting."));
    if (this.state !== "joined" && this.state !== "reconnecting") return; // a pending join fails by itself
    if (!this._signaling.atEntry) {
      // Not retrying a node that may be gone: the entry knows where the room is now (`wrong_node`).
      this._signaling.backToEntry()();
    } else if (reason === "io server disconnect") {
      this._signaling.open(); // socket.io does not retry this one
    }
    this._startReconnect(false);
  }

  /**
   * `room_moved`: our node is draining; resume at `url` as after a network loss.
   * The old socket stays open until the resume worked, like after `replace()`;
   * the old node closing it later does nothing (it is no longer current).
   * @param {string | null} url
   * @private
   */
  _onRoomMoved(url) {
    if (!url) return;
    if (this.state === "waiting") {
      // In the lobby: the pending join follows it like a `wrong_node` (node_redirect.js).
      this._lobby.cancel(new ProtocolError("wrong_node", "The meeting moved to another server.", { url }));
    } else if (this.state === "joined" || this.state === "reconnecting") {
      this._inRoom = false;
      this._staleSockets.push(this._signaling.moveTo(url));
      this._startReconnect(false);
    }
  }

  /**
   * @param {string} why
   * @private
   */
  _onPeerFailed(why) {
    if (!this._inRoom) return;
    console.warn("peer connection lost:", why);
    // The socket may still be up: resume on a fresh one, so the server
    // re-creates both peer connections.
    this._startReconnect(this._signaling.connected);
  }

  /**
   * @param {boolean} freshSocket
   * @private
   */
  _startReconnect(freshSocket) {
    this._closePeers();
    if (this.state === "joined" || this._giveUpTimer === undefined) {
      this._outageSince ??= Date.now();
      this._setState("reconnecting");
      const left = this._outageSince + RECONNECT_GIVE_UP_MS - Date.now();
      clearTimeout(this._giveUpTimer);
      this._giveUpTimer = setTimeout(() => this._giveUp(), Math.max(0, left));
    }
    if (freshSocket && this._signaling.connected) {
      this._inRoom = false;
      this._staleSockets.push(this._signaling.replace());
    }
    void this._resume();
  }

  /** Join again with the resume token until it works or time runs out. @private */
  async _resume() {
    if (this._resuming) return;
    this._resuming = true;
    try {
      while (this.state === "reconnecting" && !this._inRoom) {
        try {
          await this._signaling.waitConnected(CONNECT_WAIT_MS);
          if (this.state !== "reconnecting") return;
          await this._enter(this.resumeToken);
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
    if (this.state === "reconnecting") this._fail("Connection lost. Check your network, then rejoin.");
  }

  /** @private */
  _stopReconnecting() {
    clearTimeout(this._giveUpTimer);
    this._giveUpTimer = undefined;
  }

  /** @private */
  _closeStaleSockets() {
    for (const close of this._staleSockets.splice(0)) close();
  }

  /**
   * @param {string} message
   * @param {string} [code] the error code, if a `join` was refused
   * @private
   */
  _fail(message, code) {
    const wasIn = this._inRoom || this.state === "reconnecting";
    this._inRoom = false;
    this._stopReconnecting();
    this._closeStaleSockets();
    this._closePeers();
    this._held = null;
    this._setState("failed", message, code);
    // Stop socket.io's own retries (and leave, if the server still has us);
    // `rejoin()` opens the connection again.
    if (wasIn) this._signaling.close();
  }

  // -- small helpers ------------------------------------------------------------

  /**
   * Show the new state on our own tile at once, and tell the server.
   * @param {"microphone" | "camera"} source
   * @param {boolean} muted
   * @private
   */
  async _reportMute(source, muted) {
    const me = this.participantId ? this._participants.get(this.participantId) : null;
    if (me) {
      const updated = { ...me, [source === "microphone" ? "audio_muted" : "video_muted"]: muted };
      this._participants.set(me.id, updated);
      this._emit("participantupdated", { participant: updated });
    }
    if (!this._inRoom) return; // sent after the next join
    try {
      await this._signaling.request("mute", { source, muted });
    } catch (error) {
      if (error instanceof ProtocolError && error.code === "mic_locked") {
        this.interaction.micLocked = true;
        this._notice("warning", "mic_locked", error.message);
        void this.setMicrophoneMuted(true);
      } else if (!(error instanceof ProtocolError && error.transient)) {
        this._notice("warning", "mute", `Could not report the ${source} state: ${/** @type {Error} */ (error).message}`);
      }
    }
  }

  /**
   * @template T
   * @param {() => Promise<T>} operation
   * @returns {Promise<T>}
   * @private
   */
  _deviceOp(operation) {
    const run = this._deviceOps.then(operation);
    this._deviceOps = run.catch(() => {});
    return run;
  }

  /**
   * @param {State} state
   * @param {string} [message]
   * @param {string} [code]
   * @private
   */
  _setState(state, message, code) {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    console.info(`meeting: ${previous} -> ${state}${message ? ` (${message})` : ""}`);
    this._emit("state", { state, previous, message, code });
  }

  /** @private */
  _emitLocalState() {
    this._emit("localstate", { micMuted: this.micMuted, cameraOn: this.cameraOn, sharing: this.sharing });
  }

  /**
   * @param {"info" | "warning" | "error"} level
   * @param {string} code
   * @param {string} message
   * @private
   */
  _notice(level, code, message) {
    this._emit("notice", { level, code, message });
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

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
