// The pre-join screen: camera preview, microphone/camera toggles, name, where
// we are (remote, or in a meeting room: which one, or its check-in code), "Join".

import { cleanCheckin } from "../presence.js";
import { setAttr, t } from "../i18n.js";
import { cleanName } from "../protocol.js";
import { ConnectivityPanel } from "./connectivity_panel.js";
import { icon, play } from "./dom.js";
import { CAMERA, CAMERA_OFF, MIC, MIC_OFF } from "./icons.js";
import { languageSwitch } from "./language_switch.js";

/**
 * Where the person says they are: in a meeting room (`companion`), which one
 * (`zone`), or that room's check-in code.
 * @typedef {object} PlaceChoice
 * @property {boolean} companion
 * @property {string | null} zone
 * @property {string | null} checkin
 */

/**
 * @typedef {object} PrejoinHandlers
 * @property {(name: string, passcode: string, place: PlaceChoice) => void} onJoin
 * @property {() => void} onToggleMic
 * @property {() => void} onToggleCamera
 * @property {(companion: boolean) => void} [onCompanion] the "in a meeting room" box changed
 */

export class PrejoinView {
  /**
   * @param {HTMLElement} root the element holding the pre-join markup of room.html
   * @param {string} room
   * @param {PrejoinHandlers} handlers
   */
  constructor(root, room, handlers) {
    this.root = root;
    const q = (/** @type {string} */ selector) => /** @type {HTMLElement} */ (root.querySelector(selector));
    this.video = /** @type {HTMLVideoElement} */ (q("video"));
    this.preview = q(".prejoin-preview");
    this.form = /** @type {HTMLFormElement} */ (q("form"));
    this.nameInput = /** @type {HTMLInputElement} */ (q('[data-testid="name-input"]'));
    this.joinButton = /** @type {HTMLButtonElement} */ (q('[data-testid="join-button"]'));
    this.micButton = /** @type {HTMLButtonElement} */ (q('[data-testid="prejoin-mic-button"]'));
    this.cameraButton = /** @type {HTMLButtonElement} */ (q('[data-testid="prejoin-camera-button"]'));
    this.hint = q(".prejoin-hint");
    this.passcodeField = q(".passcode-field");
    this.passcodeInput = /** @type {HTMLInputElement} */ (q('[data-testid="passcode-input"]'));
    this.companionBox = /** @type {HTMLInputElement} */ (q('[data-testid="companion-checkbox"]'));
    this.companionFields = q(".companion-fields");
    this.zoneInput = /** @type {HTMLInputElement} */ (q('[data-testid="zone-input"]'));
    this.checkinInput = /** @type {HTMLInputElement} */ (q('[data-testid="checkin-input"]'));
    q(".prejoin-room").textContent = room;
    this.form.prepend(languageSwitch("prejoin-language"));
    // "Check connection": whether this network lets media through, before joining.
    this.connectivity = new ConnectivityPanel(q(".connectivity"));
    this.video.muted = true;
    /** @type {import("./device_settings.js").DeviceSettings | null} the camera, microphone and speaker pickers */
    this.devices = null;

    this.micButton.addEventListener("click", handlers.onToggleMic);
    this.cameraButton.addEventListener("click", handlers.onToggleCamera);
    this.nameInput.addEventListener("input", () => {
      this.nameInput.setCustomValidity("");
      this.hint.textContent = "";
    });
    this.companionBox.addEventListener("change", () => {
      this._showCompanionFields();
      handlers.onCompanion?.(this.companionBox.checked);
    });
    this.checkinInput.addEventListener("input", () => {
      this.hint.textContent = "";
      // A check-in code puts us in that room: mic and speaker off.
      if (this.checkinInput.value.trim() && !this.companionBox.checked) {
        this.companionBox.checked = true;
        this._showCompanionFields();
        handlers.onCompanion?.(true);
      }
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = cleanName(this.nameInput.value);
      if (!name) {
        this.hint.textContent = t("common.name_required");
        this.nameInput.focus();
        return;
      }
      const place = this._place();
      if (!place) return;
      if (!this.passcodeField.hidden && !this.passcodeInput.value.trim()) {
        this.hint.textContent = t("prejoin.passcode_required");
        this.passcodeInput.focus();
        return;
      }
      handlers.onJoin(name, this.passcodeInput.value.trim(), place);
    });
  }

  /**
   * The place as typed, or null (and a hint) if a field is not valid.
   * @returns {PlaceChoice | null}
   * @private
   */
  _place() {
    const typedCode = this.checkinInput.value.trim();
    const checkin = typedCode ? cleanCheckin(typedCode) : null;
    if (typedCode && !checkin) {
      this.hint.textContent = t("prejoin.checkin_invalid");
      this.checkinInput.focus();
      return null;
    }
    const companion = this.companionBox.checked || checkin !== null;
    const typedZone = this.zoneInput.value.trim();
    const zone = companion && typedZone ? cleanName(typedZone) : null;
    if (companion && typedZone && !zone) {
      this.hint.textContent = t("prejoin.zone_invalid");
      this.zoneInput.focus();
      return null;
    }
    return { companion, zone, checkin };
  }

  /** @private */
  _showCompanionFields() {
    this.companionFields.hidden = !this.companionBox.checked;
  }

  /**
   * Pre-fill where we are (from the meeting link).
   * @param {PlaceChoice} place
   */
  setPlace({ companion, zone, checkin }) {
    this.companionBox.checked = companion;
    this.zoneInput.value = zone ?? "";
    this.checkinInput.value = checkin ?? "";
    this._showCompanionFields();
  }

  /** A room device: where it is comes from its link, nothing to choose. */
  hidePlace() {
    for (const el of [this.companionBox.closest("label"), this.companionFields, this.checkinInput.closest("label")]) {
      if (el) /** @type {HTMLElement} */ (el).hidden = true;
    }
  }

  /**
   * The check-in code was refused: ask again (call after `show()`).
   * @param {string} hint
   */
  askCheckin(hint) {
    this.hint.textContent = hint;
    this.checkinInput.focus();
    this.checkinInput.select();
  }

  /** @param {string} name */
  setName(name) {
    this.nameInput.value = name;
  }

  /**
   * Ask for the meeting's passcode (the join was refused without it).
   * @param {string} value what to prefill
   * @param {string} hint why we ask
   */
  askPasscode(value, hint) {
    this.passcodeField.hidden = false;
    if (value) this.passcodeInput.value = value;
    this.hint.textContent = hint;
    this.passcodeInput.focus();
    this.passcodeInput.select();
  }

  /**
   * The device pickers shown on this screen (their level meter runs while it is shown).
   * @param {import("./device_settings.js").DeviceSettings} settings
   */
  attachDevices(settings) {
    this.devices = settings;
    settings.setActive(!this.root.hidden);
  }

  show() {
    this.root.hidden = false;
    this.devices?.setActive(true);
    if (!this.passcodeField.hidden) this.passcodeInput.focus();
    else if (!this.nameInput.value) this.nameInput.focus();
    else this.joinButton.focus();
  }

  hide() {
    this.root.hidden = true;
    this.devices?.setActive(false);
    this.video.srcObject = null;
  }

  /** @param {boolean} busy */
  setBusy(busy) {
    this.joinButton.disabled = busy;
    this.joinButton.textContent = busy ? "Joining…" : "Join";
  }

  /** @param {MediaStreamTrack | null} track */
  setPreview(track) {
    this.video.srcObject = track ? new MediaStream([track]) : null;
    if (track) play(this.video);
    this.preview.dataset.videoOff = String(!track);
  }

  /**
   * @param {{micMuted: boolean, cameraOn: boolean, audioAllowed: boolean}} state
   */
  setLocalState({ micMuted, cameraOn, audioAllowed }) {
    this.micButton.replaceChildren(icon(micMuted ? MIC_OFF : MIC));
    this.micButton.dataset.off = String(micMuted);
    const micKey = micMuted ? "controls.unmute_mic" : "controls.mute_mic";
    setAttr(setAttr(this.micButton, "aria-label", micKey), "title", micKey);
    this.micButton.disabled = !audioAllowed;
    this.cameraButton.replaceChildren(icon(cameraOn ? CAMERA : CAMERA_OFF));
    this.cameraButton.dataset.off = String(!cameraOn);
    const cameraKey = cameraOn ? "controls.camera_off" : "controls.camera_on";
    setAttr(setAttr(this.cameraButton, "aria-label", cameraKey), "title", cameraKey);
  }
}
