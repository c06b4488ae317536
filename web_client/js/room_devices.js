// The meeting page's device choice: which camera, microphone and speaker,
// the microphone's processing, remembered per browser (devices.js); a
// speaker that goes away; what a companion and a room device start with.
// The pickers (ui/device_settings.js) render from it and call it. Used by room.js.

import { DevicePreferences, NONE, canChooseSpeaker, listDevices, pickDevice } from "./devices.js";
import { t } from "./i18n.js";

/** @typedef {import("./session.js").MeetingSession} MeetingSession */
/** @typedef {import("./room_hybrid.js").HybridRoom} HybridRoom */
/** @typedef {import("./ui/audio.js").AudioSink} AudioSink */
/** @typedef {import("./devices.js").DeviceSlot} DeviceSlot */
/** @typedef {import("./devices.js").DeviceInfo} DeviceInfo */
/** @typedef {import("./devices.js").AudioProcessing} AudioProcessing */

/**
 * What the pickers show.
 * @typedef {object} DeviceView
 * @property {Record<DeviceSlot, DeviceInfo[]>} lists
 * @property {Record<DeviceSlot, string>} selected a device id, or NONE
 * @property {boolean} companion the microphone and speaker pickers offer NONE
 * @property {boolean} canChooseSpeaker
 * @property {AudioProcessing} processing
 * @property {MediaStreamTrack | null} microphone the track the level meter shows
 */

/**
 * Events: `change` {}: the devices, the choices or the state changed (render again).
 */
export class RoomDevices extends EventTarget {
  /**
   * @param {MeetingSession} session
   * @param {HybridRoom} hybrid
   * @param {DevicePreferences} prefs
   * @param {(level: "info" | "warning", key: string, text: string) => void} notify a status line
   */
  constructor(session, hybrid, prefs, notify) {
    super();
    this.session = session;
    this.hybrid = hybrid;
    this.prefs = prefs;
    this._notify = notify;
    /** @type {Record<DeviceSlot, DeviceInfo[]>} */
    this.lists = { camera: [], microphone: [], speaker: [] };
    /** @type {AudioSink | null} */
    this.audio = null;
    /** @type {Promise<void> | null} a listing under way */
    this._listing = null;
    this._again = false;
    const changed = () => this._changed();
    session.addEventListener("localstate", changed);
    session.addEventListener("localtrack", (e) => {
      // Names and ids show once a capture is allowed: list again.
      if (/** @type {CustomEvent} */ (e).detail.track) void this.refresh();
      else changed();
    });
    hybrid.addEventListener("change", changed);
    globalThis.navigator?.mediaDevices?.addEventListener?.("devicechange", () => void this.refresh());
  }

  /**
   * Which devices to open first (call before the session opens them): the
   * remembered camera and microphone, a room device's speakerphone, and the
   * remembered processing. Reads localStorage only: the join is not held up.
   * @param {MeetingSession} session
   * @param {DevicePreferences} prefs
   */
  static prefer(session, prefs) {
    session.preferDevices({ camera: prefs.wish("camera"), microphone: prefs.wish("microphone"), processing: prefs.processing });
  }

  /** @param {AudioSink} audio the remote audio, played on the chosen speaker */
  wire(audio) {
    this.audio = audio;
  }

  /** List the devices again (coalesced); the speaker follows (remembered, or gone). */
  refresh() {
    if (this._listing) {
      this._again = true;
      return this._listing;
    }
    this._listing = (async () => {
      do {
        this._again = false;
        const before = this.lists;
        this.lists = await listDevices();
        await this._followSpeaker(before.speaker);
      } while (this._again);
      this._listing = null;
      this._changed();
    })();
    return this._listing;
  }

  /** @returns {DeviceView} */
  get view() {
    const session = this.session;
    const companion = this.hybrid.isCompanion;
    const speakerId = this.audio?.sinkId || "default";
    return {
      lists: this.lists,
      selected: {
        camera: session.deviceOf("camera") ?? this.lists.camera[0]?.deviceId ?? "",
        microphone: companion && session.micMuted ? NONE : (session.deviceOf("microphone") ?? "default"),
        speaker: companion && !this.hybrid.speakerOn ? NONE : speakerId,
      },
      companion,
      canChooseSpeaker: canChooseSpeaker(),
      processing: session.audioProcessing,
      microphone: session.local.microphone,
    };
  }

  /**
   * The person picked a device (or NONE) for a slot.
   * @param {DeviceSlot} slot
   * @param {string} value
   */
  async choose(slot, value) {
    try {
      if (slot === "speaker") await this._chooseSpeaker(value);
      else await this._chooseCapture(slot, value);
    } finally {
      this._changed();
    }
  }

  /**
   * Turn one of the microphone's processing steps on or off (remembered).
   * @param {keyof AudioProcessing} key
   * @param {boolean} on
   */
  async setProcessing(key, on) {
    const processing = { ...this.session.audioProcessing, [key]: on };
    this.prefs.rememberProcessing(processing);
    await this.session.setAudioProcessing(processing);
    this._changed();
  }

  /**
   * @param {"camera" | "microphone"} source
   * @param {string} value
   * @private
   */
  async _chooseCapture(source, value) {
    const session = this.session;
    if (value === NONE) {
      if (source === "microphone" && !session.micMuted) await session.setMicrophoneMuted(true);
      return;
    }
    const device = this.lists[source].find((d) => d.deviceId === value);
    if (!device) return;
    // A companion's microphone is off: picking one turns it on, after the echo warning.
    const turnOn = source === "microphone" && this.hybrid.isCompanion && session.micMuted;
    if (turnOn && !(await this.hybrid.confirmEcho("microphone"))) return;
    if (!(await session.useDevice(source, device.deviceId))) return;
    this.prefs.remember(source, device);
    if (turnOn) await session.setMicrophoneMuted(false);
  }

  /**
   * @param {string} value
   * @private
   */
  async _chooseSpeaker(value) {
    const hybrid = this.hybrid;
    if (value === NONE) {
      hybrid.setSpeaker(false);
      return;
    }
    const device = this.lists.speaker.find((d) => d.deviceId === value);
    if (!device || !this.audio) return;
    if (hybrid.isCompanion && !hybrid.speakerOn) {
      if (!(await hybrid.confirmEcho("speaker"))) return;
      hybrid.setSpeaker(true);
    }
    if (await this.audio.setSinkId(device.deviceId)) this.prefs.remember("speaker", device);
  }

  /**
   * After listing: the chosen speaker is gone (unplugged): back to the
   * system's default, with a notice; otherwise the remembered one (or a room
   * device's speakerphone) when it is there.
   * @param {DeviceInfo[]} before the previous list of outputs
   * @private
   */
  async _followSpeaker(before) {
    const audio = this.audio;
    const outputs = this.lists.speaker;
    if (!audio || !canChooseSpeaker() || !outputs.length) return;
    const current = audio.sinkId;
    if (current && !outputs.some((d) => d.deviceId === current)) {
      const lost = before.find((d) => d.deviceId === current)?.label || t("devices.unnamed");
      await audio.setSinkId("");
      const fallback = outputs.find((d) => d.deviceId === "default")?.label || t("devices.system_default");
      this._notify("warning", "speaker", t("devices.speaker_switched", { lost, device: fallback }));
      return;
    }
    const microphone = this.lists.microphone.find((d) => d.deviceId === this.session.deviceOf("microphone"));
    const wanted = pickDevice(outputs, this.prefs.wish("speaker", { group: microphone?.groupId }));
    if (wanted && wanted.deviceId !== (current || "default")) await audio.setSinkId(wanted.deviceId);
  }

  /** @private */
  _changed() {
    this.dispatchEvent(new CustomEvent("change", { detail: {} }));
  }
}
