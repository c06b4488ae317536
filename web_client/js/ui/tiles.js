// One gallery tile: its elements, and what it shows about a participant (name,
// role, microphone, presence mode and room, pin, spotlight, raised hand).

import { setAttr, t } from "../i18n.js";
import { h, hueOf, icon, initials } from "./dom.js";
import { HAND, LOCK, MIC_OFF, PIN, ROOM, SCREEN, SPOTLIGHT } from "./icons.js";

/** @typedef {import("../protocol.js").Participant} Participant */

/**
 * The label of a role shown beside a name ("" for a participant).
 * @param {string | undefined} role
 */
export function roleLabel(role) {
  return role === "host" || role === "co_host" ? t(`role.${role}`) : "";
}



/**
 * @typedef {object} Tile
 * @property {HTMLElement} el
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} nameEl
 * @property {HTMLElement} initialsEl
 * @property {HTMLElement} roleEl
 * @property {HTMLElement} labelEl
 * @property {HTMLButtonElement} pinButton
 * @property {Participant} participant
 */

/**
 * @typedef {object} ScreenTile
 * @property {HTMLElement} el
 * @property {HTMLVideoElement} video
 * @property {HTMLButtonElement} pinButton
 * @property {string} key which track it shows (producer id, or "local")
 */

/** A muted, inline video element (sound comes from the <audio> elements). */
function silentVideo() {
  const video = /** @type {HTMLVideoElement} */ (h("video", { autoplay: true, playsinline: true, muted: true }));
  video.muted = true;
  return video;
}

/**
 * @param {() => void} onPin
 * @returns {HTMLButtonElement}
 */
function pinButton(onPin) {
  const button = /** @type {HTMLButtonElement} */ (
    h("button.tile-pin", { type: "button", "data-testid": "pin-button", "aria-pressed": "false" }, icon(PIN))
  );
  button.addEventListener("click", onPin);
  return button;
}

/**
 * @param {Participant} participant
 * @param {() => void} onPin
 * @returns {Tile}
 */
export function createTile(participant, onPin) {
  const video = silentVideo();
  const initialsEl = h("span.tile-initials");
  const nameEl = h("span.tile-name");
  const roleEl = h("span.tile-role");
  const labelEl = h(
    "div.tile-label",
    {},
    h("span.tile-mic", { "i18n-title": "participants.mic_muted", "i18n-aria-label": "participants.mic_muted" }, icon(MIC_OFF)),
    h("span.tile-lock", { "i18n-title": "controls.mic_locked_label", "i18n-aria-label": "controls.mic_locked_label" }, icon(LOCK)),
    h("span.tile-spot", { "i18n-title": "tiles.spotlight_title", role: "img", "i18n-aria-label": "participants.spotlight" }, icon(SPOTLIGHT)),
    nameEl,
    roleEl,
  );
  const pin = pinButton(onPin);
  const el = h(
    "div.tile",
    {
      "data-testid": "tile",
      "data-participant-id": participant.id,
      "data-name": participant.name,
      "data-speaking": "false",
      "data-pinned": "false",
      "data-spotlight": "false",
    },
    h("div.tile-avatar", {}, initialsEl),
    video,
    labelEl,
    h("div.tile-badge", { i18n: "participants.reconnecting" }),
    pin,
  );
  return { el, video, nameEl, initialsEl, roleEl, labelEl, pinButton: pin, participant };
}

/**
 * Show what we know about the participant on their tile.
 * @param {Tile} tile
 * @param {Participant} participant
 * @param {boolean} self
 */
export function updateTile(tile, participant, self) {
  tile.participant = participant;
  const data = tile.el.dataset;
  data.name = participant.name;
  data.self = String(self);
  data.audioMuted = String(Boolean(participant.audio_muted));
  data.connected = String(participant.connected !== false);
  data.role = participant.role ?? "participant";
  data.micLocked = String(Boolean(participant.mic_locked));
  data.mode = participant.mode ?? "remote";
  data.zone = participant.zone ?? "";
  tile.initialsEl.textContent = initials(participant.name);
  tile.initialsEl.style.setProperty("--hue", String(hueOf(participant.id)));
  translateTile(tile, self);
}

/**
 * Write the tile's texts that come from the catalog: the role, the "(you)"
 * suffix, the room badge and the pin button's label. Also after a language
 * switch (Gallery), which changes nothing else on the tile: some are built
 * of two messages ("Pin yourself", a room badge's default room name), so
 * `data-i18n` keys that `translate()` redoes would not cover them all.
 * @param {Tile} tile
 * @param {boolean} self
 */
export function translateTile(tile, self) {
  const participant = tile.participant;
  tile.roleEl.textContent = roleLabel(participant.role);
  tile.nameEl.textContent = self ? t("common.you_suffix", { name: participant.name }) : participant.name;
  showRoomBadge(tile, participant);
  setPinned(tile, tile.el.dataset.pinned === "true", pinWhom(tile, self));
}

/**
 * Whom a tile's pin button names: "yourself" on our own tile.
 * @param {Tile} tile
 * @param {boolean} self
 */
export function pinWhom(tile, self) {
  return self ? t("tiles.yourself") : tile.participant.name;
}

/**
 * The "room" badge of people in a meeting room: their laptop or phone there
 * (companion), or the room's own camera and speakerphone (room device).
 * @param {Tile} tile
 * @param {Participant} participant
 */
function showRoomBadge(tile, participant) {
  let badge = /** @type {HTMLElement | null} */ (tile.labelEl.querySelector('[data-testid="room-badge"]'));
  const mode = participant.mode ?? "remote";
  if (mode !== "companion" && mode !== "room") {
    badge?.remove();
    return;
  }
  const zone = participant.zone || t("tiles.meeting_room");
  const title = t(mode === "room" ? "tiles.room_device" : "tiles.companion", { zone });
  if (!badge) {
    badge = h("span.room-badge", { "data-testid": "room-badge", role: "img" }, icon(ROOM), h("span.room-badge-name"));
    tile.labelEl.append(badge);
  }
  badge.dataset.mode = mode;
  /** @type {HTMLElement} */ (badge.querySelector(".room-badge-name")).textContent = zone;
  badge.title = title;
  badge.setAttribute("aria-label", title);
}

/**
 * @param {{el: HTMLElement, pinButton: HTMLButtonElement}} tile
 * @param {boolean} pinned
 * @param {string} whom for the button's label
 */
export function setPinned(tile, pinned, whom) {
  tile.el.dataset.pinned = String(pinned);
  tile.pinButton.setAttribute("aria-pressed", String(pinned));
  const label = pinned ? t("tiles.unpin", { whom }) : t("tiles.pin", { whom });
  tile.pinButton.setAttribute("aria-label", label);
  tile.pinButton.title = label;
}

/**
 * @param {Tile} tile
 * @param {boolean} spotlight
 */
export function setSpotlight(tile, spotlight) {
  tile.el.dataset.spotlight = String(spotlight);
}

/**
 * @param {Tile} tile
 * @param {boolean} speaking
 */
export function setSpeaking(tile, speaking) {
  tile.el.classList.toggle("speaking", speaking);
  tile.el.dataset.speaking = String(speaking);
}

/**
 * Show a raised hand's place in line on the tile (undefined: no hand).
 * @param {Tile} tile
 * @param {number | undefined} position
 */
export function showHand(tile, position) {
  let badge = /** @type {HTMLElement | null} */ (tile.el.querySelector('[data-testid="hand-badge"]'));
  if (position === undefined) {
    badge?.remove();
    return;
  }
  if (!badge) {
    badge = h("div.hand-badge", { "data-testid": "hand-badge", role: "img" }, icon(HAND), h("span.hand-number"));
    tile.el.append(badge);
  }
  /** @type {HTMLElement} */ (badge.querySelector(".hand-number")).textContent = String(position);
  // With their keys, so a language switch translates them (i18n.js: translate).
  setAttr(badge, "aria-label", "tiles.hand_label", { position });
  setAttr(badge, "title", "tiles.hand_title", { position });
}

/**
 * @param {string} participantId
 * @param {string} label e.g. "Ada's screen"
 * @param {string} name
 * @param {string} key
 * @param {() => void} onPin
 * @returns {ScreenTile}
 */
export function createScreenTile(participantId, label, name, key, onPin) {
  const video = silentVideo();
  const pin = pinButton(onPin);
  const el = h(
    "div.tile.screen-tile",
    { "data-testid": "screen-tile", "data-participant-id": participantId, "data-name": name, "data-pinned": "false" },
    video,
    h("div.tile-label", {}, icon(SCREEN), h("span.tile-name", { text: label })),
    pin,
  );
  const tile = { el, video, pinButton: pin, key };
  setPinned(tile, false, label);
  return tile;
}

/**
 * Join order (ties: by id), the order tiles keep whoever speaks.
 * @param {Tile} a
 * @param {Tile} b
 */
export function compareTiles(a, b) {
  const at = a.participant.joined_at ?? 0;
  const bt = b.participant.joined_at ?? 0;
  if (at !== bt) return at - bt;
  return a.participant.id < b.participant.id ? -1 : a.participant.id > b.participant.id ? 1 : 0;
}
