// This client's own camera, microphone and screen: the tracks and their on/off
// state. DOM-free. Publishing them is the session's job.

import { DEFAULT_PROCESSING, listDevices, pickDevice } from "./devices.js";
import { openCamera, openDevices, openMicrophone, openScreen, toDeviceError } from "./media.js";

/** @typedef {import("./protocol.js").Source} Source */
/** @typedef {import("./media.js").DeviceError} DeviceError */
/** @typedef {import("./media.js").DeviceRequest} DeviceRequest */
/** @typedef {import("./devices.js").AudioProcessing} AudioProcessing */
/** @typedef {import("./devices.js").DeviceWish} DeviceWish */
/** @typedef {"microphone" | "camera"} Capture */

/**
 * Events (CustomEvent):
 * - `localtrack` {source, track}: a track started (track) or stopped (null)
 * - `deviceended` {source, deviceId, label}: a capture ended by itself (device
 *   unplugged, permission revoked, or the browser's own "Stop sharing"); which device it was
 */
export class LocalMedia extends EventTarget {
  /** @param {{audio?: boolean}} [options] audio: false never opens the microphone */
  constructor({ audio = true } = {}) {
    super();
    this.audioAllowed = audio;
    /** @type {Record<Source, MediaStreamTrack | null>} */
    this.tracks = { microphone: null, camera: null, screen: null };
    this.micMuted = false;
    this.cameraOn = true;
    /** true once a camera worked: its m-section is then published even while off */
    this.hadCamera = false;
    /** @type {Record<Capture, DeviceWish | null>} the device to open for each (null: the browser's default) */
    this.wishes = { microphone: null, camera: null };
    /** @type {AudioProcessing} the microphone's echo cancellation, noise suppression, auto gain */
    this.processing = { ...DEFAULT_PROCESSING };
  }

  /**
   * The id of the device a capture uses now, else the one it would open.
   * @param {Capture} source
   * @returns {string | null}
   */
  deviceOf(source) {
    return this.tracks[source]?.getSettings().deviceId ?? this.wishes[source]?.id ?? null;
  }

  /**
   * Open camera and microphone (the pre-join preview, or a rejoin).
   * @param {{microphone?: boolean, camera?: boolean}} [wanted]
   * @returns {Promise<DeviceError[]>} what could not be opened
   */
  async open(wanted = {}) {
    const opened = await openDevices(
      { microphone: this.audioAllowed && (wanted.microphone ?? true), camera: wanted.camera ?? true },
      { microphone: this._request("microphone"), camera: this._request("camera") },
    );
    for (const source of /** @type {const} */ (["microphone", "camera"])) {
      const track = opened[source];
      if (track) this._set(source, track);
    }
    await this._honourWishes();
    if (this.tracks.microphone) this.tracks.microphone.enabled = !this.micMuted;
    else this.micMuted = true;
    this.cameraOn = this.tracks.camera !== null;
    return opened.errors;
  }

  /**
   * After opening: a wish the browser could not meet by id (a remembered
   * device whose id changed, a room's speakerphone) is looked up in the
   * device list, by label or kind, and that device is opened instead.
   * @private
   */
  async _honourWishes() {
    const open = /** @type {Capture[]} */ (["microphone", "camera"]).filter((source) => {
      const wish = this.wishes[source];
      return this.tracks[source] && wish && (!wish.id || wish.id !== this.deviceOf(source));
    });
    if (!open.length) return;
    const devices = await listDevices();
    for (const source of open) {
      const found = pickDevice(devices[source], this.wishes[source]);
      if (!found || found.deviceId === this.deviceOf(source)) continue;
      try {
        await this.useDevice(source, found.deviceId);
      } catch {
        // keep the device the browser gave
      }
    }
  }

  /**
   * How to open a capture: its wished device (any other if that one is
   * gone), and the microphone's processing.
   * @param {Capture} source
   * @returns {DeviceRequest}
   * @private
   */
  _request(source) {
    const deviceId = this.wishes[source]?.id ?? null;
    return source === "microphone" ? { deviceId, processing: this.processing } : { deviceId };
  }

  /**
   * Use another camera or microphone. A running capture is replaced by one
   * of that device (the caller sends it in place of the old one); a capture
   * that is off opens that device next time.
   * @param {Capture} source
   * @param {string} deviceId
   * @returns {Promise<MediaStreamTrack | null>} the new track, null if the capture is off
   * @throws {DeviceError} if that device cannot be opened (the old one keeps running)
   */
  async useDevice(source, deviceId) {
    const old = this.tracks[source];
    this.wishes[source] = { id: deviceId, label: undefined };
    if (!old) return null;
    if (old.readyState === "live" && old.getSettings().deviceId === deviceId) return old;
    return this._reopen(source, { deviceId, exact: true });
  }

  /**
   * Turn the browser's echo cancellation, noise suppression or automatic
   * gain on or off: a running microphone is opened again with them.
   * @param {AudioProcessing} processing
   * @returns {Promise<MediaStreamTrack | null>} the new microphone track, if one runs
   * @throws {DeviceError}
   */
  async setProcessing(processing) {
    this.processing = { ...processing };
    const old = this.tracks.microphone;
    if (!old) return null;
    const deviceId = old.getSettings().deviceId ?? null;
    // Browsers share one capture per microphone, processed one way: the old
    // track must stop before the new settings can take hold.
    old.stop();
    return this._reopen("microphone", { deviceId, exact: Boolean(deviceId) }, true);
  }

  /**
   * Open `source` again as `request` says and put it in place of the old track.
   * @param {Capture} source
   * @param {DeviceRequest} request
   * @param {boolean} [stopped] the old track is already stopped
   * @returns {Promise<MediaStreamTrack>}
   * @private
   */
  async _reopen(source, request, stopped = false) {
    const open = (/** @type {DeviceRequest} */ r) =>
      source === "camera" ? openCamera(r) : openMicrophone({ ...r, processing: this.processing });
    const old = this.tracks[source];
    let track;
    try {
      track = await open(request);
    } catch (error) {
      const problem = toDeviceError(source, error);
      // Some cameras (phones' front and back) open one at a time: stop the old one, try again.
      if (stopped || problem.problem !== "in_use" || !old) throw problem;
      old.stop();
      track = await open(request);
    }
    if (source === "microphone") track.enabled = !this.micMuted;
    this._set(source, track);
    return track;
  }

  /**
   * Mute or unmute; unmuting opens the microphone if it never was.
   * @param {boolean} muted
   * @returns {Promise<MediaStreamTrack | null>} a newly opened track, if any
   * @throws {DeviceError} if the microphone cannot be opened
   */
  async setMicMuted(muted) {
    let opened = null;
    if (!muted && !this.tracks.microphone) {
      opened = await openMicrophone(this._request("microphone"));
      this._set("microphone", opened);
    }
    this.micMuted = muted;
    if (this.tracks.microphone) this.tracks.microphone.enabled = !muted;
    return opened;
  }

  /**
   * Turn the camera on (a fresh capture) or off (the capture stops: light off).
   * @param {boolean} on
   * @returns {Promise<MediaStreamTrack | null>} the camera track now (null when off)
   * @throws {DeviceError} if the camera cannot be opened
   */
  async setCameraOn(on) {
    if (on && !this.tracks.camera) {
      this._set("camera", await openCamera(this._request("camera")));
    } else if (!on && this.tracks.camera) {
      this.tracks.camera.stop();
      this._set("camera", null);
    }
    this.cameraOn = on;
    return this.tracks.camera;
  }

  /**
   * Ask which screen to share and start sharing it.
   * @returns {Promise<MediaStreamTrack>}
   * @throws {DeviceError}
   */
  async startScreen() {
    const track = await openScreen();
    this._set("screen", track);
    return track;
  }

  /** @returns {boolean} true if a share was running */
  stopScreen() {
    const track = this.tracks.screen;
    if (!track) return false;
    track.stop();
    this._set("screen", null);
    return true;
  }

  /** The microphone went away: muted, with no track until unmuted again. */
  dropMicrophone() {
    this.tracks.microphone?.stop();
    this._set("microphone", null);
    this.micMuted = true;
  }

  /** Stop every capture (after leaving); the on/off choices are kept. */
  releaseAll() {
    for (const source of /** @type {const} */ (["microphone", "camera", "screen"])) {
      const track = this.tracks[source];
      if (!track) continue;
      track.stop();
      this._set(source, null);
    }
  }

  /**
   * @param {Source} source
   * @param {MediaStreamTrack | null} track
   * @private
   */
  _set(source, track) {
    const old = this.tracks[source];
    if (old && old !== track) old.stop();
    this.tracks[source] = track;
    if (source === "camera" && track) this.hadCamera = true;
    // stop() does not fire "ended": this only hears captures that end by themselves.
    const lost = { source, deviceId: track?.getSettings().deviceId ?? null, label: track?.label ?? "" };
    track?.addEventListener("ended", () => {
      if (this.tracks[source] === track) this.dispatchEvent(new CustomEvent("deviceended", { detail: lost }));
    });
    this.dispatchEvent(new CustomEvent("localtrack", { detail: { source, track } }));
  }
}
