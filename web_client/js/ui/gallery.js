// The equal-view gallery: one tile per participant in join order, screen
// shares first, the active speaker shown by a border (never by resizing).

import { bestGrid } from "./layout.js";
import { h, hueOf, icon, initials, play } from "./dom.js";
import { HAND, LOCK, MIC_OFF, SCREEN } from "./icons.js";

/** @typedef {import("../protocol.js").Participant} Participant */

const GAP_PX = 8;

const ROLE_LABEL = /** @type {Record<string, string>} */ ({ host: "Host", co_host: "Co-host" });

/**
 * @typedef {object} Tile
 * @property {HTMLElement} el
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} nameEl
 * @property {HTMLElement} initialsEl
 * @property {HTMLElement} roleEl
 * @property {Participant} participant
 */

/**
 * @typedef {object} ScreenTile
 * @property {HTMLElement} el
 * @property {HTMLVideoElement} video
 * @property {string} key which track it shows (producer id, or "local")
 */

export class Gallery {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.el = container;
    /** @type {string | null} */
    this.selfId = null;
    /** @type {Map<string, Tile>} */
    this._tiles = new Map();
    /** @type {Map<string, ScreenTile>} by participant id */
    this._screens = new Map();
    /** @type {Map<string, {track: MediaStreamTrack, key: string}>} remote cameras by participant id */
    this._cameras = new Map();
    /** @type {MediaStreamTrack | null} */
    this._localCamera = null;
    /** @type {string | null} */
    this._speaker = null;
    /** @type {Map<string, number>} raised hands: queue position by participant id */
    this._hands = new Map();
    new ResizeObserver(() => this.relayout()).observe(container);
  }

  /**
   * Show exactly these participants (after a join or a resume), keeping the
   * tiles of those already shown.
   * @param {Participant[]} participants
   * @param {string | null} selfId
   */
  reset(participants, selfId) {
    if (selfId !== this.selfId) {
      // A new identity (not resumed): our old tile goes.
      if (this.selfId) this.remove(this.selfId);
      this.selfId = selfId;
    }
    const wanted = new Set(participants.map((p) => p.id));
    for (const id of [...this._tiles.keys()]) {
      if (!wanted.has(id)) this.remove(id);
    }
    for (const participant of participants) this.upsert(participant);
  }

  /**
   * Add a participant's tile, or update it.
   * @param {Participant} participant
   */
  upsert(participant) {
    let tile = this._tiles.get(participant.id);
    if (!tile) {
      tile = this._createTile(participant);
      this._tiles.set(participant.id, tile);
      this._insertInOrder(tile);
      this._attach(tile.video, this._cameraOf(participant.id));
      this._showSpeaking(tile, participant.id === this._speaker);
      this._showHand(tile);
      this.relayout();
    }
    tile.participant = participant;
    const self = participant.id === this.selfId;
    tile.el.dataset.name = participant.name;
    tile.el.dataset.self = String(self);
    tile.el.dataset.audioMuted = String(Boolean(participant.audio_muted));
    tile.el.dataset.connected = String(participant.connected !== false);
    tile.el.dataset.role = participant.role ?? "participant";
    tile.el.dataset.micLocked = String(Boolean(participant.mic_locked));
    tile.roleEl.textContent = ROLE_LABEL[participant.role ?? ""] ?? "";
    tile.nameEl.textContent = self ? `${participant.name} (you)` : participant.name;
    tile.initialsEl.textContent = initials(participant.name);
    tile.initialsEl.style.setProperty("--hue", String(hueOf(participant.id)));
    this._updateVideoState(tile);
  }

  /**
   * Remove a participant's tile and screen share at once.
   * @param {string} participantId
   */
  remove(participantId) {
    const tile = this._tiles.get(participantId);
    if (tile) {
      tile.video.srcObject = null;
      tile.el.remove();
      this._tiles.delete(participantId);
    }
    this._cameras.delete(participantId);
    this.removeScreen(participantId);
    if (this._speaker === participantId) this._speaker = null;
    this.relayout();
  }

  /** Remove every tile (after leaving). */
  clear() {
    for (const id of [...this._tiles.keys()]) this.remove(id);
    for (const id of [...this._screens.keys()]) this.removeScreen(id);
  }

  /**
   * Show our own camera (null: camera off) on our tile, mirrored.
   * @param {MediaStreamTrack | null} track
   */
  setLocalCamera(track) {
    this._localCamera = track;
    const tile = this.selfId ? this._tiles.get(this.selfId) : undefined;
    if (!tile) return;
    this._attach(tile.video, track);
    this._updateVideoState(tile);
  }

  /**
   * Show a remote participant's camera (null: none). `key` tells tracks apart so a
   * late "ended" for an old track does not remove a newer one.
   * @param {string} participantId
   * @param {MediaStreamTrack | null} track
   * @param {string} key
   */
  setCamera(participantId, track, key) {
    const current = this._cameras.get(participantId);
    if (!track) {
      if (!current || current.key !== key) return;
      this._cameras.delete(participantId);
    } else {
      this._cameras.set(participantId, { track, key });
    }
    const tile = this._tiles.get(participantId);
    if (!tile) return;
    this._attach(tile.video, track);
    this._updateVideoState(tile);
  }

  /**
   * Show a screen share as an extra tile, before all participant tiles.
   * @param {string} participantId
   * @param {MediaStreamTrack} track
   * @param {string} key
   */
  addScreen(participantId, track, key) {
    this.removeScreen(participantId);
    const name = this._tiles.get(participantId)?.participant.name ?? "";
    const video = /** @type {HTMLVideoElement} */ (
      h("video", { autoplay: true, playsinline: true, muted: true })
    );
    video.muted = true;
    const label = participantId === this.selfId ? "Your screen" : `${name}'s screen`;
    const el = h(
      "div.tile.screen-tile",
      { "data-testid": "screen-tile", "data-participant-id": participantId, "data-name": name },
      video,
      h("div.tile-label", {}, icon(SCREEN), h("span.tile-name", { text: label })),
    );
    const lastScreen = [...this._screens.values()].at(-1)?.el;
    if (lastScreen) lastScreen.after(el);
    else this.el.prepend(el);
    this._screens.set(participantId, { el, video, key });
    this._attach(video, track);
    this.relayout();
  }

  /**
   * @param {string} participantId
   * @param {string} [key] only remove if it still shows this track
   */
  removeScreen(participantId, key) {
    const screen = this._screens.get(participantId);
    if (!screen || (key !== undefined && screen.key !== key)) return;
    screen.video.srcObject = null;
    screen.el.remove();
    this._screens.delete(participantId);
    this.relayout();
  }

  /**
   * Show each raised hand's place in line on its tile, as the server's list says.
   * @param {{participant_id: string, position: number}[]} hands
   */
  setHands(hands) {
    this._hands = new Map(hands.map((hand) => [hand.participant_id, hand.position]));
    for (const tile of this._tiles.values()) this._showHand(tile);
  }

  /**
   * A participant's tile element (for reactions), or null.
   * @param {string} participantId
   */
  tileElement(participantId) {
    return this._tiles.get(participantId)?.el ?? null;
  }

  /**
   * @param {Tile} tile
   * @private
   */
  _showHand(tile) {
    const position = this._hands.get(tile.participant.id);
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
    badge.setAttribute("aria-label", `Hand raised, number ${position} in line`);
    badge.title = `Hand raised: number ${position} in line`;
  }

  /**
   * Highlight the active speaker's tile (only one at a time).
   * @param {string | null} participantId
   */
  setSpeaker(participantId) {
    this._speaker = participantId;
    for (const [id, tile] of this._tiles) this._showSpeaking(tile, id === participantId);
  }

  /**
   * @param {Tile} tile
   * @param {boolean} speaking
   * @private
   */
  _showSpeaking(tile, speaking) {
    tile.el.classList.toggle("speaking", speaking);
    tile.el.dataset.speaking = String(speaking);
  }

  /** Size the tiles: equal, 16:9, as large as the space allows. */
  relayout() {
    const count = this._tiles.size + this._screens.size;
    const width = this.el.clientWidth - 2 * GAP_PX;
    const height = this.el.clientHeight - 2 * GAP_PX;
    if (width <= 0 || height <= 0) return;
    const grid = bestGrid(count, width, height, GAP_PX);
    this.el.style.setProperty("--cols", String(grid.cols));
    this.el.style.setProperty("--tile-w", `${grid.tileWidth}px`);
    this.el.style.setProperty("--tile-h", `${grid.tileHeight}px`);
    this.el.dataset.count = String(count);
  }

  /**
   * @param {Participant} participant
   * @returns {Tile}
   * @private
   */
  _createTile(participant) {
    const video = /** @type {HTMLVideoElement} */ (
      h("video", { autoplay: true, playsinline: true, muted: true })
    );
    video.muted = true; // sound comes from the <audio> elements
    const initialsEl = h("span.tile-initials");
    const nameEl = h("span.tile-name");
    const roleEl = h("span.tile-role");
    const el = h(
      "div.tile",
      {
        "data-testid": "tile",
        "data-participant-id": participant.id,
        "data-name": participant.name,
        "data-speaking": "false",
      },
      h("div.tile-avatar", {}, initialsEl),
      video,
      h(
        "div.tile-label",
        {},
        h("span.tile-mic", { title: "Microphone muted", "aria-label": "Microphone muted" }, icon(MIC_OFF)),
        h("span.tile-lock", { title: "Microphone locked by a host", "aria-label": "Microphone locked by a host" }, icon(LOCK)),
        nameEl,
        roleEl,
      ),
      h("div.tile-badge", { text: "Reconnecting…" }),
    );
    return { el, video, nameEl, initialsEl, roleEl, participant };
  }

  /**
   * Participant tiles in join order, after the screen tiles.
   * @param {Tile} tile
   * @private
   */
  _insertInOrder(tile) {
    /** @type {Tile | null} */
    let next = null;
    for (const other of this._tiles.values()) {
      if (other === tile || !other.el.isConnected) continue;
      if (compareTiles(other, tile) > 0 && (!next || compareTiles(other, next) < 0)) next = other;
    }
    if (next) next.el.before(tile.el);
    else this.el.append(tile.el);
  }

  /**
   * @param {string} participantId
   * @private
   */
  _cameraOf(participantId) {
    if (participantId === this.selfId) return this._localCamera;
    return this._cameras.get(participantId)?.track ?? null;
  }

  /**
   * @param {Tile} tile
   * @private
   */
  _updateVideoState(tile) {
    const id = tile.participant.id;
    const self = id === this.selfId;
    const hasVideo = this._cameraOf(id) !== null && (self || !tile.participant.video_muted);
    tile.el.dataset.videoOff = String(!hasVideo);
  }

  /**
   * @param {HTMLVideoElement} video
   * @param {MediaStreamTrack | null} track
   * @private
   */
  _attach(video, track) {
    const current = /** @type {MediaStream | null} */ (video.srcObject)?.getVideoTracks()[0];
    if (current === track && track) return;
    video.srcObject = track ? new MediaStream([track]) : null;
    if (track) play(video);
  }
}

/**
 * @param {Tile} a
 * @param {Tile} b
 */
function compareTiles(a, b) {
  const at = a.participant.joined_at ?? 0;
  const bt = b.participant.joined_at ?? 0;
  if (at !== bt) return at - bt;
  return a.participant.id < b.participant.id ? -1 : a.participant.id > b.participant.id ? 1 : 0;
}
