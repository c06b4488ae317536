// Tells the server whose video this client shows (`set_view`, docs/protocol.md),
// so it forwards only that: the tiles of the current gallery page, the pinned
// tile and the spotlighted person, and how tall each camera tile is (so it can
// pick a simulcast layer that fits) and which ones we pinned. DOM-free.
//
// A change of who is shown is sent at once (the new page's video should show
// fast); further changes within the next moment are folded into one. A change
// of tile sizes alone (a window being resized) waits until the sizes have been
// still for SIZE_DEBOUNCE_MS, so a drag sends one message, not one per frame.
// A view equal to the one the server has is not sent again, and after every
// (re)join it is sent afresh (the server forgets it with the old session).
// A server that does not know `sizes` / `pinned` refuses them as
// `invalid_payload`: then only the list is sent until the next join.

/**
 * What we show beside the list of participants.
 * @typedef {object} ViewDetails
 * @property {Record<string, number>} [sizes] camera tile heights in device pixels, by participant id
 * @property {string[]} [pinned] participants whose tile we pinned or enlarged
 * @property {number} [later] how many people who join later the view shows at
 *   once (the free tiles where newcomers go): the server forwards their video
 *   before our next view names them
 */

/** @typedef {(participantIds: string[], details?: ViewDetails) => Promise<unknown>} SendView */

/**
 * At most one `set_view` this often: paging fast sends the last page, not
 * every one, and a socket stays well under the server's 10 per second.
 */
export const VIEW_DEBOUNCE_MS = 150;

/** A size-only change is sent once the sizes have been still this long. */
export const SIZE_DEBOUNCE_MS = 300;

/** The server takes at most this many ids in one `set_view`. */
const MAX_VIEW = 100;
/** …and at most this many pinned ones. */
const MAX_PINNED = 4;
/** Tile heights are whole device pixels in 1..MAX_HEIGHT (8K). */
const MAX_HEIGHT = 4320;
/** The server takes `later` up to this. */
const MAX_LATER = 16;

export class ViewSync {
  /**
   * @param {SendView} send sends `set_view` and resolves on its acknowledgement
   * @param {{delayMs?: number, sizeDelayMs?: number}} [options]
   */
  constructor(send, { delayMs = VIEW_DEBOUNCE_MS, sizeDelayMs = SIZE_DEBOUNCE_MS } = {}) {
    this._send = send;
    this._delayMs = delayMs;
    this._sizeDelayMs = sizeDelayMs;
    /** @type {string[] | null} what we want the server to have */
    this.wanted = null;
    /** @type {Required<ViewDetails>} sizes and pins we want the server to have */
    this.details = { sizes: {}, pinned: [], later: 0 };
    /** @type {string | null} what the server has (as JSON), as far as we know */
    this._sent = null;
    /** @type {string | null} the list the server has (sorted ids, as JSON), as far as we know */
    this._sentIds = null;
    this._sending = false;
    this._again = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} a send that is due */
    this._timer = undefined;
    /** true while the due send waits only for sizes to settle */
    this._sizeTimer = false;
    /** when the last send was started (ms) */
    this._lastSend = -Infinity;
    this.enabled = false;
    /** the server refused `sizes` / `pinned` (an older server): send the list alone */
    this._listOnly = false;
    /** counts joins, so an answer from before the latest join is not taken for the current one */
    this._epoch = 0;
  }

  /**
   * The participants whose video we show now, with their tile sizes and pins.
   * @param {string[]} participantIds
   * @param {ViewDetails} [details]
   */
  update(participantIds, details = {}) {
    this.wanted = [...new Set(participantIds)].slice(0, MAX_VIEW);
    this.details = cleanDetails(details);
    this._schedule();
  }

  /**
   * We are in a room now (a fresh join or a resume): the server knows no view.
   * Until then nothing is sent.
   */
  joined() {
    this.enabled = true;
    this._epoch += 1;
    this._sent = null;
    this._sentIds = null;
    this._listOnly = false; // maybe another server (a room moved): ask again
    this._schedule();
  }

  /** Out of the room (left, reconnecting, …): send nothing until `joined()`. */
  left() {
    this.enabled = false;
    this._epoch += 1;
    this._sent = null;
    this._sentIds = null;
    this._cancelTimer();
  }

  /**
   * The message to send now: its JSON signature (to skip repeats), the list
   * and the details (null: the list alone).
   * @private
   */
  _message() {
    const ids = /** @type {string[]} */ (this.wanted);
    const details = this._listOnly ? null : this.details;
    const idsSignature = JSON.stringify([...ids].sort());
    const signature = JSON.stringify([idsSignature, details?.sizes ?? null, details?.pinned ?? null, details?.later ?? 0]);
    return { ids, details, idsSignature, signature };
  }

  /** @private */
  _schedule() {
    if (!this.enabled || this.wanted === null) return;
    // A prompt send that is due takes the latest view anyway.
    if (this._timer !== undefined && !this._sizeTimer) return;
    const { idsSignature, signature } = this._message();
    this._cancelTimer();
    // Back to what the server has (unless another view is on its way to it).
    if (signature === this._sent && !this._sending) return;
    const listChanged = idsSignature !== this._sentIds;
    const soonest = Math.max(0, this._lastSend + this._delayMs - Date.now());
    // Sizes alone wait until they have been still for a while (each change restarts the wait).
    const wait = listChanged ? soonest : Math.max(soonest, this._sizeDelayMs);
    this._sizeTimer = !listChanged;
    this._timer = setTimeout(() => {
      this._timer = undefined;
      this._sizeTimer = false;
      this._lastSend = Date.now();
      void this._flush();
    }, wait);
  }

  /** @private */
  _cancelTimer() {
    clearTimeout(this._timer);
    this._timer = undefined;
    this._sizeTimer = false;
  }

  /** @private */
  async _flush() {
    if (this._sending) {
      this._again = true;
      return;
    }
    if (!this.enabled || this.wanted === null) return;
    const { ids, details, idsSignature, signature } = this._message();
    if (signature === this._sent) return;
    this._sending = true;
    const epoch = this._epoch;
    try {
      await this._sendOne(ids, details);
      if (epoch === this._epoch) {
        // After a fallback the server has the list alone.
        this._sent = this._listOnly ? JSON.stringify([idsSignature, null, null, 0]) : signature;
        this._sentIds = idsSignature;
      }
    } catch (error) {
      // Out of the room right now (the connection dropped): `joined()` sends it again.
      if (!(/** @type {{transient?: boolean}} */ (error)?.transient)) console.warn("set_view refused:", error);
    } finally {
      this._sending = false;
      if (this._again || epoch !== this._epoch) {
        this._again = false;
        void this._flush();
      }
    }
  }

  /**
   * @param {string[]} ids
   * @param {Required<ViewDetails> | null} details
   * @private
   */
  async _sendOne(ids, details) {
    if (!details || (!details.pinned.length && !Object.keys(details.sizes).length && !details.later)) {
      await this._send(ids);
      return;
    }
    // `later` only when there is room: a server from before it refuses the field.
    const { later, ...rest } = details;
    try {
      await this._send(ids, later ? details : rest);
    } catch (error) {
      if (/** @type {{code?: string}} */ (error)?.code !== "invalid_payload") throw error;
      // An older server: it knows only the list.
      this._listOnly = true;
      await this._send(ids);
    }
  }
}

/**
 * Sizes as whole device pixels in range, at most MAX_PINNED pins, keys sorted
 * (so equal views have equal signatures), `later` a whole number in range.
 * @param {ViewDetails} details
 * @returns {Required<ViewDetails>}
 */
function cleanDetails({ sizes = {}, pinned = [], later = 0 }) {
  /** @type {Record<string, number>} */
  const clean = {};
  for (const id of Object.keys(sizes).sort().slice(0, MAX_VIEW)) {
    const height = Math.round(Number(sizes[id]));
    if (Number.isFinite(height)) clean[id] = Math.min(MAX_HEIGHT, Math.max(1, height));
  }
  const room = Math.round(Number(later));
  return {
    sizes: clean,
    pinned: [...new Set(pinned)].slice(0, MAX_PINNED),
    later: Number.isFinite(room) ? Math.min(MAX_LATER, Math.max(0, room)) : 0,
  };
}
