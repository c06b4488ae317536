// The meeting session: join, publish, subscribe, mute, screen share, leave and
// reconnect, over protocol v1 (docs/protocol.md). DOM-free: the UI listens to
// its events and calls its methods.

import { openCamera, openDevices, openMicrophone, openScreen, toDeviceError } from "./media.js";
import { watchConnection } from "./peer.js";
import { PROTOCOL_VERSION, ProtocolError } from "./protocol.js";
import { Publisher } from "./publisher.js";
import { SignalingChannel } from "./signaling.js";
import { Subscriber } from "./subscriber.js";

/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./protocol.js").JoinResult} JoinResult */
/** @typedef {import("./protocol.js").Source} Source */
/** @typedef {import("./subscriber.js").RemoteTrack} RemoteTrack */
/** @typedef {"prejoin" | "joining" | "joined" | "reconnecting" | "left" | "failed"} State */

/** Give up reconnecting after this long and show "Connection lost". */
export const RECONNECT_GIVE_UP_MS = 30000;
const CONNECT_WAIT_MS = 15000;
const RETRY_PAUSE_MS = 1000;

/** Errors that a join with a resume token may get only because of the token. */
const FINAL_JOIN_ERRORS = new Set(["room_full", "unsupported_protocol"]);

/**
 * Events (CustomEvent, detail in braces):
 * - `state` {state, previous, message?}
 * - `participants` {participants}: the whole roster changed (join, resume)
 * - `participantjoined` / `participantupdated` {participant}
 * - `participantleft` {participantId, reason}
 * - `trackadded` / `trackended` {RemoteTrack}
 * - `localtrack` {source, track}: a local track started (track) or stopped (null)
 * - `localstate` {micMuted, cameraOn, sharing}
 * - `activespeaker` {participantId}
 * - `notice` {level: "info" | "warning" | "error", code, message}
 */
export class MeetingSession extends EventTarget {
  /**
   * @param {{room: string, name?: string, audio?: boolean, signaling?: SignalingChannel}} options
   *   audio: false never opens the microphone (companion mode)
   */
  constructor({ room, name = "", audio = true, signaling }) {
    super();
    this.room = room;
    this.name = name;
    this.audioAllowed = audio;
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
    /** @type {{microphone: MediaStreamTrack | null, camera: MediaStreamTrack | null, screen: MediaStreamTrack | null}} */
    this.local = { microphone: null, camera: null, screen: null };
    this.micMuted = false;
    this.cameraOn = true;
    /** true once a camera worked: its m-section is then published even while off */
    this._hadCamera = false;
    /** @type {Map<string, Participant>} */
    this._participants = new Map();
    this._signaling = signaling ?? new SignalingChannel();
    /** @type {Publisher | null} */
    this._publisher = null;
    /** @type {Subscriber | null} */
    this._subscriber = null;
    /** @type {(() => void)[]} */
    this._unwatch = [];
    /** @type {{event: string, payload: any}[] | null} server events held back until a join is acknowledged */
    this._held = null;
    /** @type {number | null} when the current outage started (cleared once media flows again) */
    this._outageSince = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._giveUpTimer = undefined;
    this._resuming = false;
    /** @type {(() => void)[]} closes connections replaced during a resume */
    this._staleSockets = [];
    /** @type {Promise<unknown>} local device operations, one at a time */
    this._deviceOps = Promise.resolve();
    this._signaling.addEventListener("message", (e) => this._onMessage(/** @type {CustomEvent} */ (e).detail));
    this._signaling.addEventListener("disconnect", (e) => this._onSocketDown(/** @type {CustomEvent} */ (e).detail.reason));
  }

  /** Everyone in the room, this client included, in join order. */
  get participants() {
    return [...this._participants.values()].sort((a, b) => a.joined_at - b.joined_at);
  }

  /** @param {string} id */
  participant(id) {
    return this._participants.get(id) ?? null;
  }

  get sharing() {
    return this.local.screen !== null;
  }

  // -- local devices ------------------------------------------------------------

  /**
   * Open camera and microphone before joining (the pre-join preview).
   * @param {{microphone?: boolean, camera?: boolean}} [wanted]
   * @returns {Promise<import("./media.js").DeviceError[]>} what could not be opened
   */
  openDevices(wanted = {}) {
    return this._deviceOp(async () => {
      const opened = await openDevices({
        microphone: this.audioAllowed && (wanted.microphone ?? true),
        camera: wanted.camera ?? true,
      });
      for (const source of /** @type {const} */ (["microphone", "camera"])) {
        const track = opened[source];
        if (!track) continue;
        this.local[source]?.stop();
        this.local[source] = track;
        if (source === "camera") this._hadCamera = true;
        this._emit("localtrack", { source, track });
      }
      if (this.local.microphone) this.local.microphone.enabled = !this.micMuted;
      if (!this.local.microphone) this.micMuted = true;
      if (!this.local.camera) this.cameraOn = false;
      this._emitLocalState();
      return opened.errors;
    });
  }

  /**
   * Mute or unmute the microphone (opens it first if it never was).
   * @param {boolean} muted
   * @returns {Promise<boolean>} false if the microphone could not be opened
   */
  setMicrophoneMuted(muted) {
    return this._deviceOp(async () => {
      if (!muted && !this.local.microphone) {
        if (!this.audioAllowed) return false;
        try {
          this.local.microphone = await openMicrophone();
        } catch (error) {
          this._notice("warning", "microphone", toDeviceError("microphone", error).message);
          return false;
        }
        this._emit("localtrack", { source: "microphone", track: this.local.microphone });
        await this._sendSource("microphone", this.local.microphone);
      }
      this.micMuted = muted;
      if (this.local.microphone) this.local.microphone.enabled = !muted;
      this._emitLocalState();
      await this._reportMute("microphone", muted);
      return true;
    });
  }

  /**
   * Turn the camera on (a fresh capture) or off (the capture stops: light off).
   * @param {boolean} on
   * @returns {Promise<boolean>} false if the camera could not be opened
   */
  setCameraEnabled(on) {
    return this._deviceOp(async () => {
      if (on && !this.local.camera) {
        let track;
        try {
          track = await openCamera();
        } catch (error) {
          this._notice("warning", "camera", toDeviceError("camera", error).message);
          return false;
        }
        this.local.camera = track;
        this._emit("localtrack", { source: "camera", track });
        await this._sendSource("camera", track);
      } else if (!on && this.local.camera) {
        this.local.camera.stop();
        this.local.camera = null;
        this._emit("localtrack", { source: "camera", track: null });
        if (this._publisher?.isPublished("camera")) await this._publisher.send("camera", null);
      }
      this.cameraOn = on;
      this._emitLocalState();
      await this._reportMute("camera", !on);
      return true;
    });
  }

  /** Share a screen, window or tab (the browser asks which). */
  startScreenShare() {
    return this._deviceOp(async () => {
      if (this.local.screen || this.state !== "joined") return false;
      let track;
      try {
        track = await openScreen();
      } catch (error) {
        const problem = toDeviceError("screen", error);
        if (problem.problem !== "cancelled") this._notice("warning", "screen", problem.message);
        return false;
      }
      this.local.screen = track;
      track.addEventListener("ended", () => void this.stopScreenShare());
      this._emit("localtrack", { source: "screen", track });
      this._emitLocalState();
      await this._sendSource("screen", track);
      return true;
    });
  }

  stopScreenShare() {
    return this._deviceOp(async () => {
      const track = this.local.screen;
      if (!track) return;
      this.local.screen = null;
      track.stop();
      this._emit("localtrack", { source: "screen", track: null });
      this._emitLocalState();
      if (this._publisher && (await this._publisher.unpublish("screen"))) await this._publish();
    });
  }

  // -- joining and leaving ------------------------------------------------------

  /**
   * Join the room with the local devices opened so far.
   * @param {string} [name]
   */
  async join(name) {
    if (!["prejoin", "left", "failed"].includes(this.state)) return;
    if (name !== undefined) this.name = name;
    this._setState("joining");
    try {
      await this._signaling.waitConnected(CONNECT_WAIT_MS);
      await this._enter(this.resumeToken);
    } catch (error) {
      this._fail(joinFailureMessage(error));
    }
  }

  /**
   * Join again after "Connection lost" or after leaving (which released the devices).
   * @returns {Promise<import("./media.js").DeviceError[]>} devices that could not be reopened
   */
  async rejoin() {
    /** @type {import("./media.js").DeviceError[]} */
    let errors = [];
    if (this.state === "left") {
      errors = await this.openDevices({ microphone: true, camera: this.cameraOn });
    }
    this._outageSince = null;
    await this.join();
    return errors;
  }

  /** Leave the meeting; the camera and microphone are released. */
  async leave() {
    if (this.state === "left") return;
    const wasIn = ["joined", "reconnecting", "joining"].includes(this.state);
    this._setState("left");
    this._stopReconnecting();
    this._closeStaleSockets();
    this._closePeers();
    for (const source of /** @type {const} */ (["microphone", "camera", "screen"])) {
      const track = this.local[source];
      if (!track) continue;
      track.stop();
      this.local[source] = null;
      this._emit("localtrack", { source, track: null });
    }
    this._participants.clear();
    this._emit("participants", { participants: [] });
    if (wasIn && this._signaling.connected) {
      await this._signaling.request("leave", {}).catch(() => {});
    }
  }

  /** The page is going away: drop the connection at once (the server removes us). */
  leaveNow() {
    this._closeStaleSockets();
    this._stopReconnecting();
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
    this._held = [];
    let result;
    try {
      result = await this._requestJoin(token);
    } catch (error) {
      this._held = null;
      throw error;
    }
    if (this.state !== "joining" && this.state !== "reconnecting") {
      // Left or gave up while the join was on its way.
      this._held = null;
      await this._signaling.request("leave", {}).catch(() => {});
      return;
    }
    this._applyJoin(result);
    this._closeStaleSockets(); // we are resumed: the old connection may go
    this._startMedia();
    const held = this._held ?? [];
    this._held = null;
    for (const message of held) this._onMessage(message);
    const me = this._participants.get(result.participant_id);
    if (me?.audio_muted !== this.micMuted) await this._reportMute("microphone", this.micMuted);
    if (me?.video_muted !== !this.cameraOn) await this._reportMute("camera", !this.cameraOn);
  }

  /**
   * @param {string | null} token
   * @returns {Promise<JoinResult>}
   * @private
   */
  async _requestJoin(token) {
    /** @type {Record<string, unknown>} */
    const payload = { protocol: PROTOCOL_VERSION, room: this.room, name: this.name };
    if (token) payload.resume_token = token;
    try {
      return /** @type {JoinResult} */ (await this._signaling.request("join", payload));
    } catch (error) {
      const final = !(error instanceof ProtocolError) || error.transient || FINAL_JOIN_ERRORS.has(error.code);
      if (!token || final) throw error;
    }
    // The token may be what the server refused: join as someone new.
    this.resumeToken = null;
    delete payload.resume_token;
    return /** @type {JoinResult} */ (await this._signaling.request("join", payload));
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
    this._participants = new Map();
    for (const participant of result.participants ?? []) {
      this._participants.set(participant.id, participant);
    }
    this._stopReconnecting();
    this._setState("joined");
    this._emit("participants", { participants: this.participants });
  }

  // -- media --------------------------------------------------------------------

  /** Fresh peer connections, and publish what we have. @private */
  _startMedia() {
    this._closePeers();
    const request = (/** @type {string} */ event, /** @type {object} */ payload) =>
      this._signaling.request(event, payload);
    const subscriber = new Subscriber({ iceServers: this.iceServers, request });
    subscriber.addEventListener("trackadded", (e) => this._emit("trackadded", /** @type {CustomEvent} */ (e).detail));
    subscriber.addEventListener("trackended", (e) => this._emit("trackended", /** @type {CustomEvent} */ (e).detail));
    subscriber.addEventListener("error", (e) => this._onMediaError("subscribe", /** @type {CustomEvent} */ (e).detail.error));
    const publisher = new Publisher({
      iceServers: this.iceServers,
      request,
      onError: (error) => console.warn("publisher_ice refused:", error),
    });
    this._subscriber = subscriber;
    this._publisher = publisher;
    for (const pc of [publisher.pc, subscriber.pc]) {
      this._unwatch.push(
        watchConnection(pc, {
          onConnected: () => {
            this._outageSince = null;
          },
          onFailed: (why) => this._onPeerFailed(why),
        }),
      );
    }
    void this._publishAll(publisher);
  }

  /**
   * @param {Publisher} publisher
   * @private
   */
  async _publishAll(publisher) {
    const { microphone, camera, screen } = this.local;
    if (microphone) await publisher.send("microphone", microphone);
    // The camera keeps its m-section while off, so turning it on needs no renegotiation.
    if (camera || this._hadCamera) await publisher.send("camera", camera);
    if (screen) await publisher.send("screen", screen);
    if (publisher.publishedSources.length > 0) {
      await this._publish();
    } else {
      this._outageSince = null; // receive-only: nothing of ours to wait for
    }
  }

  /**
   * Send (or resume sending) a local track, renegotiating if the server must know.
   * @param {Source} source
   * @param {MediaStreamTrack} track
   * @private
   */
  async _sendSource(source, track) {
    if (source === "camera") this._hadCamera = true;
    const publisher = this._publisher;
    if (!publisher || this.state !== "joined") return;
    if (await publisher.send(source, track)) await this._publish();
  }

  /** Renegotiate the publish connection; problems become notices. @private */
  async _publish() {
    const publisher = this._publisher;
    if (!publisher) return;
    try {
      await publisher.negotiate();
    } catch (error) {
      if (publisher === this._publisher) this._onMediaError("publish", error);
    }
  }

  /**
   * @param {"publish" | "subscribe"} side
   * @param {unknown} error
   * @private
   */
  _onMediaError(side, error) {
    if (error instanceof ProtocolError && error.transient) return; // the reconnect logic handles it
    const what = side === "publish" ? "Could not send your audio/video" : "Could not receive the others' audio/video";
    const message = error instanceof Error ? error.message : String(error);
    console.error(`${side} negotiation failed:`, error);
    this._notice("error", `${side}_failed`, `${what}: ${message}`);
  }

  /** @private */
  _closePeers() {
    for (const unwatch of this._unwatch) unwatch();
    this._unwatch = [];
    this._publisher?.close();
    this._subscriber?.close(); // emits trackended for every remote track
    this._publisher = null;
    this._subscriber = null;
  }

  // -- server events --------------------------------------------------------------

  /**
   * @param {{event: string, payload: any}} message
   * @private
   */
  _onMessage(message) {
    if (this._held) {
      this._held.push(message);
      return;
    }
    const { event, payload } = message;
    if (!payload || typeof payload !== "object") return;
    switch (event) {
      case "participant_joined":
      case "participant_updated": {
        const participant = payload.participant;
        if (!participant?.id) return;
        const known = this._participants.has(participant.id);
        this._participants.set(participant.id, participant);
        this._emit(known ? "participantupdated" : "participantjoined", { participant });
        break;
      }
      case "participant_left": {
        const id = payload.participant_id;
        if (!this._participants.delete(id)) return;
        if (this.activeSpeakerId === id) this.activeSpeakerId = null;
        this._emit("participantleft", { participantId: id, reason: payload.reason });
        break;
      }
      case "subscriber_offer":
        if (this.state === "joined") this._subscriber?.handleOffer(payload);
        break;
      case "active_speaker":
        this.activeSpeakerId = payload.participant_id ?? null;
        this._emit("activespeaker", { participantId: this.activeSpeakerId });
        break;
      default:
        break;
    }
  }

  // -- reconnecting ---------------------------------------------------------------

  /**
   * @param {string} reason socket.io's disconnect reason
   * @private
   */
  _onSocketDown(reason) {
    if (this.state === "joining") return; // the pending join fails and says so
    if (this.state !== "joined" && this.state !== "reconnecting") return;
    if (reason === "io server disconnect") {
      // socket.io does not come back on its own after this one.
      this._signaling.open();
    }
    this._startReconnect(false);
  }

  /**
   * @param {string} why
   * @private
   */
  _onPeerFailed(why) {
    if (this.state !== "joined") return;
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
    if (this.state === "joined") {
      this._outageSince ??= Date.now();
      this._setState("reconnecting");
      this._closePeers();
      const left = this._outageSince + RECONNECT_GIVE_UP_MS - Date.now();
      this._giveUpTimer = setTimeout(() => this._giveUp(), Math.max(0, left));
    }
    void this._resume(freshSocket);
  }

  /**
   * Join again with the resume token until it works or time runs out.
   * @param {boolean} freshSocket
   * @private
   */
  async _resume(freshSocket) {
    if (this._resuming) return;
    this._resuming = true;
    try {
      if (freshSocket && this._signaling.connected) {
        this._staleSockets.push(this._signaling.replace());
      }
      while (this.state === "reconnecting") {
        try {
          await this._signaling.waitConnected(CONNECT_WAIT_MS);
          if (this.state !== "reconnecting") return;
          await this._enter(this.resumeToken);
          return;
        } catch (error) {
          if (error instanceof ProtocolError && !error.transient) {
            this._fail(joinFailureMessage(error));
            return;
          }
          await sleep(RETRY_PAUSE_MS);
        }
      }
    } finally {
      this._resuming = false;
    }
  }

  /** @private */
  _closeStaleSockets() {
    for (const close of this._staleSockets.splice(0)) close();
  }

  /** @private */
  _giveUp() {
    if (this.state === "reconnecting") {
      this._fail("Connection lost. Check your network, then rejoin.");
    }
  }

  /** @private */
  _stopReconnecting() {
    clearTimeout(this._giveUpTimer);
    this._giveUpTimer = undefined;
  }

  /**
   * @param {string} message
   * @private
   */
  _fail(message) {
    const inRoom = this.state === "joined" || this.state === "reconnecting";
    this._stopReconnecting();
    this._closePeers();
    this._held = null;
    this._closeStaleSockets();
    this._setState("failed", message);
    // Stop socket.io's own retries; `rejoin()` opens the connection again.
    if (inRoom) this._signaling.close();
  }

  // -- small helpers ------------------------------------------------------------

  /**
   * @param {Source} source
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
    if (this.state !== "joined") return; // sent after the next join
    try {
      await this._signaling.request("mute", { source, muted });
    } catch (error) {
      if (!(error instanceof ProtocolError && error.transient)) {
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
   * @private
   */
  _setState(state, message) {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    console.info(`meeting: ${previous} -> ${state}${message ? ` (${message})` : ""}`);
    this._emit("state", { state, previous, message });
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

/** @param {unknown} error */
function joinFailureMessage(error) {
  if (error instanceof ProtocolError) {
    if (error.transient) return "Could not reach the meeting server. Check your network, then try again.";
    return `Could not join the meeting: ${error.message}`;
  }
  return `Could not join: ${error instanceof Error ? error.message : String(error)}`;
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
