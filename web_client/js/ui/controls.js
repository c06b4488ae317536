// The control bar: microphone, camera, speaker, devices, screen share, leave.

import { t } from "../i18n.js";
import { h, icon } from "./dom.js";
import { CAMERA, CAMERA_OFF, LEAVE, LOCK, MIC, MIC_OFF, SCREEN, SCREEN_STOP, SLIDERS, SPEAKER, SPEAKER_OFF } from "./icons.js";
import { withKey } from "./shortcuts.js";

/**
 * @typedef {object} ControlHandlers
 * @property {() => void} onMic
 * @property {() => void} onCamera
 * @property {() => void} onSpeaker
 * @property {() => void} onDevices open the device pickers
 * @property {() => void} onScreen
 * @property {() => void} onLeave
 */

/**
 * @typedef {object} ControlState
 * @property {boolean} micMuted
 * @property {boolean} cameraOn
 * @property {boolean} sharing
 * @property {boolean} canShare the browser can share a screen
 * @property {boolean} audioAllowed false: this device never opens a microphone
 * @property {boolean} speakerOn the meeting's sound plays here
 * @property {string | null} [inRoom] the meeting room a companion device sits in ("" if unnamed)
 * @property {boolean} inMeeting
 * @property {boolean} [micLocked] a host locked our microphone
 */

export class Controls {
  /**
   * @param {HTMLElement} root the control bar's button group
   * @param {ControlHandlers} handlers
   */
  constructor(root, handlers) {
    this.mic = button("mic-button", handlers.onMic);
    this.camera = button("camera-button", handlers.onCamera);
    this.speaker = button("speaker-button", handlers.onSpeaker);
    this.devices = button("devices-button", handlers.onDevices);
    this.devices.setAttribute("aria-haspopup", "dialog");
    this.screen = button("screen-button", handlers.onScreen);
    this.leave = button("leave-button", handlers.onLeave);
    this.leave.classList.add("danger");
    // Keyboard shortcuts (shortcuts.js).
    this.mic.setAttribute("aria-keyshortcuts", "M");
    this.camera.setAttribute("aria-keyshortcuts", "V");
    this.leave.setAttribute("aria-keyshortcuts", "Shift+L");
    root.append(this.mic, this.camera, this.speaker, this.devices, this.screen, this.leave);
  }

  /** @param {ControlState} state */
  update(state) {
    const locked = Boolean(state.micLocked) && state.micMuted;
    if (locked) setContent(this.mic, LOCK, t("controls.mic_locked"));
    else setContent(this.mic, state.micMuted ? MIC_OFF : MIC, state.micMuted ? t("controls.unmute") : t("controls.mute"));
    setPressed(this.mic, state.micMuted);
    this.mic.dataset.muted = String(state.micMuted);
    this.mic.dataset.locked = String(Boolean(state.micLocked));
    this.mic.disabled = !state.audioAllowed;
    const room = typeof state.inRoom === "string" ? ` ${t("controls.in_room", { room: state.inRoom || t("controls.a_meeting_room") })}` : "";
    this.mic.title = !state.audioAllowed
      ? t("controls.audio_off_here")
      : locked ? t("controls.mic_locked_title")
      : withKey(state.micMuted ? `${t("controls.unmute_your_mic")}${room}` : t("controls.mute_your_mic"), "M");
    if (locked) this.mic.setAttribute("aria-label", t("controls.mic_locked_label"));

    setContent(this.camera, state.cameraOn ? CAMERA : CAMERA_OFF, state.cameraOn ? t("controls.stop_video") : t("controls.start_video"));
    setPressed(this.camera, !state.cameraOn);
    this.camera.dataset.enabled = String(state.cameraOn);
    this.camera.title = withKey(state.cameraOn ? t("controls.your_camera_off") : t("controls.your_camera_on"), "V");

    setContent(this.speaker, state.speakerOn ? SPEAKER : SPEAKER_OFF, state.speakerOn ? t("controls.speaker") : t("controls.speaker_off"));
    setPressed(this.speaker, !state.speakerOn);
    this.speaker.dataset.enabled = String(state.speakerOn);
    this.speaker.title = state.speakerOn
      ? t("controls.speaker_stop_title")
      : t(typeof state.inRoom === "string" ? "controls.speaker_play_title_room" : "controls.speaker_play_title");

    setContent(this.devices, SLIDERS, t("devices.button"));
    this.devices.title = t("devices.button_title");

    setContent(this.screen, state.sharing ? SCREEN_STOP : SCREEN, state.sharing ? t("controls.stop_sharing") : t("controls.share_screen"));
    this.screen.setAttribute("aria-pressed", String(state.sharing));
    this.screen.dataset.sharing = String(state.sharing);
    this.screen.classList.toggle("active", state.sharing);
    this.screen.hidden = !state.canShare;
    this.screen.disabled = !state.inMeeting;
    this.screen.title = state.sharing ? t("controls.stop_sharing_title") : t("controls.share_screen_title");

    setContent(this.leave, LEAVE, t("controls.leave"));
    this.leave.disabled = !state.inMeeting;
    this.leave.title = withKey(t("controls.leave_title"), "Shift+L");
  }
}

/**
 * @param {string} testid
 * @param {() => void} onClick
 * @returns {HTMLButtonElement}
 */
function button(testid, onClick) {
  const el = /** @type {HTMLButtonElement} */ (h("button.control", { type: "button", "data-testid": testid }));
  el.addEventListener("click", onClick);
  return el;
}

/**
 * @param {HTMLElement} el
 * @param {string} svg
 * @param {string} label
 */
function setContent(el, svg, label) {
  if (el.dataset.label === label) return;
  el.dataset.label = label;
  el.replaceChildren(icon(svg), h("span.control-label", { text: label }));
  el.setAttribute("aria-label", label);
}

/**
 * "Off" states (muted, camera off) look different; sharing is "on".
 * @param {HTMLElement} el
 * @param {boolean} off
 */
function setPressed(el, off) {
  el.dataset.off = String(off);
  el.setAttribute("aria-pressed", String(off));
}
