// How this person is present in a hybrid meeting (docs/protocol.md, `join`:
// `mode`, `zone`, `checkin`): remote, a companion device inside a meeting room,
// or the room's own camera and speakerphone; and what that means for the
// microphone and the speaker. DOM-free.

import { t } from "./i18n.js";
import { cleanName } from "./protocol.js";

/** @typedef {import("./protocol.js").PresenceMode} PresenceMode */

/**
 * @typedef {object} Presence
 * @property {PresenceMode} mode
 * @property {string | null} zone the physical room; for a check-in the server tells it
 * @property {string | null} checkin a room's check-in code
 */

/**
 * What a device starts with: `speaker` is the playback of everyone's audio.
 * @typedef {object} DevicePolicy
 * @property {boolean} microphone
 * @property {boolean} camera
 * @property {boolean} speaker
 */

/** A room's check-in code, as the server accepts it. */
export const CHECKIN_PATTERN = /^[A-Za-z0-9]{4,16}$/;

/**
 * A check-in code as typed (spaces and dashes dropped, upper case), or null
 * if it cannot be one.
 * @param {string | null | undefined} text
 */
export function cleanCheckin(text) {
  const code = String(text ?? "").replace(/[\s-]+/g, "").toUpperCase();
  return CHECKIN_PATTERN.test(code) ? code : null;
}

/**
 * The presence a meeting link asks for: `device=room&zone=…` (a room device),
 * `checkin=CODE` (a companion checked in to that room), `mode=companion`
 * (a companion, optionally with `zone`), otherwise remote (with `zone` if given).
 * @param {URLSearchParams} params
 * @returns {Presence}
 */
export function presenceFromParams(params) {
  const zone = cleanName(params.get("zone") ?? "");
  const checkin = cleanCheckin(params.get("checkin"));
  if (params.get("device") === "room") {
    // A room device needs a zone: the room it stands in.
    return { mode: "room", zone: zone ?? cleanName(params.get("name") ?? "") ?? "Meeting room", checkin: null };
  }
  if (checkin) return { mode: "companion", zone: null, checkin };
  if (params.get("mode") === "companion") return { mode: "companion", zone, checkin: null };
  return { mode: "remote", zone, checkin: null };
}

/**
 * The `join` fields for this presence (a remote person without a zone sends none).
 * `token` (a signed invite) is added only when the link has one.
 * @param {Presence} presence
 * @param {string | null} [token]
 * @returns {Record<string, string>}
 */
export function presenceJoinFields(presence, token = null) {
  /** @type {Record<string, string>} */
  const fields = {};
  if (presence.mode !== "remote") fields.mode = presence.mode;
  if (presence.checkin) fields.checkin = presence.checkin;
  else if (presence.zone) fields.zone = presence.zone;
  if (token) fields.token = token;
  return fields;
}

/**
 * Microphone and speaker by presence: people in a meeting room hear each other
 * through the air, so only the room device carries the room's sound.
 * @param {PresenceMode} mode
 * @returns {DevicePolicy}
 */
export function devicePolicy(mode) {
  const companion = mode === "companion";
  return { microphone: !companion, camera: true, speaker: !companion };
}

/**
 * The link people in the room open to check in (the room device shows it).
 * @param {string} origin e.g. "https://meet.example.org"
 * @param {string} room
 * @param {string} code
 */
export function checkinLink(origin, room, code) {
  return `${origin}/r/${encodeURIComponent(room)}?checkin=${encodeURIComponent(code)}`;
}

/**
 * Why a companion should keep the microphone or the speaker off.
 * @param {"microphone" | "speaker"} device
 * @param {string | null} zone
 * @returns {{title: string, message: string, confirmLabel: string}}
 */
export function echoWarning(device, zone) {
  const where = zone ? t("echo.others_in", { zone }) : t("echo.others_in_room");
  return {
    title: t(`echo.${device}_title`),
    message: t(`echo.${device}_text`, { where }),
    confirmLabel: t(`echo.${device}_confirm`),
  };
}
