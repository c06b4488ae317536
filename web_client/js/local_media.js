// This client's own camera, microphone and screen: the tracks and their on/off
// state. DOM-free. Publishing them is the session's job.

import { openCamera, openDevices, openMicrophone, openScreen } from "./media.js";

/** @typedef {import("./protocol.js").Source} Source */
/** @typedef {import("./media.js").DeviceError} DeviceError */

/**
 * Events (CustomEvent):
 * - `localtrack` {source, track}: a track started (track) or stopped (null)
 * - `deviceended` {source}: a capture ended by itself (device unplugged,
 *   permission revoked, or the browser's own "Stop sharing")
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
  }

  /**
   * Open camera and microphone (the pre-join preview, or a rejoin).
   * @param {{microphone?: boolean, camera?: boolean}} [wanted]
   * @returns {Promise<DeviceError[]>} what could not be opened
   */
  async open(wanted = {}) {
    const opened = await openDevices({
      microphone: this.audioAllowed && (wanted.microphone ?? true),
      camera: wanted.camera ?? true,
    });
    for (const source of /** @type {const} */ (["microphone", "camera"])) {
      const track = opened[source];
      if (track) this._set(source, track);
    }
    if (this.tracks.microphone) this.tracks.microphone.enabled = !this.micMuted;
    else this.micMuted = true;
    this.cameraOn = this.tracks.camera !== null;
    return opened.errors;
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
      opened = await openMicrophone();
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
      this._set("camera", await openCamera());
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
    track?.addEventListener("ended", () => {
      if (this.tracks[source] === track) this.dispatchEvent(new CustomEvent("deviceended", { detail: { source } }));
    });
    this.dispatchEvent(new CustomEvent("localtrack", { detail: { source, track } }));
  }
}
