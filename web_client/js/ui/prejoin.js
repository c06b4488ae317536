// The pre-join screen: camera preview, microphone/camera toggles, name, where
// we are (remote, or in a meeting room: which one, or its check-in code), "Join".

import { cleanCheckin } from "../presence.js";
import { setAttr, setText, t } from "../i18n.js";
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
    this._connectivityRoot = q(".connectivity");
    /** @type {ConnectivityPanel | null} "Check connection" (made when the screen is first shown) */
    this.connectivity = null;
    this.video.muted = true;
    /** @type {import("./device_settings.js").DeviceSettings | null} the camera, microphone and speaker pickers */
    this.devices = null;
    /** @type {(() => import("./device_settings.js").DeviceSettings) | null} makes {@link devices} */
    this._makeDevices = null;
    /** @type {MediaStreamTrack | null} the camera shown in the preview (while shown) */
    this._previewTrack = null;
    /** @type {string | null} the microphone and camera state the toggles show */
    this._localState = null;

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
   * The device pickers shown on this screen (their level meter runs while it
   * is shown), made when the screen is first shown.
   * @param {() => import("./device_settings.js").DeviceSettings} make
   */
  attachDevices(make) {
    this._makeDevices = make;
    if (!this.root.hidden) this._buildExtras();
  }

  /**
   * The language switch, "Check connection" and the device pickers: only
   * for a screen that is shown. A page that joins from its link
   * (`autojoin`) never shows it unless the join asks for a passcode or a
   * check-in code, and does not build them while it joins (issue 21).
   * @private
   */
  _buildExtras() {
    if (this.connectivity) return;
    this.form.prepend(languageSwitch("prejoin-language"));
    this.connectivity = new ConnectivityPanel(this._connectivityRoot);
    if (this._makeDevices) {
      this.devices = this._makeDevices();
      this.devices.setActive(!this.root.hidden);
    }
  }

  show() {
    this.root.hidden = false;
    this._buildExtras();
    this.setPreview(this._previewTrack);
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
    // From the catalog (it was English on every page): the button shows it
    // again when a passcode is asked for after a join from the link.
    setText(this.joinButton, busy ? "room.joining" : "prejoin.join_button");
  }

  /**
   * The camera preview; while the screen is hidden (joining from the link)
   * the track is only kept: no video plays where nobody sees it (issue 21).
   * @param {MediaStreamTrack | null} track
   */
  setPreview(track) {
    this._previewTrack = track;
    this.preview.dataset.videoOff = String(!track);
    if (this.root.hidden) return;
    const current = /** @type {MediaStream | null} */ (this.video.srcObject)?.getVideoTracks()[0] ?? null;
    if (current === track) return;
    this.video.srcObject = track ? new MediaStream([track]) : null;
    if (track) play(this.video);
  }

  /**
   * @param {{micMuted: boolean, cameraOn: boolean, audioAllowed: boolean}} state
   */
  setLocalState({ micMuted, cameraOn, audioAllowed }) {
    const shown = `${micMuted} ${cameraOn} ${audioAllowed}`;
    if (shown === this._localState) return; // called at every change of the controls
    this._localState = shown;
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
