// The device pickers: camera, microphone (with its level meter), speaker
// (with a test sound; hidden where the browser cannot choose one), and the
// microphone's processing switches. On the pre-join screen and in the
// meeting's "Devices" dialog; both render from RoomDevices (room_devices.js).

import { LANGUAGE_CHANGED, events, setText, t } from "../i18n.js";
import { NONE, PROCESSING_KEYS } from "../devices.js";
import { LevelMeter, playTestSound } from "./audio_meter.js";
import { h, shownControl } from "./dom.js";

/** @typedef {import("../room_devices.js").RoomDevices} RoomDevices */
/** @typedef {import("../devices.js").DeviceSlot} DeviceSlot */
/** @typedef {import("../devices.js").DeviceInfo} DeviceInfo */

/** @type {Record<(typeof PROCESSING_KEYS)[number], {key: string, testid: string}>} */
const PROCESSING = {
  noiseSuppression: { key: "devices.noise_suppression", testid: "noise-suppression-toggle" },
  echoCancellation: { key: "devices.echo_cancellation", testid: "echo-cancellation-toggle" },
  autoGainControl: { key: "devices.auto_gain", testid: "auto-gain-toggle" },
};

/** @type {DeviceSlot[]} the pickers, in the order they are shown */
const SLOTS = ["camera", "microphone", "speaker"];

/** @type {Record<DeviceSlot, string>} numbered names for devices the browser does not name */
const UNNAMED = { camera: "devices.camera_n", microphone: "devices.microphone_n", speaker: "devices.speaker_n" };

export class DeviceSettings {
  /**
   * @param {HTMLElement} root where the pickers go
   * @param {RoomDevices} devices
   * @param {{processingOpen?: boolean}} [options] processingOpen: the processing switches shown, not folded
   */
  constructor(root, devices, { processingOpen = false } = {}) {
    this.devices = devices;
    this.active = false;
    /** @type {Record<DeviceSlot, HTMLSelectElement>} */
    this.selects = {
      camera: select("camera-select", (value) => devices.choose("camera", value)),
      microphone: select("microphone-select", (value) => devices.choose("microphone", value)),
      speaker: select("speaker-select", (value) => devices.choose("speaker", value)),
    };
    this.meter = /** @type {HTMLMeterElement} */ (
      h("meter.mic-level", {
        "data-testid": "mic-level",
        min: 0,
        max: 1,
        low: 0.25,
        high: 0.85,
        optimum: 0.5,
        value: 0,
        "i18n-aria-label": "devices.mic_level",
      })
    );
    this.level = new LevelMeter(this.meter);
    this.testButton = /** @type {HTMLButtonElement} */ (
      h("button.small.speaker-test", { type: "button", "data-testid": "speaker-test-button", i18n: "devices.test_speaker" })
    );
    this.testButton.addEventListener("click", () => void this._playTest());
    this.speakerField = field("devices.speaker", this.selects.speaker);
    this.speakerHint = h("p.field-hint", { "data-testid": "speaker-unsupported", i18n: "devices.speaker_unsupported", hidden: true });
    /** @type {Record<string, HTMLInputElement>} */
    this.switches = {};
    const switches = PROCESSING_KEYS.map((key) => {
      const input = /** @type {HTMLInputElement} */ (
        h("input.switch", { type: "checkbox", role: "switch", "data-testid": PROCESSING[key].testid })
      );
      input.addEventListener("change", () => void devices.setProcessing(key, input.checked));
      this.switches[key] = input;
      return h("label.check", {}, input, h("span", { i18n: PROCESSING[key].key }));
    });
    const processing = h(
      "details.audio-processing",
      { "data-testid": "audio-processing", open: processingOpen },
      h("summary", { i18n: "devices.processing" }),
      h("div.processing-switches", {}, ...switches, h("p.field-hint", { i18n: "devices.processing_hint" })),
    );
    this.el = h(
      "div.device-settings",
      { "data-testid": "device-settings" },
      field("devices.camera", this.selects.camera),
      h("div.device-field", {}, field("devices.microphone", this.selects.microphone), this.meter),
      h("div.device-field", {}, this.speakerField, h("div.device-test", {}, this.testButton, this.speakerHint)),
      processing,
    );
    root.append(this.el);
    devices.addEventListener("change", () => this.render());
    events.addEventListener(LANGUAGE_CHANGED, () => this.render(true));
    this.render();
  }

  /**
   * Shown or not: the level meter runs only while it can be seen.
   * @param {boolean} active
   * @returns {Promise<void>} settled once the device lists are fresh
   */
  setActive(active) {
    this.active = active;
    if (active) {
      this.level.setTrack(this.devices.view.microphone);
      this.level.start();
      return this.devices.refresh();
    }
    this.level.stop();
    return Promise.resolve();
  }

  /** The first picker that can take the focus, if any. */
  firstPicker() {
    return SLOTS.map((slot) => this.selects[slot]).find((el) => !el.disabled && !el.closest("[hidden]")) || null;
  }

  /** @param {boolean} [relabel] the language changed: option names again */
  render(relabel = false) {
    const view = this.devices.view;
    for (const slot of SLOTS) {
      const offerNone = view.companion && slot !== "camera";
      fill(this.selects[slot], slot, view.lists[slot], offerNone, relabel);
      setValue(this.selects[slot], view.selected[slot]);
    }
    this.speakerField.hidden = !view.canChooseSpeaker;
    this.speakerHint.hidden = view.canChooseSpeaker;
    for (const key of PROCESSING_KEYS) this.switches[key].checked = view.processing[key];
    this.level.setTrack(view.microphone);
  }

  /** @private */
  async _playTest() {
    const button = this.testButton;
    if (button.disabled) return;
    button.disabled = true;
    setText(button, "devices.testing_speaker");
    const view = this.devices.view;
    const sinkId = view.selected.speaker === NONE || view.selected.speaker === "default" ? "" : view.selected.speaker;
    try {
      await playTestSound(view.canChooseSpeaker ? sinkId : "", this.el);
    } catch (error) {
      console.warn("test sound:", error);
    } finally {
      button.disabled = false;
      setText(button, "devices.test_speaker");
    }
  }
}

/**
 * @param {string} testid
 * @param {(value: string) => void} onChange
 * @returns {HTMLSelectElement}
 */
function select(testid, onChange) {
  const el = /** @type {HTMLSelectElement} */ (h("select", { "data-testid": testid }));
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

/**
 * A labelled field (label above its select).
 * @param {string} key
 * @param {HTMLElement} control
 */
function field(key, control) {
  return h("label.field.device-select", {}, h("span", { i18n: key }), control);
}

/**
 * The options of a picker, rebuilt only when the devices changed (a focused
 * or open select is not disturbed by every update).
 * @param {HTMLSelectElement} el
 * @param {DeviceSlot} slot
 * @param {DeviceInfo[]} list
 * @param {boolean} offerNone
 * @param {boolean} relabel
 */
function fill(el, slot, list, offerNone, relabel) {
  const signature = JSON.stringify([offerNone, list.map((d) => [d.deviceId, d.label])]);
  if (!relabel && el.dataset.devices === signature) return;
  el.dataset.devices = signature;
  const options = list.map((d, i) => h("option", { value: d.deviceId, text: d.label || t(UNNAMED[slot], { n: i + 1 }) }));
  if (offerNone) options.unshift(h("option", { value: NONE, text: t("devices.none_in_room") }));
  if (!options.length) options.push(h("option", { value: "", text: t("devices.none_found") }));
  el.replaceChildren(...options);
  el.disabled = list.length === 0;
}

/**
 * @param {HTMLSelectElement} el
 * @param {string} value
 */
function setValue(el, value) {
  if ([...el.options].some((o) => o.value === value)) el.value = value;
  else if (el.options.length) el.selectedIndex = 0;
}

/**
 * The meeting's "Devices" dialog (from the control bar): the pickers, the
 * level meter and the test sound, the processing switches.
 */
export class DevicesDialog {
  /** @param {RoomDevices} devices */
  constructor(devices) {
    const close = h("button.secondary", { type: "button", "data-testid": "devices-close-button", i18n: "common.close" });
    this.dialog = /** @type {HTMLDialogElement} */ (
      h(
        "dialog.confirm-dialog.devices-dialog",
        { "aria-labelledby": "devices-title", "data-testid": "devices-dialog" },
        h("h2", { id: "devices-title", i18n: "devices.title" }),
      )
    );
    this.settings = new DeviceSettings(this.dialog, devices, { processingOpen: true });
    this.dialog.append(h("div.dialog-buttons", {}, close));
    close.addEventListener("click", () => this.dialog.close());
    /** @type {HTMLElement | null} */
    this._returnTo = null;
    // Escape closes a modal <dialog> by itself; either way the focus goes back.
    this.dialog.addEventListener("close", () => {
      this.settings.setActive(false);
      const back = this._returnTo;
      this._returnTo = null;
      // The Devices button may sit in the bar's closed "More" menu: then More gets the focus.
      if (back?.isConnected) shownControl(back).focus();
    });
    document.body.append(this.dialog);
  }

  get isOpen() {
    return this.dialog.open;
  }

  /** @param {HTMLElement | null} [returnTo] where the focus goes when it closes */
  open(returnTo = null) {
    if (this.dialog.open) return;
    this._returnTo = returnTo;
    this.dialog.showModal();
    // The pickers are disabled until the devices are listed (a dialog opened
    // just after joining): the dialog then focused a later control. Once the
    // lists are in, the first picker gets the focus, unless it was moved.
    const first = document.activeElement;
    void this.settings.setActive(true).then(() => {
      const picker = this.settings.firstPicker();
      if (this.dialog.open && document.activeElement === first && picker && picker !== first) {
        picker.focus();
      }
    });
  }

  close() {
    this.dialog.close();
  }
}
