// The meeting session, over protocol v1 (docs/protocol.md): what the UI sees
// and calls. DOM-free: the UI listens to its events and calls its methods.
// It wires its parts together, each below it and none importing it:
// membership.js (join, lobby, leave) → session_media.js (devices, peer
// connections) and reconnect.js (outages); roster.js (who is in the room);
// meeting.js (hands, chat, polls, host controls); session_core.js (the
// state and events they share).

import { ConnectionQuality } from "./connection_quality.js";
import { LobbyWait } from "./join.js";
import { LocalMedia } from "./local_media.js";
import { MeetingInteraction } from "./meeting.js";
import { Membership } from "./membership.js";
import { nodeUrl } from "./node_redirect.js";
import { receiveStats } from "./receive_stats.js";
import { Reconnector } from "./reconnect.js";
import { Roster } from "./roster.js";
import { SessionCore } from "./session_core.js";
import { SessionMedia } from "./session_media.js";
import { SignalingChannel } from "./signaling.js";

/** @typedef {import("./media.js").DeviceError} DeviceError */
/** @typedef {import("./session_core.js").State} State */

export { RECONNECT_GIVE_UP_MS } from "./session_core.js";

/**
 * Events (CustomEvent, detail in braces):
 * - `state` {state, previous, message?, code?} (code: why joining failed, e.g. `wrong_passcode`)
 * - `participants` {participants}: the whole roster changed (join, resume, leave)
 * - `participantjoined` / `participantupdated` {participant}
 * - `participantleft` {participantId, reason}
 * - `trackadded` / `trackended` {RemoteTrack} (see subscriber.js)
 * - `localtrack` {source, track}: a local track started (track) or stopped (null)
 * - `localstate` {micMuted, cameraOn, sharing} (also after a switch of device)
 * - `activespeaker` {participantId}
 * - `mediaup` {side: "publish" | "subscribe"}: a peer connection of the current join is up, or
 *   ("publish") we publish nothing; `mediaPending` says whether more is still to come up
 * - `notice` {level: "info" | "warning" | "error", code, message}
 *
 * Hands, chat, polls, the lobby and host controls live in `interaction`
 * (a MeetingInteraction, see meeting.js); how well media gets through, with
 * the server's `media_quality`, in `quality` (see connection_quality.js). Tests may read `participantId`,
 * `participants`, `interaction`, and `_signaling` / `_peers`.
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
    /** @type {(() => Promise<boolean>) | null} asked after each join before publishing (recording_consent.js) */
    this.publishGate = null;
    const core = new SessionCore(this);
    this._core = core;
    this._signaling = signaling ?? new SignalingChannel();
    const request = (/** @type {string} */ event, /** @type {object} */ payload) => this._signaling.request(event, payload);
    this.interaction = new MeetingInteraction(request);
    this._roster = new Roster((type, detail) => core.emit(type, detail));
    this.media = new LocalMedia({ audio });
    this._lobby = new LobbyWait();
    this.quality = new ConnectionQuality(() => this._media.peers);
    this._media = new SessionMedia({
      core,
      local: this.media,
      request,
      interaction: this.interaction,
      roster: this._roster,
      publishGate: () => this.publishGate?.(),
      onMediaUp: (side) => {
        this._reconnect.onMediaUp();
        core.emit("mediaup", { side });
      },
      onPeerFailed: (why) => this._reconnect.onPeerFailed(why),
    });
    this._reconnect = new Reconnector({
      core,
      signaling: this._signaling,
      lobby: this._lobby,
      closePeers: () => this._media.closePeers(),
      enter: (token) => this._membership.enter(token),
      fail: (message, code) => this._membership.fail(message, code),
    });
    this._membership = new Membership({
      core,
      signaling: this._signaling,
      lobby: this._lobby,
      roster: this._roster,
      interaction: this.interaction,
      media: this._media,
      reconnect: this._reconnect,
      joinFields: () => {
        const { room, name, clientId, hostKey, passcode, joinFields: extra } = this;
        return { room, name, clientId, hostKey, passcode, extra };
      },
      dispatch: (message) => this._onMessage(message),
    });
    this._signaling.addEventListener("message", (e) => this._onMessage(/** @type {CustomEvent} */ (e).detail));
    this._signaling.addEventListener("disconnect", (e) =>
      this._reconnect.onSocketDown(/** @type {CustomEvent} */ (e).detail.reason),
    );
    this.interaction.addEventListener("mutedbyhost", (e) => this._media.obeyHost(/** @type {CustomEvent} */ (e).detail.source));
    this.interaction.addEventListener("ended", (e) => this._membership.endedByHost(/** @type {CustomEvent} */ (e).detail));
  }

  /** @returns {State} */
  get state() {
    return this._core.state;
  }

  get participantId() {
    return this._core.participantId;
  }

  get resumeToken() {
    return this._core.resumeToken;
  }

  get iceServers() {
    return this._core.iceServers;
  }

  get activeSpeakerId() {
    return this._roster.activeSpeakerId;
  }

  /** Everyone in the room, this client included, in join order. */
  get participants() {
    return this._roster.list;
  }

  /** The local tracks: {microphone, camera, screen}, each a MediaStreamTrack or null. */
  get local() {
    return this.media.tracks;
  }

  get micMuted() {
    return this._media.micMuted;
  }

  get cameraOn() {
    return this._media.cameraOn;
  }

  get sharing() {
    return this._media.sharing;
  }

  /**
   * Whether media is still to come up: the receiving connection has the
   * others' tracks to bring, or the publishing one ours, and is not up yet.
   */
  get mediaPending() {
    const peers = this._media.peers;
    return peers !== null && (peers.receivingPending || peers.publishingPending);
  }

  get audioAllowed() {
    return this.media.audioAllowed;
  }

  /** The peer connections of the current join (tests read the publisher). */
  get _peers() {
    return this._media.peers;
  }

  /** What we receive, per track, with its inbound RTP counters (diagnostics, tests). */
  receiveStats() {
    return receiveStats(this._media.peers?.subscriber ?? null);
  }

  // -- local devices ------------------------------------------------------------

  /**
   * Open camera and microphone before joining (the pre-join preview).
   * @param {{microphone?: boolean, camera?: boolean}} [wanted]
   * @returns {Promise<DeviceError[]>} what could not be opened
   */
  openDevices(wanted) {
    return this._media.openDevices(wanted);
  }

  /**
   * Mute or unmute the microphone (opens it first if it never was).
   * @param {boolean} muted
   * @returns {Promise<boolean>} false if the microphone could not be opened
   */
  setMicrophoneMuted(muted) {
    return this._media.setMicrophoneMuted(muted);
  }

  /**
   * Turn the camera on (a fresh capture) or off (capture stopped: light off,
   * the camera's m-section sends nothing).
   * @param {boolean} on
   * @returns {Promise<boolean>} false if the camera could not be opened
   */
  setCameraEnabled(on) {
    return this._media.setCameraEnabled(on);
  }

  /**
   * Which devices to open (call before `openDevices`): a wished device per
   * capture (null: the browser's default) and the microphone's processing.
   * @param {{camera?: import("./devices.js").DeviceWish | null, microphone?: import("./devices.js").DeviceWish | null,
   *   processing?: import("./devices.js").AudioProcessing}} choice
   */
  preferDevices({ camera, microphone, processing }) {
    if (camera !== undefined) this.media.wishes.camera = camera;
    if (microphone !== undefined) this.media.wishes.microphone = microphone;
    if (processing) this.media.processing = { ...processing };
  }

  /**
   * The id of the camera or microphone in use (or to be opened when it is off).
   * @param {"camera" | "microphone"} source
   * @returns {string | null}
   */
  deviceOf(source) {
    return this.media.deviceOf(source);
  }

  /** The microphone's echo cancellation, noise suppression and auto gain. */
  get audioProcessing() {
    return { ...this.media.processing };
  }

  /**
   * Switch to another camera or microphone without leaving (`replaceTrack`).
   * @param {"camera" | "microphone"} source
   * @param {string} deviceId
   * @returns {Promise<boolean>} false if that device could not be opened
   */
  useDevice(source, deviceId) {
    return this._media.useDevice(source, deviceId);
  }

  /**
   * Turn the browser's noise suppression, echo cancellation or auto gain on or off.
   * @param {import("./devices.js").AudioProcessing} processing
   * @returns {Promise<boolean>}
   */
  setAudioProcessing(processing) {
    return this._media.setAudioProcessing(processing);
  }

  /** Share a screen, window or tab (the browser asks which). */
  startScreenShare() {
    return this._media.startScreenShare();
  }

  stopScreenShare() {
    return this._media.stopScreenShare();
  }

  // -- joining and leaving ------------------------------------------------------

  /** Open the connection to the server now: a page that joins at once saves its set-up time. */
  connect() {
    this._signaling.open();
  }

  /**
   * Join the room with the local devices opened so far.
   * @param {string} [name]
   */
  async join(name) {
    if (!["prejoin", "left", "failed"].includes(this.state)) return;
    if (name !== undefined) this.name = name;
    await this._membership.join();
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
  leave() {
    return this._membership.leave();
  }

  /** The page is going away: drop the connection at once (the server removes us). */
  leaveNow() {
    this._membership.leaveNow();
  }

  // -- server events --------------------------------------------------------------

  /**
   * Every server event, to the part it is for.
   * @param {{event: string, payload: any}} message
   * @private
   */
  _onMessage(message) {
    if (message.event === "room_moved") {
      this._reconnect.onRoomMoved(nodeUrl(message.payload?.url));
      return;
    }
    if (message.event === "lobby_admitted" || message.event === "lobby_denied") {
      this._lobby.answer(message);
      return;
    }
    if (this._membership.hold(message)) return;
    const { event, payload } = message;
    if (!payload || typeof payload !== "object") return;
    if (event === "media_quality") {
      this.quality.applyServer(payload);
      return;
    }
    if (event === "publish_layers") {
      this._media.setPublishLayers(payload);
      return;
    }
    if (event === "subscriber_tracks") {
      this._media.handleTracks(payload);
      return;
    }
    if (event === "subscriber_offer") this._media.handleOffer(payload);
    else if (!this._roster.handle(event, payload)) return;
    if (this._core.inRoom || event === "removed" || event === "meeting_ended") this.interaction.handle(event, payload);
  }
}
