// A session's media: our own devices (mute, camera, screen share) and the two
// peer connections of the current join (publish what we have, answer the
// server's subscriber offers). DOM-free; used by session.js.

import { fallbackDevices, listDevices } from "./devices.js";
import { errorText, t } from "./i18n.js";
import { toDeviceError } from "./media.js";
import { markStep } from "./join_marks.js";
import { PeerPair } from "./peer_pair.js";
import { ProtocolError } from "./protocol.js";
import { sleep } from "./session_core.js";

/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./protocol.js").Source} Source */
/** @typedef {import("./media.js").DeviceError} DeviceError */
/** @typedef {import("./local_media.js").LocalMedia} LocalMedia */
/** @typedef {import("./meeting.js").MeetingInteraction} MeetingInteraction */
/** @typedef {import("./roster.js").Roster} Roster */
/** @typedef {import("./session_core.js").SessionCore} SessionCore */
/** @typedef {import("./devices.js").AudioProcessing} AudioProcessing */
/** @typedef {{source: Source, deviceId: string | null, label: string}} LostDevice */
/** @typedef {(event: string, payload: object) => Promise<Record<string, any>>} Request */

/**
 * @typedef {object} SessionMediaOptions
 * @property {SessionCore} core
 * @property {LocalMedia} local our tracks
 * @property {Request} request
 * @property {MeetingInteraction} interaction read for the host's microphone lock
 * @property {Roster} roster our own tile shows a mute at once
 * @property {() => Promise<boolean> | undefined} publishGate asked after each join before publishing
 * @property {(side: "publish" | "subscribe") => void} onMediaUp media flows on that connection, or ("publish") we publish nothing
 * @property {(why: string) => void} onPeerFailed a connection failed or never came up
 */

export class SessionMedia {
  /** @param {SessionMediaOptions} options */
  constructor({ core, local, request, interaction, roster, publishGate, onMediaUp, onPeerFailed }) {
    this._core = core;
    this.local = local;
    this._request = request;
    this._interaction = interaction;
    this._roster = roster;
    this._publishGate = publishGate;
    this._onMediaUp = onMediaUp;
    this._onPeerFailed = onPeerFailed;
    /** @type {PeerPair | null} the peer connections of the current join */
    this.peers = null;
    /** @type {Promise<unknown>} local device operations, one at a time */
    this._deviceOps = Promise.resolve();
    /** device operations started and not yet finished */
    this._deviceOpsPending = 0;
    local.addEventListener("localtrack", (e) => core.emit("localtrack", /** @type {CustomEvent} */ (e).detail));
    local.addEventListener("deviceended", (e) => this._onDeviceEnded(/** @type {CustomEvent} */ (e).detail));
    // A device unplugged whose capture the browser does not end by itself.
    globalThis.navigator?.mediaDevices?.addEventListener?.("devicechange", () => void this._checkDevicesPresent());
  }

  get micMuted() {
    return this.local.micMuted;
  }

  get cameraOn() {
    return this.local.cameraOn;
  }

  get sharing() {
    return this.local.tracks.screen !== null;
  }

  // -- the peer connections -------------------------------------------------------

  /** Fresh peer connections (nothing published yet: see `publish()`). */
  start() {
    this.closePeers();
    const peers = new PeerPair({ iceServers: this._core.iceServers, request: this._request, simulcast: this._core.simulcast });
    this.peers = peers;
    markStep("peer connections made");
    const core = this._core;
    const on = (/** @type {string} */ type, /** @type {(detail: any) => void} */ handler) =>
      peers.addEventListener(type, (e) => handler(/** @type {CustomEvent} */ (e).detail));
    on("trackadded", (track) => core.emit("trackadded", track));
    on("trackended", (track) => core.emit("trackended", track));
    on("connected", ({ side }) => this._onMediaUp(side));
    on("failed", ({ why }) => this._onPeerFailed(why));
    on("error", ({ side, error }) => {
      const what = side === "publish" ? t("media.send_failed") : t("media.receive_failed");
      const why = error instanceof ProtocolError ? errorText(error.code, error.message) : error instanceof Error ? error.message : String(error);
      core.notice("error", `${side}_failed`, `${what}: ${why}`);
    });
  }

  /**
   * Publish what we have once the devices being opened are (the join did
   * not wait for them) and the publish gate allows. Called after `start()`,
   * once the join acknowledgement is applied (the gate reads the meeting).
   * Resolves once the server's answer to the publish offer has arrived (at
   * most `limitMs` later; the browser applies it on its own thread
   * meanwhile), or at once when publishing waits for a device or the person.
   * @param {number} [limitMs] 0: at once
   */
  async publish(limitMs = 0) {
    const peers = this.peers;
    if (!peers) return;
    const gate = this._publishGate() ?? true;
    // A subscriber offer that came with the join is answered first: the
    // server handles a socket's messages in order, and our receiving
    // connection matters more than our sending one (issue 21).
    const answered = peers.subscriber.answerSent();
    const ready = Promise.all([this.devicesSettled(), gate, answered]);
    const allowed = ready.then(([, ok]) => {
      markStep("publish: allowed");
      return ok;
    });
    const published = peers.publishAll(this.local, allowed).then((sent) => {
      if (!sent && peers === this.peers) this._onMediaUp("publish"); // receive-only: nothing to wait for
    });
    if (limitMs <= 0) return;
    // Settled already (microtasks away), or waiting for a device or the person?
    const readyNow = await Promise.race([ready.then(() => true, () => true), sleep(0).then(() => false)]);
    if (readyNow) await Promise.race([published.catch(() => {}), peers.publisher.firstAnswer(), sleep(limitMs)]);
  }

  /**
   * Resolves once the subscriber offer being handled has its answer on the
   * way, or after `limitMs`.
   * @param {number} limitMs
   */
  async answerSent(limitMs) {
    const peers = this.peers;
    if (!peers) return;
    let timer;
    const limit = new Promise((resolve) => (timer = setTimeout(resolve, limitMs)));
    await Promise.race([peers.subscriber.answerSent(), limit]);
    clearTimeout(timer);
  }

  /** @param {Record<string, any>} offer a `subscriber_offer` */
  handleOffer(offer) {
    if (this._core.inRoom) this.peers?.handleOffer(offer);
  }

  /** @param {Record<string, any>} message a `subscriber_tracks` */
  handleTracks(message) {
    if (this._core.inRoom) this.peers?.handleTracks(/** @type {any} */ (message));
  }

  /** @param {Record<string, any>} message a `publish_layers` */
  setPublishLayers(message) {
    this.peers?.setPublishLayers(message);
  }

  closePeers() {
    this.peers?.close(); // every remote track ends
    this.peers = null;
  }

  // -- local devices ----------------------------------------------------------------

  /** Resolves when the device operations started so far have finished (opened or failed). */
  devicesSettled() {
    return this._deviceOps;
  }

  /**
   * Open camera and microphone before joining (the pre-join preview).
   * @param {{microphone?: boolean, camera?: boolean}} [wanted]
   * @returns {Promise<DeviceError[]>} what could not be opened
   */
  openDevices(wanted) {
    return this._deviceOp(async () => {
      const errors = await this.local.open(wanted);
      this.emitLocalState();
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
      if (!muted && !this.local.audioAllowed) return false;
      if (!muted && this._interaction.micLocked) {
        this._core.notice("warning", "mic_locked", t("controls.mic_locked_title"));
        return false;
      }
      const result = await this._openOrWarn("microphone", () => this.local.setMicMuted(muted));
      if (!result) return false;
      if (result.track && this._core.inRoom) await this.peers?.send("microphone", result.track);
      this.emitLocalState();
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
    return this._deviceOp(() => this._cameraEnabled(on));
  }

  /**
   * @param {boolean} on
   * @private
   */
  async _cameraEnabled(on) {
    const result = await this._openOrWarn("camera", () => this.local.setCameraOn(on));
    if (!result) return false;
    if (this._core.inRoom) await this.peers?.send("camera", result.track);
    this.emitLocalState();
    await this._reportMute("camera", !on);
    return true;
  }

  /**
   * Use another camera or microphone without leaving: a running capture is
   * replaced on its sender (`replaceTrack`, no new `publish`); one that is
   * off opens that device when turned on.
   * @param {"microphone" | "camera"} source
   * @param {string} deviceId
   * @returns {Promise<boolean>} false if that device could not be opened (the old one runs on)
   */
  useDevice(source, deviceId) {
    return this._deviceOp(async () => {
      const result = await this._openOrWarn(source, () => this.local.useDevice(source, deviceId));
      if (!result) return false;
      if (result.track && this._core.inRoom) await this.peers?.send(source, result.track);
      this.emitLocalState();
      return true;
    });
  }

  /**
   * The browser's noise suppression, echo cancellation and automatic gain:
   * a running microphone is opened again with them and replaced on its sender.
   * @param {AudioProcessing} processing
   * @returns {Promise<boolean>} false if the microphone could not be opened again (it is then off)
   */
  setAudioProcessing(processing) {
    return this._deviceOp(async () => {
      const result = await this._openOrWarn("microphone", () => this.local.setProcessing(processing));
      if (!result) {
        // The old capture was stopped for the new settings: the microphone is off now.
        this.local.dropMicrophone();
        this.emitLocalState();
        await this._reportMute("microphone", true);
        return false;
      }
      if (result.track && this._core.inRoom) await this.peers?.send("microphone", result.track);
      this.emitLocalState();
      return true;
    });
  }

  /** Share a screen, window or tab (the browser asks which). */
  startScreenShare() {
    return this._deviceOp(async () => {
      if (this.sharing || !["joined", "reconnecting"].includes(this._core.state)) return false;
      let track;
      try {
        track = await this.local.startScreen();
      } catch (error) {
        const problem = toDeviceError("screen", error);
        if (problem.problem !== "cancelled") this._core.notice("warning", "screen", problem.message);
        return false;
      }
      this.emitLocalState();
      if (this._core.inRoom) await this.peers?.send("screen", track);
      return true;
    });
  }

  stopScreenShare() {
    return this._deviceOp(async () => {
      if (!this.local.stopScreen()) return;
      this.emitLocalState();
      await this.peers?.unpublish("screen");
    });
  }

  /**
   * A host muted us, stopped our camera or ended our screen share.
   * @param {Source} source
   */
  obeyHost(source) {
    if (source === "microphone") void this.setMicrophoneMuted(true);
    else if (source === "camera") void this.setCameraEnabled(false);
    else if (source === "screen") void this.stopScreenShare();
  }

  /**
   * After a join: a locked microphone stays muted, and the server learns our
   * mute state where its roster (`me`) has it wrong.
   * @param {Participant | undefined} me
   */
  async syncMuteState(me) {
    await this.devicesSettled();
    if (this._interaction.micLocked && !this.micMuted) await this.setMicrophoneMuted(true);
    else if (me?.audio_muted !== this.micMuted) await this._reportMute("microphone", this.micMuted);
    if (me?.video_muted !== !this.cameraOn) await this._reportMute("camera", !this.cameraOn);
  }

  /** Stop every capture (leaving). */
  releaseAll() {
    this.local.releaseAll();
    this.emitLocalState();
  }

  emitLocalState() {
    this._core.emit("localstate", { micMuted: this.micMuted, cameraOn: this.cameraOn, sharing: this.sharing });
  }

  /**
   * A capture ended by itself (unplugged, say): another device of its kind
   * takes over, with a notice; with none left it is switched off.
   * @param {LostDevice} lost
   * @private
   */
  _onDeviceEnded({ source, deviceId, label }) {
    if (source === "screen") {
      void this.stopScreenShare();
      return;
    }
    void this._deviceOp(async () => {
      const now = this.local.tracks[source];
      // Handled already (an "ended" and a "devicechange" for one unplug), or switched off meanwhile.
      if (!now || (now.readyState === "live" && now.getSettings().deviceId !== deviceId)) return;
      const lostName = label || t("devices.unnamed");
      const devices = await listDevices();
      const candidates = fallbackDevices(devices[source], { lost: deviceId, wish: this.local.wishes[source] });
      for (const other of candidates.slice(0, 3)) {
        let track;
        try {
          track = await this.local.useDevice(source, other.deviceId);
        } catch {
          continue; // that one does not open either: the next
        }
        if (!track) return;
        if (this._core.inRoom) await this.peers?.send(source, track);
        this.emitLocalState();
        const device = track.label || other.label || t("devices.unnamed");
        this._core.notice("warning", source, t(`devices.${source}_switched`, { lost: lostName, device }));
        return;
      }
      if (source === "camera") {
        this._core.notice("warning", "camera", t("devices.camera_stopped"));
        await this._cameraEnabled(false);
      } else {
        this._core.notice("warning", "microphone", t("devices.microphone_stopped"));
        this.local.dropMicrophone();
        this.emitLocalState();
        await this._reportMute("microphone", true);
      }
    });
  }

  /**
   * After a `devicechange`: a capture whose device is no longer listed is
   * treated as ended (browsers end most of them by themselves).
   * @private
   */
  async _checkDevicesPresent() {
    const devices = await listDevices();
    for (const source of /** @type {const} */ (["camera", "microphone"])) {
      const track = this.local.tracks[source];
      const deviceId = track?.getSettings().deviceId;
      // An empty list: no permission to see them, nothing to conclude.
      if (!track || !deviceId || track.readyState !== "live" || !devices[source].length) continue;
      if (!devices[source].some((d) => d.deviceId === deviceId)) {
        this._onDeviceEnded({ source, deviceId, label: track.label });
      }
    }
  }

  /**
   * Open or switch a device; if that fails, say why (a notice) instead.
   * @param {"microphone" | "camera"} source
   * @param {() => Promise<MediaStreamTrack | null>} change
   * @returns {Promise<{track: MediaStreamTrack | null} | null>} null if it failed
   * @private
   */
  async _openOrWarn(source, change) {
    try {
      return { track: await change() };
    } catch (error) {
      this._core.notice("warning", source, toDeviceError(source, error).message);
      return null;
    }
  }

  /**
   * Show the new state on our own tile at once, and tell the server.
   * @param {"microphone" | "camera"} source
   * @param {boolean} muted
   * @private
   */
  async _reportMute(source, muted) {
    this._roster.updateOwnMute(this._core.participantId, source, muted);
    if (!this._core.inRoom) return; // sent after the next join
    try {
      await this._request("mute", { source, muted });
    } catch (error) {
      if (error instanceof ProtocolError && error.code === "mic_locked") {
        this._interaction.micLocked = true;
        this._core.notice("warning", "mic_locked", errorText(error.code, error.message));
        void this.setMicrophoneMuted(true);
      } else if (!(error instanceof ProtocolError && error.transient)) {
        this._core.notice("warning", "mute", t(`media.mute_report_failed_${source}`, { reason: /** @type {Error} */ (error).message }));
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
    // Started at once when nothing else runs (not a microtask later): the
    // page's first getUserMedia call is then made before the page builds its views.
    const idle = this._deviceOpsPending === 0;
    this._deviceOpsPending += 1;
    const run = idle ? operation() : this._deviceOps.then(operation);
    const settled = run.catch(() => {}).finally(() => void (this._deviceOpsPending -= 1));
    this._deviceOps = settled;
    return run;
  }
}
