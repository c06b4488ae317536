// Which camera, microphone and speaker: the browser's devices
// (`enumerateDevices`), the choices this browser remembers (`localStorage`),
// the microphone's audio processing, a room device's speakerphone, and a
// device to fall back to when one goes away. DOM-free (navigator.mediaDevices
// and localStorage only).

/** @typedef {"camera" | "microphone" | "speaker"} DeviceSlot */
/** @typedef {import("./protocol.js").PresenceMode} PresenceMode */

/**
 * The browser's own echo cancellation, noise suppression and automatic gain
 * (constraints of the microphone's `getUserMedia`).
 * @typedef {object} AudioProcessing
 * @property {boolean} echoCancellation
 * @property {boolean} noiseSuppression
 * @property {boolean} autoGainControl
 */

/**
 * A device wanted for a slot: one chosen before (its id, and its label in
 * case the id changed), or a room's speakerphone.
 * @typedef {object} DeviceWish
 * @property {string} [id]
 * @property {string} [label]
 * @property {boolean} [speakerphone] any device that looks like a speakerphone
 * @property {string} [group] prefer this `groupId` (the speakerphone's output beside its microphone)
 */

/**
 * What `enumerateDevices` lists, as far as this module reads it.
 * @typedef {{deviceId: string, kind: string, label: string, groupId: string}} DeviceInfo
 */

/** @type {Record<DeviceSlot, MediaDeviceKind>} */
export const KIND_OF_SLOT = { camera: "videoinput", microphone: "audioinput", speaker: "audiooutput" };

/** A picker's value for "none here: the meeting room's speakerphone" (a companion's microphone and speaker). */
export const NONE = "none";

/** @type {AudioProcessing} */
export const DEFAULT_PROCESSING = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** The processing settings in the order the pages show them. */
export const PROCESSING_KEYS = /** @type {const} */ (["noiseSuppression", "echoCancellation", "autoGainControl"]);

/** localStorage key of the choices; a room device keeps its own (`….room`). */
const STORE_KEY = "conf.devices";

/** Labels of conference speakerphones (USB and Bluetooth), in English and German. */
const SPEAKERPHONE = /speakerphone|speaker ?phone|freisprech|konferenz|conference|\bspeak ?\d{3}|\bsync ?\d{2}\b|\bpoly\b|\bmeetup\b|powerconf/i;

/**
 * The devices of each slot (entries without an id, as browsers list them
 * before camera or microphone permission, are left out).
 * @returns {Promise<Record<DeviceSlot, DeviceInfo[]>>}
 */
export async function listDevices() {
  /** @type {Record<DeviceSlot, DeviceInfo[]>} */
  const out = { camera: [], microphone: [], speaker: [] };
  const media = globalThis.navigator?.mediaDevices;
  if (!media?.enumerateDevices) return out;
  let all;
  try {
    all = await media.enumerateDevices();
  } catch {
    return out;
  }
  for (const device of all) {
    const slot = /** @type {DeviceSlot | undefined} */ (
      Object.keys(KIND_OF_SLOT).find((s) => KIND_OF_SLOT[/** @type {DeviceSlot} */ (s)] === device.kind)
    );
    if (slot && device.deviceId) out[slot].push(device);
  }
  return out;
}

/** True if this browser can send a page's sound to a chosen output (`setSinkId`). */
export function canChooseSpeaker() {
  const proto = globalThis.HTMLMediaElement?.prototype;
  return Boolean(proto && "setSinkId" in proto);
}

/**
 * The device of `list` a wish names: the same id, else the same label (ids
 * change when site data is cleared), else for a speakerphone wish one whose
 * label says so (in the wished group first). null: none of them.
 * @param {DeviceInfo[]} list
 * @param {DeviceWish | null | undefined} wish
 * @returns {DeviceInfo | null}
 */
export function pickDevice(list, wish) {
  if (!wish) return null;
  if (wish.id) {
    const same = list.find((d) => d.deviceId === wish.id);
    if (same) return same;
  }
  if (wish.label) {
    const named = list.find((d) => d.label === wish.label);
    if (named) return named;
  }
  if (wish.speakerphone) {
    const real = list.filter((d) => !isAlias(d));
    const phones = real.filter((d) => SPEAKERPHONE.test(d.label));
    return phones.find((d) => wish.group && d.groupId === wish.group) ?? phones[0] ?? null;
  }
  return null;
}

/**
 * Devices to try, in order, when `lost` went away: the wished one, the
 * system's default (which follows the system: after an unplug it stands for
 * another device, so it is tried even when it was the one lost), then the
 * others.
 * @param {DeviceInfo[]} list
 * @param {{lost?: string | null, wish?: DeviceWish | null}} [options]
 *   lost: the id of the device that went away (browsers may still list it)
 * @returns {DeviceInfo[]}
 */
export function fallbackDevices(list, { lost = null, wish = null } = {}) {
  const usable = list.filter((d) => d.deviceId !== lost || isAlias(d));
  const wished = pickDevice(usable.filter((d) => d.deviceId !== lost), wish);
  const order = [wished, usable.find((d) => d.deviceId === "default"), ...usable.filter((d) => !isAlias(d))];
  return /** @type {DeviceInfo[]} */ ([...new Set(order.filter(Boolean))]);
}

/**
 * "default" and "communications" stand for another device of the list.
 * @param {DeviceInfo} device
 */
function isAlias(device) {
  return device.deviceId === "default" || device.deviceId === "communications";
}

/**
 * The devices this browser chose before, per slot, and the audio processing;
 * kept in localStorage. A room device (`mode: "room"`) has its own: it is a
 * machine in a meeting room whose speakerphone is picked for it, not a
 * person's laptop.
 */
export class DevicePreferences {
  /** @param {PresenceMode} mode */
  constructor(mode) {
    this.mode = mode;
    this.key = mode === "room" ? `${STORE_KEY}.room` : STORE_KEY;
    /** @type {{camera?: DeviceWish, microphone?: DeviceWish, speaker?: DeviceWish, processing?: Partial<AudioProcessing>}} */
    this._saved = read(this.key);
  }

  /**
   * The device wanted for a slot: the remembered one; for a room device
   * without one, its speakerphone (microphone and speaker).
   * @param {DeviceSlot} slot
   * @param {{group?: string}} [hint] group: the chosen microphone's groupId (a speakerphone's output sits beside it)
   * @returns {DeviceWish | null}
   */
  wish(slot, hint = {}) {
    const saved = this._saved[slot];
    if (saved?.id || saved?.label) return { id: saved.id, label: saved.label };
    if (this.mode === "room" && slot !== "camera") return { speakerphone: true, group: hint.group };
    return null;
  }

  /** @returns {AudioProcessing} */
  get processing() {
    const saved = this._saved.processing ?? {};
    /** @type {AudioProcessing} */
    const out = { ...DEFAULT_PROCESSING };
    for (const key of PROCESSING_KEYS) if (typeof saved[key] === "boolean") out[key] = saved[key];
    return out;
  }

  /**
   * Remember the device chosen for a slot.
   * @param {DeviceSlot} slot
   * @param {{deviceId: string, label?: string}} device
   */
  remember(slot, device) {
    this._saved[slot] = { id: device.deviceId, label: device.label || undefined };
    this._write();
  }

  /** @param {AudioProcessing} processing */
  rememberProcessing(processing) {
    this._saved.processing = { ...processing };
    this._write();
  }

  /** @private */
  _write() {
    try {
      localStorage.setItem(this.key, JSON.stringify(this._saved));
    } catch {
      // private mode or storage full: the choice holds for this page only
    }
  }
}

/**
 * @param {string} key
 * @returns {Record<string, any>}
 */
function read(key) {
  try {
    const value = JSON.parse(globalThis.localStorage?.getItem(key) ?? "null");
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}
