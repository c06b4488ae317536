// The hybrid-room side of the meeting page: how this person is present
// (remote, a companion device in a meeting room, the room's own device), the
// speaker, echo warnings, the room device's check-in card, the spotlight and
// which videos the server should forward (`set_view`). Used by room.js.

import {
  checkinLink,
  devicePolicy,
  echoWarning,
  presenceFromParams,
  presenceJoinFields,
} from "./presence.js";
import { DEFAULT_PAGE_SIZE } from "./layout.js";
import { ViewSync } from "./view_sync.js";
import { CheckinBanner } from "./ui/checkin_banner.js";
import { confirmDialog } from "./ui/kit.js";

/** @typedef {import("./session.js").MeetingSession} MeetingSession */
/** @typedef {import("./presence.js").Presence} Presence */
/** @typedef {import("./ui/prejoin.js").PlaceChoice} PlaceChoice */
/** @typedef {import("./ui/gallery.js").Gallery} Gallery */
/** @typedef {import("./ui/audio.js").AudioSink} AudioSink */

/** Largest `page_size` a link may ask for (set_view takes at most 100 ids). */
const MAX_PAGE_SIZE = 64;

/**
 * Events: `change` {}: the speaker or the presence changed (refresh the controls).
 */
export class HybridRoom extends EventTarget {
  /**
   * @param {MeetingSession} session
   * @param {URLSearchParams} params the meeting link's query
   */
  constructor(session, params) {
    super();
    this.session = session;
    /** @type {Presence} */
    this.presence = presenceFromParams(params);
    /** @type {string | null} a signed invite: sent with `join` only when the link has one */
    this.token = params.get("token") || null;
    this.pageSize = pageSizeOf(params.get("page_size"));
    this.speakerOn = devicePolicy(this.presence.mode).speaker;
    this.viewSync = new ViewSync((ids, details) => session.interaction.setView(ids, details));
    /** @type {AudioSink | null} */
    this._audio = null;
    session.joinFields = presenceJoinFields(this.presence, this.token);
  }

  /** The place to pre-fill on the pre-join screen. @returns {PlaceChoice} */
  get place() {
    const { mode, zone, checkin } = this.presence;
    return { companion: mode === "companion", zone, checkin };
  }

  /** Which devices to open before joining. */
  get devices() {
    const { microphone, camera } = devicePolicy(this.presence.mode);
    return { microphone, camera };
  }

  /** Our own participant, once joined. */
  get self() {
    const id = this.session.participantId;
    return this.session.participants.find((p) => p.id === id) ?? null;
  }

  /** A companion device: in a meeting room whose speakerphone carries the sound. */
  get isCompanion() {
    return (this.self?.mode ?? this.presence.mode) === "companion";
  }

  /** The meeting room we sit in (for the controls' hints), or null when remote. */
  get roomName() {
    if (!this.isCompanion) return null;
    return this.self?.zone ?? this.presence.zone ?? "";
  }

  /**
   * The person chose on the pre-join screen where they are (a room device
   * keeps its presence).
   * @param {PlaceChoice} place
   */
  choose(place) {
    if (this.presence.mode === "room") return;
    const wasCompanion = this.presence.mode === "companion";
    this.presence = place.checkin
      ? { mode: "companion", zone: null, checkin: place.checkin }
      : { mode: place.companion ? "companion" : "remote", zone: place.zone, checkin: null };
    this.session.joinFields = presenceJoinFields(this.presence, this.token);
    if (wasCompanion !== place.companion) this.applyDevicePolicy();
  }

  /** Microphone and speaker as the presence wants them (the "in a room" box was ticked or cleared). */
  applyDevicePolicy() {
    const policy = devicePolicy(this.presence.mode);
    if (!policy.microphone && !this.session.micMuted) void this.session.setMicrophoneMuted(true);
    else if (policy.microphone && this.session.micMuted) void this.session.setMicrophoneMuted(false);
    this.setSpeaker(policy.speaker);
  }

  /**
   * The "I'm in a meeting room" box on the pre-join screen changed.
   * @param {boolean} companion
   */
  setCompanion(companion) {
    if (this.presence.mode === "room") return;
    this.presence = { ...this.presence, mode: companion ? "companion" : "remote" };
    this.session.joinFields = presenceJoinFields(this.presence, this.token);
    this.applyDevicePolicy();
  }

  /** Mute, or unmute after an echo warning if we sit in a meeting room. */
  async toggleMic() {
    const session = this.session;
    if (!session.micMuted) {
      await session.setMicrophoneMuted(true);
      return;
    }
    if (this.isCompanion && !(await this.confirmEcho("microphone"))) return;
    await session.setMicrophoneMuted(false);
  }

  /** Speaker off, or on after an echo warning if we sit in a meeting room. */
  async toggleSpeaker() {
    if (this.speakerOn) {
      this.setSpeaker(false);
      return;
    }
    if (this.isCompanion && !(await this.confirmEcho("speaker"))) return;
    this.setSpeaker(true);
  }

  /** @param {boolean} on */
  setSpeaker(on) {
    this.speakerOn = on;
    this._audio?.setMuted(!on);
    this.dispatchEvent(new CustomEvent("change", { detail: {} }));
  }

  /**
   * Connect the views: the speaker, the spotlight and our view of the gallery,
   * the room device's check-in card.
   * @param {{gallery: Gallery, audio: AudioSink, banner: HTMLElement, room: string}} views
   */
  wire({ gallery, audio, banner, room }) {
    this._audio = audio;
    audio.setMuted(!this.speakerOn);
    const session = this.session;
    const i = session.interaction;
    const card = new CheckinBanner(banner);
    const showCheckin = () => {
      const code = this.self?.mode === "room" ? i.checkin : null;
      card.show(code ? { ...code, link: checkinLink(location.origin, room, code.code) } : null);
    };
    const showSpotlight = () => gallery.setSpotlight(i.spotlight);
    i.addEventListener("meeting", () => {
      showSpotlight();
      showCheckin();
    });
    i.addEventListener("spotlight", showSpotlight);
    session.addEventListener("participants", (e) => {
      if (/** @type {CustomEvent} */ (e).detail.participants.length) this.viewSync.joined();
      showCheckin();
      this.dispatchEvent(new CustomEvent("change", { detail: {} }));
    });
    session.addEventListener("state", (e) => {
      const { state } = /** @type {CustomEvent} */ (e).detail;
      if (state !== "joined") this.viewSync.left();
      if (["left", "failed", "removed", "ended"].includes(state)) card.show(null);
    });
  }

  /**
   * In a meeting room: ask before the microphone or the speaker goes on here.
   * @param {"microphone" | "speaker"} device
   * @returns {Promise<boolean>} true: go ahead
   */
  confirmEcho(device) {
    return confirmDialog({ ...echoWarning(device, this.roomName || null), testid: "echo-warning" });
  }
}

/**
 * The `page_size` of a link: tiles per gallery page (default 16).
 * @param {string | null} value
 */
function pageSizeOf(value) {
  const size = Number.parseInt(value ?? "", 10);
  return Number.isFinite(size) && size >= 1 ? Math.min(size, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
}
