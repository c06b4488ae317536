// The equal-view gallery: one tile per participant in join order, screen
// shares first, every tile the same size; the active speaker is shown by a
// border (never by resizing or reordering). Pages when the tiles would get too
// small; a pinned tile (ours alone) and the spotlighted person (a host's
// choice for everyone) are shown large beside a strip of the others.

import { DEFAULT_PAGE_SIZE } from "../layout.js";
import { arrangeGallery, participantOfKey, roomForLater, screenKey } from "../gallery_view.js";
import { LANGUAGE_CHANGED, events, t } from "../i18n.js";
import { play } from "./dom.js";
import { PageNav } from "./page_nav.js";
import { showPaused, showQuality } from "./quality_indicator.js";
import {
  compareTiles,
  createScreenTile,
  createTile,
  pinWhom,
  setPinned,
  setSpeaking,
  setSpotlight,
  showHand,
  translateTile,
  updateTile,
} from "./tiles.js";

/** @typedef {import("../protocol.js").Participant} Participant */
/** @typedef {import("./tiles.js").Tile} Tile */
/** @typedef {import("./tiles.js").ScreenTile} ScreenTile */
/** @typedef {import("../view_sync.js").ViewDetails} ViewDetails */
/** @typedef {import("../connection_quality.js").Quality} Quality */

const GAP_PX = 8;

export class Gallery {
  /**
   * @param {HTMLElement} container
   * @param {{pageSize?: number, onView?: (participantIds: string[], details: ViewDetails) => void}} [options]
   *   onView: the participants whose video is on screen now (not us), how tall
   *   their camera tiles are in device pixels and which one we pinned; called when any of it changes
   */
  constructor(container, { pageSize = DEFAULT_PAGE_SIZE, onView = () => {} } = {}) {
    this.el = container;
    this.pageSize = pageSize;
    this._onView = onView;
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
    /** @type {string | null} the tile key we pinned (only for us) */
    this._pinned = null;
    /** @type {string | null} the participant a host spotlighted (for everyone) */
    this._spotlight = null;
    this.page = 0;
    this.pages = 1;
    /** @type {string | null} the last view reported */
    this._view = null;
    /** @type {Set<string>} whose video the server paused for us (our connection is too poor) */
    this._paused = new Set();
    /** true while `reset()` adds and removes tiles: it lays them out once, after */
    this._layoutHeld = false;
    this.nav = new PageNav((delta) => this.showPage(this.page + delta));
    container.after(this.nav.el);
    // Page Up / Page Down while a tile's button has the focus.
    container.addEventListener("keydown", (event) => {
      const delta = { PageUp: -1, PageDown: 1 }[event.key];
      if (delta === undefined || this.pages <= 1) return;
      event.preventDefault();
      this.showPage(this.page + delta);
    });
    new ResizeObserver(() => this.relayout()).observe(container);
    // The same CSS size is more device pixels on another screen: the sizes we report change.
    watchPixelRatio(() => this.relayout());
    // The tiles' texts are written once per change of a participant, so a
    // switch of the page's language must write them again.
    events.addEventListener(LANGUAGE_CHANGED, () => this.translate());
  }

  /**
   * Write the tiles' texts again in the current language (after a switch):
   * texts only, no layout, the videos untouched.
   */
  translate() {
    for (const [id, tile] of this._tiles) translateTile(tile, id === this.selfId);
    for (const [id, screen] of this._screens) {
      const text = screen.el.querySelector(".tile-name");
      if (text) text.textContent = this._screenLabel(id);
      setPinned(screen, this._pinned === screenKey(id), t("tiles.this_screen"));
    }
  }

  /**
   * The label of a participant's screen share tile.
   * @param {string} participantId
   * @private
   */
  _screenLabel(participantId) {
    if (participantId === this.selfId) return t("tiles.your_screen");
    return t("tiles.screen_of", { name: this._tiles.get(participantId)?.participant.name ?? "" });
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
    // One layout for them all: each relayout reads the container's size,
    // a forced style and layout after the tiles just added (issue 21).
    this._layoutHeld = true;
    try {
      for (const id of [...this._tiles.keys()]) {
        if (!wanted.has(id)) this.remove(id);
      }
      for (const participant of participants) this.upsert(participant);
    } finally {
      this._layoutHeld = false;
    }
    this._view = null; // a fresh join: the server needs our view again
    this.relayout();
  }

  /**
   * Add a participant's tile, or update it.
   * @param {Participant} participant
   */
  upsert(participant) {
    let tile = this._tiles.get(participant.id);
    const added = !tile;
    if (!tile) {
      tile = createTile(participant, () => this.togglePin(participant.id));
      this._tiles.set(participant.id, tile);
      this._insertInOrder(tile);
      this._attach(tile.video, this._cameraOf(participant.id));
      setSpeaking(tile, participant.id === this._speaker);
      setSpotlight(tile, participant.id === this._spotlight);
      showHand(tile, this._hands.get(participant.id));
      showPaused(tile.el, this._paused.has(participant.id));
    }
    updateTile(tile, participant, participant.id === this.selfId);
    this._updateVideoState(tile);
    this._nameScreen(participant);
    if (added) this.relayout();
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
    if (this._pinned === participantId) this._pinned = null;
    this.removeScreen(participantId);
    if (this._speaker === participantId) this._speaker = null;
    this.relayout();
  }

  /** Remove every tile (after leaving). */
  clear() {
    for (const id of [...this._tiles.keys()]) this.remove(id);
    for (const id of [...this._screens.keys()]) this.removeScreen(id);
    this._pinned = null;
    this._spotlight = null;
    this.page = 0;
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
   * A screen share's tile may come before its owner's (tracks can arrive
   * before the roster at a join): name it once the owner is known.
   * @param {Participant} participant
   * @private
   */
  _nameScreen(participant) {
    const screen = this._screens.get(participant.id);
    if (!screen || participant.id === this.selfId || screen.el.dataset.name === participant.name) return;
    const label = t("tiles.screen_of", { name: participant.name });
    screen.el.dataset.name = participant.name;
    const text = screen.el.querySelector(".tile-name");
    if (text) text.textContent = label;
    setPinned(screen, this._pinned === screenKey(participant.id), label);
  }

  /**
   * Show a screen share as an extra tile, before all participant tiles.
   * @param {string} participantId
   * @param {MediaStreamTrack} track
   * @param {string} key
   */
  addScreen(participantId, track, key) {
    const pinned = this._pinned === screenKey(participantId);
    this.removeScreen(participantId);
    const name = this._tiles.get(participantId)?.participant.name ?? "";
    const label = this._screenLabel(participantId);
    const screen = createScreenTile(participantId, label, name, key, () => this.togglePin(screenKey(participantId)));
    const lastScreen = [...this._screens.values()].at(-1)?.el;
    if (lastScreen) lastScreen.after(screen.el);
    else this.el.prepend(screen.el);
    this._screens.set(participantId, screen);
    if (pinned) this._pinned = screenKey(participantId);
    this._attach(screen.video, track);
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
    if (this._pinned === screenKey(participantId)) this._pinned = null;
    this.relayout();
  }

  /**
   * Show each raised hand's place in line on its tile, as the server's list says.
   * @param {{participant_id: string, position: number}[]} hands
   */
  setHands(hands) {
    this._hands = new Map(hands.map((hand) => [hand.participant_id, hand.position]));
    for (const tile of this._tiles.values()) showHand(tile, this._hands.get(tile.participant.id));
  }

  /**
   * Show how well a participant's video and sound reach us (our own tile: our
   * connection) on their tile.
   * @param {string} participantId
   * @param {Quality | null} quality null: nothing known, no indicator
   */
  setQuality(participantId, quality) {
    const tile = this._tiles.get(participantId);
    if (tile) showQuality(tile.el, quality);
  }

  /**
   * The server paused these participants' video for us (our connection is too
   * poor): their tiles say so instead of showing a frozen frame.
   * @param {Iterable<string>} participantIds
   */
  setPaused(participantIds) {
    this._paused = new Set(participantIds);
    for (const [id, tile] of this._tiles) showPaused(tile.el, this._paused.has(id));
  }

  /**
   * A participant's tile element (for reactions), or null.
   * @param {string} participantId
   */
  tileElement(participantId) {
    return this._tiles.get(participantId)?.el ?? null;
  }

  /**
   * Highlight the active speaker's tile (only one at a time).
   * @param {string | null} participantId
   */
  setSpeaker(participantId) {
    this._speaker = participantId;
    for (const [id, tile] of this._tiles) setSpeaking(tile, id === participantId);
  }

  /**
   * Show this participant large for everyone (null: nobody).
   * @param {string | null} participantId
   */
  setSpotlight(participantId) {
    if (participantId === this._spotlight) return; // told again with every meeting update
    this._spotlight = participantId;
    for (const [id, tile] of this._tiles) setSpotlight(tile, id === participantId);
    this.relayout();
  }

  /**
   * Resolves once each remote camera on this page of the gallery has
   * painted a frame, or after `timeoutMs`: what waits for it (the chat,
   * polls and menus) does not hold up the others' first frames (issue 21).
   * @param {number} timeoutMs
   * @returns {Promise<void>}
   */
  whenVideosShown(timeoutMs) {
    const videos = [...this._tiles.values()]
      .filter((tile) => tile.participant.id !== this.selfId && !tile.el.hidden && tile.el.dataset.videoOff === "false")
      .map((tile) => tile.video)
      .filter((video) => typeof video.requestVideoFrameCallback === "function");
    const painted = videos.map((video) => new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(undefined))));
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const limit = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    return Promise.race([Promise.all(painted), limit]).then(() => clearTimeout(timer));
  }

  /** The tile key we pinned, or null. */
  get pinned() {
    return this._pinned;
  }

  /**
   * Pin a tile (a participant id, or `screen:{id}` for a screen share) to show
   * it large for us; null unpins.
   * @param {string | null} key
   */
  pin(key) {
    this._pinned = key !== null && this._elementOf(key) ? key : null;
    this.relayout();
  }

  /** @param {string} key */
  togglePin(key) {
    this.pin(this._pinned === key ? null : key);
  }

  /** @param {number} page 0-based; kept inside the pages there are */
  showPage(page) {
    this.page = page;
    this.relayout();
  }

  /** Place the tiles of the current page (equal, 16:9, as large as the space allows). */
  relayout() {
    if (this._layoutHeld) return;
    const width = this.el.clientWidth - 2 * GAP_PX;
    const height = this.el.clientHeight - 2 * GAP_PX;
    const keys = this._keys();
    const stage = [this._spotlight, this._pinned].filter((key) => key !== null);
    const input = { keys, stage: /** @type {string[]} */ (stage), width, height, page: this.page, pageSize: this.pageSize, gap: GAP_PX };
    const arrangement = width > 0 && height > 0 ? arrangeGallery(input) : null;
    if (arrangement) {
      this.page = arrangement.page;
      this.pages = arrangement.pages;
      for (const key of keys) this._place(key, arrangement.boxes.get(key));
      this.el.dataset.stage = String(arrangement.stage.length > 0);
    }
    this.el.dataset.count = String(keys.length);
    this.el.dataset.page = String(this.page);
    this.el.dataset.pages = String(this.pages);
    for (const [id, tile] of this._tiles) setPinned(tile, this._pinned === id, pinWhom(tile, id === this.selfId));
    for (const [id, screen] of this._screens) setPinned(screen, this._pinned === screenKey(id), t("tiles.this_screen"));
    this.nav.update(this.page, this.pages);
    // Not laid out yet (hidden): every tile counts as shown, sizes unknown.
    const later = arrangement ? roomForLater({ ...input, page: this.page }) : 0;
    this._reportView(arrangement ? [...arrangement.boxes.keys()] : keys, arrangement?.boxes ?? new Map(), later);
  }

  /**
   * Tile keys in their stable order: screen shares, then people in join order.
   * @private
   */
  _keys() {
    const people = [...this._tiles.values()].sort(compareTiles).map((tile) => tile.participant.id);
    return [...[...this._screens.keys()].map(screenKey), ...people];
  }

  /**
   * @param {string} key
   * @private
   */
  _elementOf(key) {
    const id = participantOfKey(key);
    return (key === id ? this._tiles.get(id)?.el : this._screens.get(id)?.el) ?? null;
  }

  /**
   * @param {string} key
   * @param {import("../gallery_view.js").Box | undefined} box undefined: not on this page
   * @private
   */
  _place(key, box) {
    const el = this._elementOf(key);
    if (!el) return;
    el.hidden = !box;
    if (!box) return;
    el.style.left = `${box.x + GAP_PX}px`;
    el.style.top = `${box.y + GAP_PX}px`;
    el.style.setProperty("--tile-w", `${box.w}px`);
    el.style.setProperty("--tile-h", `${box.h}px`);
  }

  /**
   * Tell the owner whose video we show now (not ours: we never receive it),
   * how tall each camera tile is in device pixels (what the server should
   * send: no layer taller than the tile), which camera we pinned and how
   * many people who join later the page has room for.
   * @param {string[]} shownKeys
   * @param {Map<string, import("../gallery_view.js").Box>} boxes
   * @param {number} later
   * @private
   */
  _reportView(shownKeys, boxes, later) {
    const ids = [...new Set(shownKeys.map(participantOfKey))].filter((id) => id !== this.selfId);
    const ratio = globalThis.devicePixelRatio || 1;
    /** @type {Record<string, number>} */
    const sizes = {};
    for (const [key, box] of boxes) {
      // Camera tiles only: a screen share has one encoding, whatever its tile.
      if (key === participantOfKey(key) && key !== this.selfId) sizes[key] = Math.max(1, Math.round(box.h * ratio));
    }
    const pin = this._pinned;
    const pinned = pin !== null && pin === participantOfKey(pin) && pin !== this.selfId ? [pin] : [];
    const signature = JSON.stringify([ids, sizes, pinned, later]);
    if (signature === this._view) return;
    this._view = signature;
    this._onView(ids, { sizes, pinned, later });
  }

  /**
   * Participant tiles in join order, after the screen tiles (so keyboard and
   * screen-reader order follow the gallery's order).
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
 * Call `onChange` whenever the device pixel ratio changes (the window moved to
 * another screen, the page was zoomed).
 * @param {() => void} onChange
 */
function watchPixelRatio(onChange) {
  if (typeof globalThis.matchMedia !== "function") return;
  const watch = () => {
    const query = matchMedia(`(resolution: ${globalThis.devicePixelRatio || 1}dppx)`);
    query.addEventListener("change", () => {
      onChange();
      watch(); // a query matches one ratio: ask about the new one
    }, { once: true });
  };
  watch();
}
